"""Inside the sandbox: one submission's code cells, run as ipykernel runs them.

``autograder.sandbox.zygote`` forks a child per submission and calls ``run_submission``,
which reads its set-up (JSON from the grader: the limits, the submission's files) from
its own pipe, sets the limits on itself, writes the files into its working folder,
points its standard streams at ``/dev/null``, and only then runs student code, one
cell at a time as the grader sends them. Each cell runs through ``run_cell_async`` on a running event
loop, so top-level ``await`` and ``asyncio.get_running_loop()`` behave as in a notebook.

Whether a cell failed is read from the ``ExecutionResult`` that ``run_cell_async``
returns, not from what was displayed: a student who silences IPython's traceback
display, or raises ``bdb.BdbQuit`` (which IPython silences itself), still gets an error
output, so the cell scores as failed, as it would under stock nbgrader.

After a crash the grader starts a new child with ``replay``: the earlier cells run
again silently (the fatal ones left out), and reporting resumes where it stopped.
"""

from __future__ import annotations

import asyncio
import base64
import os
import re
import resource
import signal
import sys
from pathlib import Path
from typing import Any

from IPython.core.interactiveshell import ExecutionResult, InteractiveShell
from traitlets.config import Config

from autograder.alarm import RealTimeLimit
from autograder.language import N_
from autograder.sandbox.capture import Capture, CapturingDisplayHook, CapturingDisplayPublisher, Stream
from autograder.sandbox.channel import read_frame, send

#: Modules the test cells import: loaded before any cell, as a kernel's would be after the first run.
PRELOADED = ("autograder.checks", "autograder.fakes", "autograder.clock", "looptime", "nest_asyncio")


def run_submission(request_fd: int, channel: int, shell: InteractiveShell) -> None:
    """In a fresh child of the zygote: read the set-up, wall off, then run and report one cell at a time.

    The grader sends each cell only when the one before has been reported, so no cell
    can read the code of the cells after it (the test cells, with their hidden tests).
    """
    setup = read_frame(request_fd)
    limit_resources(setup["limits"])
    write_files(setup["files"])
    detach_standard_streams()
    capture = Capture(setup["limits"]["output_bytes"])
    attach(shell, capture)
    sys.stdout, sys.stderr = Stream(capture, "stdout"), Stream(capture, "stderr")
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    cell_timeout = setup["limits"]["cell_timeout"]
    for source in setup["replay"]:  # the cells that ran before a crash, again, silently
        capture.begin()
        run_cell(shell, loop, source, cell_timeout)
        forget_source(shell)
    send(channel, {"ready": True})
    while (cell := read_frame(request_fd)) is not None:
        capture.begin()
        result, timed_out = run_cell(shell, loop, cell["source"], cell_timeout)
        forget_source(shell)
        judge(capture, result, timed_out, cell_timeout)
        send(channel, {"cell": cell["cell"], "execution_count": shell.execution_count - 1, "outputs": capture.finished()})


def forget_source(shell: InteractiveShell) -> None:
    """Keep a cell's code out of reach of the cells after it: no ``In``, ``_ih`` or ``_iN`` to print.

    Test cells hold hidden tests; a kernel's input history would hand them to any later
    cell. The code still reaches tracebacks (IPython's line cache), as in a kernel.
    """
    history = shell.history_manager
    for entries in (history.input_hist_parsed, history.input_hist_raw):
        if entries:
            entries[-1] = ""
    history._i00 = ""
    history.db_input_cache.clear()
    for name in [name for name in shell.user_ns if re.fullmatch(r"_i{1,3}|_i\d+", name)]:
        shell.user_ns[name] = ""


def limit_resources(limits: dict[str, Any]) -> None:
    """Hard limits, set before any student code runs; no process of the sandbox can raise them."""
    for which, value in [(resource.RLIMIT_AS, limits["memory_bytes"]), (resource.RLIMIT_FSIZE, limits["scratch_bytes"]),
                         (resource.RLIMIT_NPROC, limits["processes"]), (resource.RLIMIT_CORE, 0)]:
        resource.setrlimit(which, (value, value))
    # A write past the file size limit fails with an error instead of killing the writer.
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)


def write_files(files: dict[str, str]) -> None:
    """The submission's files, into the (private, empty) working folder."""
    for name, content in files.items():
        path = Path(name)
        if path.is_absolute() or ".." in path.parts:
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(content))


def detach_standard_streams() -> None:
    """Nothing a cell writes to file descriptors 0-2 reaches the grader."""
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    os.close(null)


def warm_shell() -> InteractiveShell:
    """IPython and every module the test cells import, loaded once in the zygote, before any fork."""
    config = Config()
    config.HistoryManager.enabled = False
    # Plain tracebacks, without colour: the cell, the line and the error, as Python prints them.
    # IPython's default (coloured, with context) builds a new pygments lexer and scans every
    # loaded module for each frame: two thirds of a lesson's running time went there.
    config.InteractiveShell.colors = "nocolor"
    config.InteractiveShell.xmode = "Plain"
    shell = InteractiveShell.instance(config=config)
    for module in PRELOADED:
        __import__(module)
    try:  # the first traceback loads IPython's formatting machinery: 50 ms once here, not in every child
        raise ValueError("warming up")
    except ValueError:
        shell.InteractiveTB.structured_traceback(*sys.exc_info())
    return shell


def attach(shell: InteractiveShell, capture: Capture) -> None:
    """Send what the cells display to ``capture``."""
    shell.displayhook = shell.display_trap.hook = CapturingDisplayHook(shell=shell, capture=capture)
    shell.display_pub = CapturingDisplayPublisher(shell=shell, capture=capture)
    shell._showtraceback = lambda etype, evalue, stb: capture.error(etype.__name__, str(evalue), stb)


def run_cell(shell: InteractiveShell, loop: asyncio.AbstractEventLoop, source: str,
             timeout: float) -> tuple[ExecutionResult | None, bool]:
    """Run one cell as ipykernel does; its ``ExecutionResult`` (if it finished) and whether its time ran out."""
    try:
        transformed, preprocessing_error = shell.transform_cell(source), None
    except Exception:
        transformed, preprocessing_error = source, sys.exc_info()
    task = loop.create_task(shell.run_cell_async(
        source, store_history=True, transformed_cell=transformed, preprocessing_exc_tuple=preprocessing_error,
    ))
    with RealTimeLimit(timeout, task=task) as limit:
        while not task.done():
            try:
                loop.run_until_complete(task)
            except BaseException:  # the alarm landed in the loop's own code; the task goes on
                if task.done():
                    break
    result = None if task.cancelled() or task.exception() is not None else task.result()
    return result, limit.expired


def judge(capture: Capture, result: ExecutionResult | None, timed_out: bool, timeout: float) -> None:
    """Make the outputs say what happened: a timeout, or a failure that displayed nothing."""
    if timed_out:
        capture.outputs = [o for o in capture.outputs if o["output_type"] != "error"]
        explain(capture, "CellTimeoutError",
                N_("the cell ran longer than {seconds} s and was stopped").format(seconds=f"{timeout:g}"))
        return
    error = None if result is None else (result.error_before_exec or result.error_in_exec)
    if result is None:
        explain(capture, "CellError", N_("the cell did not finish running"))
    elif error is not None and not capture.has_error():
        name = type(error).__name__
        unseen = (N_("{error}: the cell raised {name}, which nothing showed; it counts as a failure") if str(error)
                  else N_("the cell raised {name}, which nothing showed; it counts as a failure"))
        explain(capture, name, unseen.format(error=error, name=name))


def explain(capture: Capture, ename: str, evalue: str) -> None:
    capture.error(ename, evalue, [f"{ename}: {evalue}"])

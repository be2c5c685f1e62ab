"""Inside the sandbox: one submission's code cells, run as ipykernel runs them.

``autograder.sandbox.zygote`` forks a child per submission and calls ``run_submission``,
which reads the request (JSON from the grader: the cells, the limits, the submission's
files) from its own pipe, sets the limits on itself, writes the files into its working
folder, points its standard streams at ``/dev/null``, and only then runs student code. Each cell runs through ``run_cell_async`` on a running event
loop, so top-level ``await`` and ``asyncio.get_running_loop()`` behave as in a notebook.

Whether a cell failed is read from the ``ExecutionResult`` that ``run_cell_async``
returns, not from what was displayed: a student who silences IPython's traceback
display, or raises ``bdb.BdbQuit`` (which IPython silences itself), still gets an error
output, so the cell scores as failed, as it would under stock nbgrader.

After a crash the grader starts a new runner with ``replay``: the earlier cells run
again silently, the fatal ones are skipped, and reporting resumes where it stopped.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import resource
import signal
import sys
from pathlib import Path
from typing import Any

from IPython.core.interactiveshell import ExecutionResult, InteractiveShell
from traitlets.config import Config

from autograder.alarm import RealTimeLimit
from autograder.sandbox.capture import Capture, CapturingDisplayHook, CapturingDisplayPublisher, Stream
from autograder.sandbox.channel import send

#: Modules the test cells import: loaded before any cell, as a kernel's would be after the first run.
PRELOADED = ("autograder.checks", "autograder.fakes", "autograder.clock", "looptime", "nest_asyncio")


def run_submission(request_fd: int, channel: int, shell: InteractiveShell) -> None:
    """In a fresh child of the zygote: read the request, wall off, run the cells, report each one."""
    with os.fdopen(request_fd, "rb") as requests:
        request = json.loads(requests.read())
    limit_resources(request["limits"])
    write_files(request["files"])
    detach_standard_streams()
    capture = Capture(request["limits"]["output_bytes"])
    attach(shell, capture)
    sys.stdout, sys.stderr = Stream(capture, "stdout"), Stream(capture, "stderr")
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    cell_timeout, replay, skip = request["limits"]["cell_timeout"], request["replay"], set(request["skip"])
    for index, source in enumerate(request["cells"]):
        if index == replay:
            send(channel, {"ready": True})
        if index in skip:
            continue
        capture.begin()
        result, timed_out = run_cell(shell, loop, source, cell_timeout)
        if index < replay:
            continue  # replaying a cell that has already been reported
        judge(capture, result, timed_out, cell_timeout)
        send(channel, {"cell": index, "execution_count": shell.execution_count - 1, "outputs": capture.outputs})


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
        explain(capture, "CellTimeoutError", f"the cell ran longer than {timeout:g} s and was stopped")
        return
    error = None if result is None else (result.error_before_exec or result.error_in_exec)
    if result is None:
        explain(capture, "CellError", "the cell did not finish running")
    elif error is not None and not capture.has_error():
        name = type(error).__name__
        message = f"{error}: " if str(error) else ""
        explain(capture, name, f"{message}the cell raised {name}, which nothing showed; it counts as a failure")


def explain(capture: Capture, ename: str, evalue: str) -> None:
    capture.error(ename, evalue, [f"{ename}: {evalue}"])

"""Run a notebook's code cells in a forked copy of a warm interpreter, within limits.

Starting a Jupyter kernel per submission costs most of a second; forking a process
that has already imported IPython costs a few milliseconds. The child runs each cell
the way ipykernel does (``run_cell_async`` on a running event loop, so top-level
``await`` and ``asyncio.get_running_loop()`` behave as in a notebook) and sends the
cell's outputs, in nbformat's shape, back through a pipe.

Nothing a cell does can lose the notebook:

- a cell that runs past ``cell_timeout`` is interrupted (``SIGALRM``) and gets a
  ``CellTimeoutError`` output; the next cells run in the same process;
- a child that ignores the interruption, or dies (``os._exit``, memory exhausted,
  a segfault), is replaced by a fresh child that silently replays the cells that had
  finished, skips the fatal one, and goes on: only the cells it could not run are lost;
- memory (address space) and printed output per cell are capped.
"""

from __future__ import annotations

import asyncio
import os
import pickle
import resource
import select
import signal
import struct
import sys
import time
from dataclasses import dataclass, field
from typing import Any

from IPython.core.displayhook import DisplayHook
from IPython.core.displaypub import DisplayPublisher
from IPython.core.interactiveshell import InteractiveShell
from traitlets.config import Config

from autograder.alarm import RealTimeLimit

#: Seconds the parent waits beyond ``cell_timeout`` before it kills an unresponsive child.
KILL_GRACE = 5.0


@dataclass(frozen=True)
class Limits:
    cell_timeout: float = 30.0
    memory_mb: int = 2048
    output_kb: int = 256


@dataclass
class CellResult:
    execution_count: int | None
    outputs: list[dict[str, Any]]


@dataclass
class Execution:
    """The outputs of every code cell (by index among code cells), and what went wrong."""

    results: dict[int, CellResult] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


def error_output(ename: str, evalue: str) -> dict[str, Any]:
    return {"output_type": "error", "ename": ename, "evalue": evalue, "traceback": [f"{ename}: {evalue}"]}


def execute_cells(sources: list[str], workdir: str, limits: Limits) -> Execution:
    """Run the code cells ``sources`` in order in ``workdir``; never raises for what a cell does."""
    execution = Execution()
    skipped: set[int] = set()
    start = 0
    while start < len(sources):
        reader, child = _fork_child(sources, start, skipped, workdir, limits)
        index = start
        try:
            for index, result in _results(reader, child, start, len(sources), limits):
                execution.results[index] = result
                if any(o.get("ename") == "CellTimeoutError" for o in result.outputs):
                    execution.problems.append(f"code cell {index + 1} ran past {limits.cell_timeout:g} s and was stopped")
            start = len(sources)
        except _ChildLost as lost:
            execution.results[lost.index] = CellResult(None, [error_output(lost.ename, lost.reason)])
            execution.problems.append(f"code cell {lost.index + 1}: {lost.reason}")
            skipped.add(lost.index)
            start = lost.index + 1
        finally:
            os.close(reader)
            _reap(child)
    return execution


class _ChildLost(Exception):
    def __init__(self, index: int, ename: str, reason: str) -> None:
        super().__init__(reason)
        self.index, self.ename, self.reason = index, ename, reason


def _results(reader: int, child: int, start: int, stop: int, limits: Limits):
    """Yield ``(index, CellResult)`` as the child finishes cells; raise ``_ChildLost`` if it goes."""
    buffer = b""
    index = start
    deadline = None
    while index < stop:
        if deadline is None:
            # The first message also covers the silent replay of earlier cells.
            deadline = time.monotonic() + limits.cell_timeout * (1 + start) + KILL_GRACE
        message, buffer = _read_message(reader, buffer, deadline)
        if message is None:
            os.kill(child, signal.SIGKILL)
            raise _ChildLost(index, "CellTimeoutError",
                             f"the cell did not stop within {limits.cell_timeout:g} s and its process was killed")
        if message == b"":
            status = _reap(child)
            raise _ChildLost(index, "DeadKernelError", f"the kernel died while running this cell ({status})")
        got_index, result = pickle.loads(message)
        yield got_index, result
        index = got_index + 1
        deadline = time.monotonic() + limits.cell_timeout + KILL_GRACE


def _read_message(reader: int, buffer: bytes, deadline: float) -> tuple[bytes | None, bytes]:
    """One length-prefixed message; ``b""`` at end of file, ``None`` past the deadline."""
    while True:
        if len(buffer) >= 4:
            (size,) = struct.unpack("!I", buffer[:4])
            if len(buffer) >= 4 + size:
                return buffer[4:4 + size], buffer[4 + size:]
        remaining = deadline - time.monotonic()
        if remaining <= 0 or not select.select([reader], [], [], remaining)[0]:
            return None, buffer
        chunk = os.read(reader, 1 << 16)
        if not chunk:
            return b"", buffer
        buffer += chunk


def _reap(child: int) -> str:
    try:
        _, status = os.waitpid(child, 0)
    except ChildProcessError:
        return "already reaped"
    if os.WIFSIGNALED(status):
        return f"killed by signal {signal.Signals(os.WTERMSIG(status)).name}"
    return f"exit code {os.WEXITSTATUS(status)}"


def _fork_child(sources: list[str], start: int, skipped: set[int], workdir: str, limits: Limits) -> tuple[int, int]:
    reader, writer = os.pipe()
    sys.stdout.flush()
    sys.stderr.flush()
    child = os.fork()
    if child:
        os.close(writer)
        return reader, child
    os.close(reader)
    try:
        _child_main(sources, start, skipped, workdir, limits, writer)
    finally:
        os._exit(0)


def _child_main(sources: list[str], start: int, skipped: set[int], workdir: str, limits: Limits, writer: int) -> None:
    os.setsid()  # a cell that signals its process group reaches only this child
    memory = limits.memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    os.chdir(workdir)
    capture = _Capture(limits.output_kb * 1024)
    shell = _shell(capture)
    sys.stdout, sys.stderr = capture.stream("stdout"), capture.stream("stderr")
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    for index, source in enumerate(sources):
        if index in skipped:
            continue
        capture.begin()
        timed_out = _run_cell(shell, loop, source, limits.cell_timeout)
        if index < start:
            continue  # replaying a cell that already reported
        outputs = capture.outputs
        if timed_out:
            outputs = [o for o in outputs if o["output_type"] != "error"]
            outputs.append(error_output("CellTimeoutError", f"the cell ran longer than {limits.cell_timeout:g} s and was stopped"))
        payload = pickle.dumps((index, CellResult(shell.execution_count - 1, outputs)))
        os.write(writer, struct.pack("!I", len(payload)) + payload)


def _run_cell(shell: InteractiveShell, loop: asyncio.AbstractEventLoop, source: str, timeout: float) -> bool:
    """Run one cell as ipykernel does; True if its time ran out."""
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
    return limit.expired


_warm_shell: InteractiveShell | None = None


def warm_up() -> None:
    """Import and build what every child needs, once, before the forks."""
    global _warm_shell
    if _warm_shell is None:
        config = Config()
        config.HistoryManager.enabled = False
        _warm_shell = InteractiveShell.instance(config=config)
        import autograder.checks  # noqa: F401  (test cells import it; keep it warm)
        import looptime  # noqa: F401
        import nest_asyncio  # noqa: F401


def _shell(capture: _Capture) -> InteractiveShell:
    warm_up()
    shell = _warm_shell
    shell.displayhook = shell.display_trap.hook = _CapturingDisplayHook(shell=shell, capture=capture)
    shell.display_pub = _CapturingDisplayPublisher(shell=shell, capture=capture)
    shell._showtraceback = capture.error
    return shell


class _Capture:
    """Collects one cell's outputs in nbformat's shape, with a cap on printed text."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.outputs: list[dict[str, Any]] = []
        self.printed = 0

    def begin(self) -> None:
        self.outputs, self.printed = [], 0

    def stream(self, name: str) -> _Stream:
        return _Stream(self, name)

    def write(self, name: str, text: str) -> None:
        if self.printed >= self.max_bytes:
            return
        self.printed += len(text)
        if self.printed >= self.max_bytes:
            text = text[: len(text) - (self.printed - self.max_bytes)] + "\n[output cut: over the size limit]\n"
        if self.outputs and self.outputs[-1]["output_type"] == "stream" and self.outputs[-1]["name"] == name:
            self.outputs[-1]["text"] += text
        else:
            self.outputs.append({"output_type": "stream", "name": name, "text": text})

    def error(self, etype: type, evalue: BaseException, stb: list[str]) -> None:
        self.outputs.append({"output_type": "error", "ename": etype.__name__, "evalue": str(evalue), "traceback": stb})


class _Stream:
    def __init__(self, capture: _Capture, name: str) -> None:
        self.capture, self.name = capture, name

    def write(self, text: str) -> int:
        self.capture.write(self.name, text)
        return len(text)

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return False


class _CapturingDisplayHook(DisplayHook):
    def __init__(self, *, shell: InteractiveShell, capture: _Capture) -> None:
        super().__init__(shell=shell)
        self.capture = capture

    def write_output_prompt(self) -> None:
        pass

    def write_format_data(self, format_dict: dict, md_dict: dict | None = None) -> None:
        self.capture.outputs.append({
            "output_type": "execute_result", "data": format_dict, "metadata": md_dict or {},
            "execution_count": self.shell.execution_count,
        })

    def finish_displayhook(self) -> None:
        pass


class _CapturingDisplayPublisher(DisplayPublisher):
    def __init__(self, *, shell: InteractiveShell, capture: _Capture) -> None:
        super().__init__(shell=shell)
        self.capture = capture

    def publish(self, data: dict, metadata: dict | None = None, **kwargs: Any) -> None:
        self.capture.outputs.append({"output_type": "display_data", "data": data, "metadata": metadata or {}})

    def clear_output(self, wait: bool = False) -> None:
        self.capture.outputs.clear()

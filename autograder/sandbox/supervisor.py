"""Run one submission's code cells in a sandbox, within limits, and read back only what is allowed.

Each submission gets a new process, started by ``exec`` (never forked from the grader,
so it holds nothing of the grader's or of other students'), walled in by bubblewrap
(``autograder.sandbox.bwrap``) and running ``autograder.sandbox.runner``. Its only way
to report is its channel: length-prefixed JSON, validated field by field
(``autograder.sandbox.channel``).

Nothing a submission does loses the notebook:

- a cell past ``cell_timeout`` is interrupted inside the sandbox and gets a
  ``CellTimeoutError``; one that does not stop within ``KILL_GRACE`` more is killed;
- a sandbox that dies (``os._exit``, a crash) or goes over its memory or process limit
  is killed whole and replaced by a new one that silently re-runs the finished cells,
  skips the fatal one and goes on. The re-run may take twice what those cells took
  the first time, plus a fixed grace, so a hang costs its limit plus a fixed grace
  wherever it sits;
- a sandbox that sends anything malformed or out of order is not believed again: the
  cells it had not yet reported are marked as not run, and the submission is flagged
  for a teacher's review.
"""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import psutil

from autograder.sandbox.bwrap import bwrap_command, runner_command
from autograder.sandbox.channel import SLACK_BYTES, CellResult, ChannelViolation, Receiver, cell_result, is_ready
from autograder.sandbox.limits import KILL_GRACE, STARTUP_LIMIT, Limits

#: How much of a submission's other files (besides its cells) go into its working folder.
FILES_LIMIT = 16 * 1024 * 1024


@dataclass
class Execution:
    """The outputs of every code cell (by index among code cells), what went wrong, and what needs a teacher."""

    results: dict[int, CellResult] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    review: list[str] = field(default_factory=list)

    def to_json(self) -> str:
        return json.dumps({"results": {str(i): asdict(r) for i, r in self.results.items()},
                           "problems": self.problems, "review": self.review})

    @classmethod
    def from_json(cls, text: str) -> Execution:
        """Read back an execution the grader itself wrote (never one a sandbox sent)."""
        data = json.loads(text)
        results = {int(i): CellResult(r["execution_count"], r["outputs"]) for i, r in data["results"].items()}
        return cls(results, data["problems"], data["review"])


def error_output(ename: str, evalue: str) -> dict[str, Any]:
    return {"output_type": "error", "ename": ename, "evalue": evalue, "traceback": [f"{ename}: {evalue}"]}


class SandboxFailed(RuntimeError):
    """The sandbox could not start at all (not the submission's doing)."""


class _CellLost(Exception):
    def __init__(self, index: int, ename: str, reason: str) -> None:
        super().__init__(reason)
        self.index, self.ename, self.reason = index, ename, reason


class _ReplayFailed(Exception):
    pass


def submission_files(folder: Path) -> dict[str, str]:
    """A submission folder's files (up to ``FILES_LIMIT`` in all), as the runner's request carries them."""
    files, total = {}, 0
    for path in sorted(folder.rglob("*")):
        if path.is_file() and not path.is_symlink() and total + path.stat().st_size <= FILES_LIMIT:
            total += path.stat().st_size
            files[str(path.relative_to(folder))] = base64.b64encode(path.read_bytes()).decode()
    return files


def execute_cells(sources: list[str], limits: Limits, *, files: dict[str, str] | None = None,
                  sandboxed: bool = True) -> Execution:
    """Run the code cells ``sources`` in order; never raises for what a cell does."""
    execution = Execution()
    skipped: set[int] = set()
    seconds: dict[int, float] = {}
    start = 0
    while start < len(sources):
        request = {"cells": sources, "replay": start, "skip": sorted(skipped), "files": files or {},
                   "limits": {"cell_timeout": limits.cell_timeout, "memory_bytes": limits.memory_bytes,
                              "output_bytes": limits.output_bytes, "scratch_bytes": limits.scratch_bytes,
                              "processes": limits.processes}}
        replay_budget = 2 * sum(seconds.values()) + KILL_GRACE
        try:
            with _Sandbox(request, limits, sandboxed) as sandbox:
                sandbox.wait_ready(STARTUP_LIMIT + replay_budget, replaying=start > 0)
                for index, result in sandbox.results(start, len(sources), skipped, seconds):
                    execution.results[index] = result
                    if any(o.get("ename") == "CellTimeoutError" for o in result.outputs):
                        execution.problems.append(
                            f"code cell {index + 1} ran past {limits.cell_timeout:g} s and was stopped")
            start = len(sources)
        except _CellLost as lost:
            execution.results[lost.index] = CellResult(None, [error_output(lost.ename, lost.reason)])
            execution.problems.append(f"code cell {lost.index + 1}: {lost.reason}")
            skipped.add(lost.index)
            start = lost.index + 1
        except _ReplayFailed:
            _not_run(execution, start, len(sources), "the earlier cells could not be run again after a crash")
            execution.problems.append(f"code cells {start + 1} to {len(sources)} were not run: "
                                      "re-running the earlier cells after a crash failed")
            break
        except ChannelViolation as violation:
            first = min(set(range(len(sources))) - set(execution.results), default=len(sources))
            _not_run(execution, first, len(sources), "the submission's process sent results the grader cannot trust")
            execution.problems.append(f"its process sent results the grader cannot trust: {violation}")
            execution.review.append(f"forged or malformed results from its process ({violation})")
            break
    return execution


def _not_run(execution: Execution, start: int, stop: int, reason: str) -> None:
    for index in range(start, stop):
        execution.results.setdefault(index, CellResult(None, [error_output("CellNotRun", reason)]))


class _Sandbox:
    """One running sandbox: its process, its channel, and the watch on its memory and processes."""

    def __init__(self, request: dict[str, Any], limits: Limits, sandboxed: bool) -> None:
        self.limits, self.sandboxed = limits, sandboxed
        reader, writer = os.pipe()
        request = {**request, "channel": writer}
        self.errors = tempfile.TemporaryFile()
        self.scratch = None if sandboxed else tempfile.TemporaryDirectory(prefix="grading-")
        command = [*bwrap_command(limits), *runner_command()] if sandboxed else runner_command()
        environment = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"}
        if self.scratch is not None:
            environment["HOME"] = self.scratch.name
        try:
            self.process = subprocess.Popen(
                command, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=self.errors, pass_fds=(writer,),
                cwd=self.scratch.name if self.scratch else None, env=environment, start_new_session=True,
            )
        finally:
            os.close(writer)
        self.receiver = Receiver(reader, limits.output_bytes * 8 + SLACK_BYTES)
        self.reader = reader
        try:
            self.process.stdin.write(json.dumps(request).encode())
            self.process.stdin.close()
        except BrokenPipeError:
            pass  # it died at once; wait_ready says why

    def __enter__(self) -> _Sandbox:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.kill()
        os.close(self.reader)
        self.errors.close()
        if self.scratch is not None:
            self.scratch.cleanup()

    def wait_ready(self, limit: float, *, replaying: bool) -> None:
        try:
            message = self._next(time.monotonic() + limit, index=0)
        except _CellLost:
            message = None
        if message is None:
            if replaying:
                raise _ReplayFailed
            self.kill()
            self.errors.seek(0)
            raise SandboxFailed(f"the sandbox did not start: {self.errors.read(2000).decode(errors='replace').strip()}")
        is_ready(message)

    def results(self, start: int, stop: int, skipped: set[int], seconds: dict[int, float]):
        """Yield ``(index, CellResult)`` as cells finish; raise ``_CellLost`` when the sandbox goes."""
        expected = start
        while True:
            while expected in skipped:
                expected += 1
            if expected >= stop:
                return
            began = time.monotonic()
            message = self._next(began + self.limits.cell_timeout + KILL_GRACE, expected)
            if message is None:
                raise _CellLost(expected, "DeadKernelError", f"the kernel died while running this cell ({self.status()})")
            try:
                index, result = cell_result(message, expected, expected)
            except RecursionError:
                raise ChannelViolation("a message nested too deeply") from None
            seconds[index] = time.monotonic() - began
            yield index, result
            expected = index + 1

    def _next(self, deadline: float, index: int) -> dict[str, Any] | None:
        """The next message, watching the limits while waiting; ``None`` when the sandbox ended."""
        while True:
            try:
                message = self.receiver.receive(deadline)
            except TimeoutError:
                self.kill()
                raise _CellLost(index, "CellTimeoutError", f"the cell did not stop within "
                                f"{self.limits.cell_timeout:g} s and its process was killed") from None
            if message is not False:
                return message
            self._watch(index)

    def _watch(self, index: int) -> None:
        """Kill the whole sandbox when its processes together use too much memory, or are too many."""
        processes = self._processes()
        memory = 0
        for process in processes:
            try:
                memory += process.memory_info().rss
            except psutil.Error:
                pass
        if len(processes) > self.limits.processes:
            self.kill()
            raise _CellLost(index, "ProcessLimitError",
                            f"the cell started more than {self.limits.processes} processes and all were stopped")
        if memory > self.limits.memory_bytes:
            self.kill()
            raise _CellLost(index, "MemoryLimitError",
                            f"the cell's processes used more than {self.limits.memory_mb} MiB together "
                            "and all were stopped")

    def _processes(self) -> list[psutil.Process]:
        """Every process of the submission, below bubblewrap's own two (itself and its PID 1)."""
        try:
            root = psutil.Process(self.process.pid)
            ours = {child.pid for child in root.children()} if self.sandboxed else set()
            return [process for process in root.children(recursive=True) if process.pid not in ours]
        except psutil.Error:
            return []

    def status(self) -> str:
        code = self.process.wait()
        if code < 0:
            return f"killed by signal {signal.Signals(-code).name}"
        return f"exit code {code}"

    def kill(self) -> None:
        """End the sandbox and everything in it: bubblewrap's PID namespace dies with its first process."""
        leftovers = self._processes()
        if self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        for process in leftovers:
            try:
                process.kill()
            except psutil.Error:
                pass
        self.process.wait()

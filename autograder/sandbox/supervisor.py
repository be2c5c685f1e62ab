"""Run one submission's code cells in a sandbox, within limits, and read back only what is allowed.

Each grading thread keeps one sandbox: bubblewrap (``autograder.sandbox.bwrap``) around
a warm zygote (``autograder.sandbox.zygote``), started by ``exec``, so it holds nothing
of the grader's or of other students'. A sandbox started ahead (``prestart_sandboxes``)
is adopted by the process that forks from the grader to use it, and can be handed on
once (``release_sandbox`` and ``resume_sandbox``: an early run to its worker). Each
submission runs in a fresh fork of that zygote, and when it ends the zygote kills
everything it left and empties every folder it could write, or the sandbox is thrown
away. A submission's only way to report is its channel: length-prefixed JSON, validated
field by field (``autograder.sandbox.channel``).

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

import atexit
import base64
import json
import os
import re
import select
import signal
import socket
import subprocess
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import psutil

from autograder.language import N_
from autograder.sandbox.bwrap import bwrap_command, zygote_command
from autograder.sandbox.channel import (
    SLACK_BYTES, CellResult, ChannelViolation, Receiver, cell_result, frame, is_ready,
)
from autograder.sandbox.limits import CLEANUP_LIMIT, KILL_GRACE, STARTUP_LIMIT, Limits

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
        setup = {"replay": [source for index, source in enumerate(sources[:start]) if index not in skipped],
                 "files": files or {},
                 "limits": {"cell_timeout": limits.cell_timeout, "memory_bytes": limits.memory_bytes,
                            "output_bytes": limits.output_bytes, "scratch_bytes": limits.scratch_bytes,
                            "processes": limits.processes}}
        # A re-run may take twice what those cells took the first time: a hang costs its own limit, wherever it sits.
        replay_budget = 2 * sum(seconds.values()) + 2 * KILL_GRACE
        try:
            with _Run(limits, sandboxed, setup) as run:
                run.wait_ready(replay_budget, replaying=start > 0)
                for index, result in run.results(sources, start, skipped, seconds):
                    execution.results[index] = result
                    if any(o.get("ename") == "CellTimeoutError" for o in result.outputs):
                        skipped.add(index)  # interrupted; a replay after a later crash would only hang again
                        execution.problems.append(N_("code cell {number} ran past {seconds} s and was stopped").format(
                            number=index + 1, seconds=f"{limits.cell_timeout:g}"))
            start = len(sources)
        except _CellLost as lost:
            execution.results[lost.index] = CellResult(None, [error_output(lost.ename, lost.reason)])
            execution.problems.append(N_("code cell {number}: {reason}").format(number=lost.index + 1, reason=lost.reason))
            skipped.add(lost.index)
            start = lost.index + 1
        except _ReplayFailed:
            _not_run(execution, start, len(sources), N_("the earlier cells could not be run again after a crash"))
            execution.problems.append(N_("code cells {first} to {last} were not run: re-running the earlier cells "
                                         "after a crash failed").format(first=start + 1, last=len(sources)))
            break
        except ChannelViolation as violation:
            first = min(set(range(len(sources))) - set(execution.results), default=len(sources))
            _not_run(execution, first, len(sources), N_("the submission's process sent results the grader cannot trust"))
            execution.problems.append(
                N_("its process sent results the grader cannot trust: {violation}").format(violation=violation))
            execution.review.append(N_("forged or malformed results from its process ({violation})").format(
                violation=violation))
            break
    return execution


def _not_run(execution: Execution, start: int, stop: int, reason: str) -> None:
    for index in range(start, stop):
        execution.results.setdefault(index, CellResult(None, [error_output("CellNotRun", reason)]))


class _Zygote:
    """One sandbox with its warm zygote, reused submission after submission by one grading thread."""

    def __init__(self, limits: Limits, sandboxed: bool, *, wait: bool = True) -> None:
        self.limits, self.sandboxed = limits, sandboxed
        self.owner = os.getpid()  # the process that started it (a grading worker may adopt it)
        self.own: set[int] | None = None  # known once it is ready
        self.closed = False
        self.control, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.errors = tempfile.TemporaryFile()
        command = zygote_command(theirs.fileno(), contained=sandboxed)
        self.process = subprocess.Popen(
            [*bwrap_command(limits), *command] if sandboxed else command,
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=self.errors, pass_fds=(theirs.fileno(),),
            env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"}, start_new_session=True,
        )
        theirs.close()
        if wait:
            self.wait_ready()

    def wait_ready(self) -> None:
        """Wait, once, for the zygote to say it is ready; ``SandboxFailed`` if it does not."""
        if self.own is not None:
            return
        self.control.settimeout(STARTUP_LIMIT)
        try:
            ready = self.control.recv(64)
        except OSError:
            ready = b""
        if ready != b"ready":
            self.process.kill()
            self.process.wait()
            self.errors.seek(0)
            why = self.errors.read(2000).decode(errors="replace").strip()
            self.close()
            raise SandboxFailed(f"the sandbox did not start: {why}")
        #: bubblewrap's own processes and the zygote: everything else in the sandbox is a submission's.
        self.own = {self.process.pid, *(p.pid for p in psutil.Process(self.process.pid).children(recursive=True))}

    def fork(self) -> tuple[int, int]:
        """Start a child for one submission; the grader's ends of its request pipe and of its results channel."""
        self.wait_ready()
        request_reader, request_writer = os.pipe()
        results_reader, results_writer = os.pipe()
        try:
            socket.send_fds(self.control, [b"fork"], [request_reader, results_writer])
        except OSError:
            for fd in (request_reader, request_writer, results_reader, results_writer):
                os.close(fd)
            raise
        os.close(request_reader)
        os.close(results_writer)
        os.set_blocking(request_writer, False)
        return request_writer, results_reader

    def submission_processes(self) -> list[psutil.Process]:
        if self.own is None:  # not started yet: nothing of a submission's can be in it
            return []
        try:
            everything = psutil.Process(self.process.pid).children(recursive=True)
        except psutil.Error:
            return []
        return [process for process in everything if process.pid not in self.own]

    def kill_submission(self) -> None:
        for process in self.submission_processes():
            try:
                process.kill()
            except psutil.Error:
                pass

    def finish(self) -> int | None:
        """Wait for the zygote to clean up after a child; the child's exit code, or ``None`` if the sandbox is gone."""
        self.control.settimeout(CLEANUP_LIMIT)
        try:
            report = self.control.recv(64).decode(errors="replace")
        except OSError:
            report = ""
        found = re.fullmatch(r"(clean|dirty) (-?[0-9]{1,4})", report)
        if not found or found[1] != "clean":
            self.close()
        return int(found[2]) if found else None

    def alive(self) -> bool:
        if self.process.returncode is not None:
            return False
        if os.getpid() == self.owner:
            return self.process.poll() is None
        try:  # adopted: only its starter can wait for it
            return psutil.Process(self.process.pid).status() != psutil.STATUS_ZOMBIE
        except psutil.Error:
            return False

    def close(self) -> None:
        """End the sandbox and everything in it: bubblewrap's PID namespace dies with its first process."""
        self.closed = True
        leftovers = self.submission_processes()
        if self.alive():
            os.kill(self.process.pid, signal.SIGKILL)  # not Popen.kill: it signals nothing in a process that adopted it
        for process in leftovers:
            try:
                process.kill()
            except psutil.Error:
                pass
        if os.getpid() == self.owner:  # only the process that started it can wait for it
            self.process.wait()
        self.control.close()
        self.errors.close()


_local = threading.local()
_everyone: list[_Zygote] = []
_everyone_lock = threading.Lock()
_spares: list[_Zygote] = []  # started by prestart_sandboxes, not yet adopted


def _zygote(limits: Limits, sandboxed: bool) -> _Zygote:
    """This thread's sandbox for these limits, started (again) when there is none or it died."""
    zygote = getattr(_local, "zygote", None)
    if zygote is not None and zygote.alive() and (zygote.limits, zygote.sandboxed) == (limits, sandboxed):
        return zygote
    if zygote is not None:
        zygote.close()
    zygote = _local.zygote = _Zygote(limits, sandboxed)
    with _everyone_lock:
        _everyone.append(zygote)
    return zygote


def prestart_sandboxes(count: int, limits: Limits, sandboxed: bool) -> None:
    """Start ``count`` sandboxes now, without waiting for them, for the next forked workers to adopt.

    A sandbox takes about 0.4 s to start (bubblewrap, Python, IPython); started here, that
    happens while the grader still prepares, on a core that would otherwise be idle.
    """
    for _ in range(count):
        zygote = _Zygote(limits, sandboxed, wait=False)
        _spares.append(zygote)
        with _everyone_lock:
            _everyone.append(zygote)


def adopt_sandbox(slot: int | None) -> None:
    """In a just-forked worker: make prestarted sandbox ``slot`` its own (``None``: start one when needed).

    The other sandboxes are other workers': this process forgets them, so that it never
    uses or closes them.
    """
    spares = list(_spares)
    adopted = spares[slot] if slot is not None and slot < len(spares) else None
    _spares.clear()
    with _everyone_lock:
        _everyone[:] = [adopted] if adopted else []
    _local.zygote = _local.adopted = adopted


def release_sandbox() -> dict[str, Any]:
    """In a process about to hand its adopted sandbox on (an early run): how it leaves it.

    Every sandbox this process started itself (after a crash) is stopped. The adopted
    one is ``unused`` (still to say it is ready), ``kept`` (ready and clean, with the
    processes that are its own) or ``lost``.
    """
    adopted = getattr(_local, "adopted", None)
    with _everyone_lock:
        for zygote in _everyone:
            if zygote is not adopted and zygote.owner == os.getpid() and zygote.alive():
                zygote.close()
    if adopted is None or adopted.closed or not adopted.alive() or _local.zygote is not adopted:
        return {"state": "lost"}
    if adopted.own is None:
        return {"state": "unused"}
    return {"state": "kept", "own": sorted(adopted.own)}


def resume_sandbox(left: dict[str, Any] | None) -> None:
    """In a worker: take its adopted sandbox as an early run left it (``release_sandbox``)."""
    zygote, left = getattr(_local, "zygote", None), left or {}
    if zygote is None or left.get("state") == "unused":
        return
    own = left.get("own")
    if left.get("state") == "kept" and isinstance(own, list) and all(isinstance(pid, int) for pid in own):
        zygote.own = set(own)
        return
    zygote.close()  # lost, or the early run ended without saying: a new one starts when needed
    with _everyone_lock:
        if zygote in _everyone:
            _everyone.remove(zygote)
    _local.zygote = None


@atexit.register
def close_sandboxes() -> None:
    """Stop every warm sandbox this process started or adopted (a forked worker calls it before it exits)."""
    with _everyone_lock:
        for zygote in _everyone:
            if zygote.alive():
                zygote.close()
        _everyone.clear()
    _spares.clear()


class _Run:
    """One submission's run in a child of the zygote: its channel, and the watch on its memory and processes."""

    def __init__(self, limits: Limits, sandboxed: bool, setup: dict[str, Any]) -> None:
        self.zygote, self.limits = _zygote(limits, sandboxed), limits
        try:
            self.writer, self.reader = self.zygote.fork()
        except OSError:  # the zygote died since the last submission (its sandbox was killed): start another
            self.zygote.close()
            self.zygote = _zygote(limits, sandboxed)
            self.writer, self.reader = self.zygote.fork()
        self.send(setup, time.monotonic() + STARTUP_LIMIT)
        self.receiver = Receiver(self.reader, self.limits.output_bytes * 8 + SLACK_BYTES)
        self.ended = False

    def __enter__(self) -> _Run:
        return self

    def __exit__(self, *exc_info: object) -> None:
        os.close(self.writer)
        os.close(self.reader)
        self.end()

    def send(self, message: dict[str, Any], deadline: float) -> None:
        """Write one message to the child; give up at ``deadline`` or when it is gone (its channel then says why)."""
        data = frame(message)
        try:
            while data and select.select([], [self.writer], [], max(0.0, deadline - time.monotonic()))[1]:
                data = data[os.write(self.writer, data[:1 << 16]):]
        except BrokenPipeError:
            pass

    def end(self) -> int | None:
        """Stop the child and whatever it started, once; its exit code (``None`` if the sandbox was lost)."""
        if not self.ended:
            self.ended = True
            self.zygote.kill_submission()
            self.exit_code = self.zygote.finish()
        return self.exit_code

    def wait_ready(self, limit: float, *, replaying: bool) -> None:
        try:
            message = self._next(time.monotonic() + limit, index=0)
        except _CellLost:
            message = None
        if message is None:
            raise _ReplayFailed if replaying else SandboxFailed("the submission's process ended before it started")
        is_ready(message)

    def results(self, sources: list[str], start: int, skipped: set[int], seconds: dict[int, float]):
        """Send the cells from ``start`` one by one, yielding ``(index, CellResult)`` as each finishes.

        Raises ``_CellLost`` when the child goes.
        """
        expected = start
        while True:
            while expected in skipped:
                expected += 1
            if expected >= len(sources):
                return
            began = time.monotonic()
            self.send({"cell": expected, "source": sources[expected]}, began + KILL_GRACE)
            message = self._next(began + self.limits.cell_timeout + KILL_GRACE, expected)
            if message is None:
                raise _CellLost(expected, "DeadKernelError",
                                N_("the kernel died while running this cell ({status})").format(status=self.status()))
            try:
                index, result = cell_result(message, expected, expected)
            except RecursionError:
                raise ChannelViolation("a message nested too deeply") from None
            seconds[index] = time.monotonic() - began
            yield index, result
            expected = index + 1

    def status(self) -> str:
        """How the child ended, as the zygote saw it (waiting for it to clean up)."""
        code = self.end()
        if code is None:
            return N_("its sandbox was lost")
        if code < 0:
            return N_("killed by signal {signal}").format(signal=signal.Signals(-code).name)
        return N_("exit code {code}").format(code=code)

    def _next(self, deadline: float, index: int) -> dict[str, Any] | None:
        """The next message, watching the limits while waiting; ``None`` when the child ended."""
        while True:
            try:
                message = self.receiver.receive(deadline)
            except TimeoutError:
                self.zygote.kill_submission()
                raise _CellLost(index, "CellTimeoutError", N_("the cell did not stop within {seconds} s and its "
                                "process was killed").format(seconds=f"{self.limits.cell_timeout:g}")) from None
            if message is not False:
                return message
            self._watch(index)

    def _watch(self, index: int) -> None:
        """Kill the whole submission when its processes together use too much memory, or are too many."""
        processes = self.zygote.submission_processes()
        memory = 0
        for process in processes:
            try:
                memory += process.memory_info().rss
            except psutil.Error:
                pass
        if len(processes) > self.limits.processes:
            self.zygote.kill_submission()
            raise _CellLost(index, "ProcessLimitError",
                            N_("the cell started more than {count} processes and all were stopped").format(
                                count=self.limits.processes))
        if memory > self.limits.memory_bytes:
            self.zygote.kill_submission()
            raise _CellLost(index, "MemoryLimitError",
                            N_("the cell's processes used more than {mib} MiB together and all were stopped").format(
                                mib=self.limits.memory_mb))

"""Warm worker processes: forked from a grader that has already imported and loaded everything.

A class is graded one submission at a time by each of ``jobs`` workers. Each worker is a
``fork`` of the grading command taken after nbgrader and nbconvert are loaded, so it
starts in milliseconds instead of the second or two a new Python process with nbgrader
takes. Work is handed out one task at a time, to whichever worker is free, before its
last result is handed on: a submission that hangs holds up its own worker only, never
anybody else's result, and a caller busy with one result keeps no worker waiting.

Tasks and results travel as JSON lines on pipes, so nothing here unpickles anything
(``multiprocessing`` would). A worker that dies (killed by the kernel for memory, say)
costs the task it held, reported as an error for that task, and is replaced.
"""

from __future__ import annotations

import json
import os
import selectors
import signal
import sys
import traceback
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

#: ``work(task)`` returns a JSON-able dict. In a worker, ``prepare(slot)`` runs first (``slot``
#: numbers the first ``jobs`` workers from 0; a replacement gets ``None``) and ``finish()`` last.
Work = Callable[[str], dict[str, Any]]


@dataclass
class Outcome:
    task: str
    result: dict[str, Any] | None  # None when the task failed
    error: str | None = None


@dataclass
class _Worker:
    pid: int
    tasks: Any  # text file the parent writes tasks to
    results: Any  # text file the parent reads results from
    current: str | None = None


def run_all(tasks: Iterable[str], work: Work, jobs: int, finish: Callable[[], None] = lambda: None,
            prepare: Callable[[int | None], None] = lambda slot: None) -> Iterator[Outcome]:
    """Run ``work`` on every task in ``jobs`` forked workers; yield each outcome as it completes."""
    pending = deque(tasks)
    if pending and jobs < 1:
        raise ValueError(f"{len(pending)} tasks and no worker to run them (jobs={jobs})")
    workers: dict[int, _Worker] = {}  # by the fd of its results pipe
    selector = selectors.DefaultSelector()

    def start(slot: int | None = None) -> None:
        inherited = [f.fileno() for w in workers.values() for f in (w.tasks, w.results)]
        worker = _fork(work, lambda: prepare(slot), finish, inherited)
        workers[worker.results.fileno()] = worker
        selector.register(worker.results, selectors.EVENT_READ)
        give(worker)

    def give(worker: _Worker) -> None:
        if not pending:
            worker.current = None
            stop(worker)
            return
        worker.current = pending.popleft()
        try:
            worker.tasks.write(json.dumps(worker.current) + "\n")
            worker.tasks.flush()
        except OSError:  # it died between two tasks: the task goes back, another worker starts
            pending.appendleft(worker.current)
            worker.current = None
            stop(worker)
            start()

    def stop(worker: _Worker) -> int:
        selector.unregister(worker.results)
        del workers[worker.results.fileno()]
        for pipe in (worker.tasks, worker.results):
            try:
                pipe.close()
            except OSError:  # a write the dead worker never read
                pass
        return os.waitpid(worker.pid, 0)[1]

    try:
        for slot in range(min(jobs, len(pending))):
            start(slot)
        while workers:
            for key, _ in selector.select():
                worker = workers[key.fd]
                line = worker.results.readline()
                # Each outcome is yielded once the worker has its next task: it never waits for the caller.
                if not line:  # the worker died while holding a task
                    task, status = worker.current, stop(worker)
                    if pending:
                        start()
                    yield Outcome(task, None, f"the grading worker died ({_describe(status)})")
                    continue
                message = json.loads(line)
                outcome = Outcome(worker.current, message.get("result"), message.get("error"))
                give(worker)
                yield outcome
    finally:
        for worker in list(workers.values()):
            os.kill(worker.pid, signal.SIGKILL)
            stop(worker)
        selector.close()


def _fork(work: Work, prepare: Callable[[], None], finish: Callable[[], None], inherited: list[int]) -> _Worker:
    """Start a worker; it closes ``inherited`` (its siblings' pipes) so that each sees its own EOF."""
    task_read, task_write = os.pipe()
    result_read, result_write = os.pipe()
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:  # the worker
        status = 1
        try:
            for fd in [task_write, result_read, *inherited]:
                os.close(fd)
            prepare()
            _serve(os.fdopen(task_read), os.fdopen(result_write, "w"), work)
            finish()
            status = 0
        finally:
            os._exit(status)  # never return into the parent's code
    os.close(task_read)
    os.close(result_write)
    return _Worker(pid, os.fdopen(task_write, "w"), os.fdopen(result_read))


def _serve(tasks, results, work: Work) -> None:
    for line in tasks:
        task = json.loads(line)
        try:
            message = {"result": work(task)}
        except Exception:
            message = {"error": traceback.format_exc()}
        results.write(json.dumps(message) + "\n")
        results.flush()


def _describe(status: int) -> str:
    if os.WIFSIGNALED(status):
        return f"killed by {signal.Signals(os.WTERMSIG(status)).name}"
    return f"exit code {os.waitstatus_to_exitcode(status)}"

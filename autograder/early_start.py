"""The first submissions start running while the grading command is still loading nbgrader.

Loading nbgrader and nbconvert takes the grading command most of a second, and a
submission cannot run before nbgrader has restored its test cells from the gradebook.
A class whose first submission hangs then waits that second plus the hang. So, for the
first submission of each worker, a light process forked before nbgrader is loaded
works out what nbgrader will run, the submission's code cells with the source of each
locked cell (the tests) read from the gradebook with ``sqlite3``, and runs them in the
sandbox that worker will adopt.

It is a guess, never trusted as such: the worker restores the test cells with
nbgrader's own preprocessors as for any other submission, and takes the early
execution only if the cells and files it would run are exactly those that ran;
otherwise it runs them again. A guess is wrong when nbgrader would change something
else (a cell's type, a duplicated cell id, cells it adds back) or the worker would put
other files beside the notebook (course files the configuration ignores or keeps,
links, more than the size limit), and then it costs a second run: a hanging first
submission costs its cell limit twice. The early process runs no student code itself;
like a worker, it reads results only through the sandbox's checked channel. There is
nothing to guess from while the lesson is not in the gradebook: then nothing starts
early.
"""

from __future__ import annotations

import atexit
import hashlib
import json
import os
import signal
import sqlite3
import time
import traceback
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from autograder.course import Course
from autograder.sandbox import Execution, Limits, adopt_sandbox, execute_cells, submission_files
from autograder.sandbox.supervisor import release_sandbox, resume_sandbox


#: The largest notebook guessed from; a bigger one is left to its worker.
NOTEBOOK_LIMIT = 16 * 1024 * 1024


def run_digest(sources: list[str], files: dict[str, str]) -> str:
    """What one run depends on, the code cells and the files it had, in one comparable string."""
    return hashlib.sha256(json.dumps([sources, files], sort_keys=True).encode()).hexdigest()


@dataclass
class EarlyRun:
    """One worker's first submission, running early in a process of its own."""

    pid: int
    results: int  # the read end of its results pipe
    report: dict[str, Any] | None = None

    def execution_for(self, sources: list[str], files: dict[str, str]) -> Execution | None:
        """The early execution if it ran exactly ``sources`` with ``files``; ``None`` if it ran anything else."""
        report = self.settle()
        if report.get("digest") != run_digest(sources, files):
            return None
        return Execution.from_json(report["execution"])

    @property
    def seconds(self) -> float:
        """How long the early run took (once settled; 0 when it ran nothing)."""
        return float((self.report or {}).get("seconds", 0.0))

    def settle(self) -> dict[str, Any]:
        """Wait for the early run, once, and take over its sandbox as it left it."""
        if self.report is None:
            chunks = []
            while chunk := os.read(self.results, 1 << 16):
                chunks.append(chunk)
            os.close(self.results)
            try:
                self.report = json.loads(b"".join(chunks) or b"{}")
            except ValueError:
                self.report = {}
            resume_sandbox(self.report.get("sandbox"))
        return self.report


def start_early_runs(course: Course, lesson: str, students: list[str], limits: Limits,
                     sandboxed: bool) -> dict[str, EarlyRun]:
    """Fork one early run per student, the ``n``-th in the sandbox worker ``n`` will adopt; by student."""
    cells = _locked_sources(course, lesson)
    if cells is None:  # the lesson is not in the gradebook yet: nothing to guess from
        return {}
    runs = {}
    for slot, student in enumerate(students):
        reader, writer = os.pipe()
        pid = os.fork()
        if pid == 0:  # the early run
            status = 1
            try:
                os.close(reader)
                for run in runs.values():
                    os.close(run.results)
                _run_early(course, lesson, student, slot, cells, limits, sandboxed, writer)
                status = 0
            finally:
                os._exit(status)
        os.close(writer)
        runs[student] = EarlyRun(pid, reader)
    atexit.register(stop_early_runs, runs)  # whatever ends the command, none of them outlives it
    return runs


def stop_early_runs(runs: dict[str, EarlyRun]) -> None:
    """End every early run (one whose worker never came for its result waits to hand it over) and reap it."""
    while runs:
        _, run = runs.popitem()
        try:
            os.kill(run.pid, signal.SIGKILL)
            os.waitpid(run.pid, 0)
        except (ProcessLookupError, ChildProcessError):
            pass
        if run.report is None:  # this process's copy of its pipe
            os.close(run.results)


def _run_early(course: Course, lesson: str, student: str, slot: int, cells: dict[str, str], limits: Limits,
               sandboxed: bool, writer: int) -> None:
    adopt_sandbox(slot)
    report: dict[str, Any] = {}
    try:
        folder = course.submitted / student / lesson
        sources = _guessed_sources(folder / f"{lesson}.ipynb", cells)
        if sources is not None:
            files = {**submission_files(folder), **_course_files(course.source / lesson)}
            started = time.perf_counter()
            execution = execute_cells(sources, limits, files=files, sandboxed=sandboxed)
            report = {"digest": run_digest(sources, files), "execution": execution.to_json(),
                      "seconds": time.perf_counter() - started}
    except Exception:  # the worker runs the submission itself, and meets whatever this was
        report = {"error": traceback.format_exc()}
    finally:  # interrupted or not, no sandbox this process started outlives it
        report["sandbox"] = release_sandbox()
    data = json.dumps(report).encode()
    while data:
        data = data[os.write(writer, data):]
    os.close(writer)


def _locked_sources(course: Course, lesson: str) -> dict[str, str] | None:
    """The source of each locked cell of the lesson's notebook (its tests), by grade id, as the gradebook has it."""
    if not course.gradebook.is_file():
        return None
    try:
        uri = f"{course.gradebook.resolve().as_uri()}?mode=ro"
        with closing(sqlite3.connect(uri, uri=True, timeout=0)) as connection:  # never wait: guessing can give up
            rows = connection.execute(
                "SELECT source_cell.name, source_cell.source FROM source_cell "
                "JOIN notebook ON source_cell.notebook_id = notebook.id "
                "JOIN assignment ON notebook.assignment_id = assignment.id "
                "WHERE assignment.name = ? AND notebook.name = ? AND source_cell.locked", (lesson, lesson)).fetchall()
    except sqlite3.Error:  # busy, or of another nbgrader's making: the workers will read it with nbgrader
        return None
    return {name: source or "" for name, source in rows} or None


def _guessed_sources(path: Path, locked: dict[str, str]) -> list[str] | None:
    """The code cells nbgrader's ``OverwriteCells`` would leave in this notebook; ``None`` when unsure."""
    try:
        if path.is_symlink() or not path.is_file() or path.stat().st_size > NOTEBOOK_LIMIT:
            return None  # a FIFO, a link to /dev/zero: the worker reports them, nothing here waits on them
        notebook = json.loads(path.read_text())
        if notebook.get("nbformat") != 4:
            return None
        sources, seen = [], set()
        for cell in notebook["cells"]:
            grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
            if grade_id is not None:
                if grade_id in seen:  # nbgrader's DeduplicateIds would step in
                    return None
                seen.add(grade_id)
            if cell["cell_type"] != "code":
                continue
            source = cell["source"] if isinstance(cell["source"], str) else "".join(cell["source"])
            sources.append(locked.get(grade_id, source))
        return sources
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def _course_files(folder: Path) -> dict[str, str]:
    """The course's own files of a lesson that grading puts beside the notebook (not the notebooks)."""
    return {name: data for name, data in submission_files(folder).items() if not name.endswith(".ipynb")}


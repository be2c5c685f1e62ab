"""Benchmark: stock nbgrader against ``python -m autograder.grade``, same classes, same run.

    .venv/bin/python -m tests.benchmarks.grading_benchmark                  # both classes, side by side
    .venv/bin/python -m tests.benchmarks.grading_benchmark --scaling 30,100,300 --jobs 1,2

Two classes of one lesson, each graded on a copy by each tool:

- ``mixed``: full solutions, untouched notebooks, one student per mutant of the lesson, one
  whose answer hangs in an ``await`` and one whose answer calls ``os._exit``. The lesson is
  already in the gradebook (as after ``make release``); stock runs ``nbgrader autograde``
  and ``nbgrader generate_feedback``.
- ``honest``: 30 students, a third with full solutions, a third untouched, a third with
  the first half of the exercises solved, and a new gradebook; stock runs
  ``nbgrader generate_assignment`` first, as a teacher must.

Ours is the whole grading command, from start-up to the reports (feedback pages, the
summary, a report page per student). For each class it prints both times, the ratio,
our phases, the seconds per student, the peak memory of each tool's processes (the sum
of their resident sizes, sampled every 50 ms: forked workers share pages, so this is an
upper bound) and whether every submission stock graded has identical per-cell scores in
both gradebooks. ``--scaling`` grades honest classes of several sizes with ours alone,
at each ``--jobs``. It is a benchmark, not a test: the numbers depend on the machine.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import nbformat
import psutil
from nbgrader.api import Gradebook, MissingEntry

from autograder.cells import is_answer, nbgrader_meta
from tests.classroom import Classroom, Submission
from tests.conftest import REPOSITORY
from tests.mutants import MUTANTS

CELL_TIMEOUT = 5
LESSON = "01-async-iterator-protocol"


def mixed_class(folder: Path, lesson: str, solutions: int) -> list[str]:
    classroom = Classroom.create(folder, REPOSITORY)
    submissions = [Submission(f"solves-{i:02d}", lesson) for i in range(solutions)]
    submissions += [Submission(f"untouched-{i}", lesson, answered=False) for i in range(5)]
    submissions += [Submission(f"mutant-{i:02d}", lesson, mutant=m) for i, m in enumerate(MUTANTS) if m.lesson == lesson]
    submissions += [Submission("hangs", lesson), Submission("crashes", lesson)]
    for submission in submissions:
        classroom.submit(submission)
    for student, code in [("hangs", "import asyncio\nawait asyncio.get_running_loop().create_future()"),
                          ("crashes", "import os\nos._exit(1)")]:
        path = folder / "submitted" / student / lesson / f"{lesson}.ipynb"
        notebook = nbformat.read(path, as_version=4)
        next(cell for cell in notebook.cells if is_answer(cell)).source = code
        nbformat.write(notebook, path)
    return [s.student for s in submissions]


def honest_class(folder: Path, lesson: str, size: int) -> list[str]:
    """A third full solutions, a third untouched, a third with the first half of the exercises; no gradebook."""
    classroom = Classroom.create(folder, REPOSITORY)
    answers = [nbgrader_meta(c)["grade_id"] for c in nbformat.read(classroom.course.solution_notebook(lesson),
                                                                    as_version=4).cells if is_answer(c)]
    half = frozenset(answers[:max(1, len(answers) // 2)])
    kinds = [("solves", {}), ("untouched", {"answered": False}), ("half", {"only": half})]
    submissions = [Submission(f"{kinds[i % 3][0]}-{i:03d}", lesson, **kinds[i % 3][1]) for i in range(size)]
    for submission in submissions:
        classroom.submit(submission)
    (folder / "gradebook.db").unlink()
    return [s.student for s in submissions]


def scores(course: Path, lesson: str, students: list[str]) -> dict[str, dict[str, float]]:
    """Per-cell scores of every student with an autograded notebook (stock drops some)."""
    found = {}
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        for student in students:
            if not (course / "autograded" / student / lesson / f"{lesson}.ipynb").is_file():
                continue
            try:
                notebook = gradebook.find_submission_notebook(lesson, lesson, student)
            except MissingEntry:
                continue
            found[student] = {grade.name: grade.score for grade in notebook.grades}
    return found


class PeakMemory:
    """The largest sum of resident memory over a process and its descendants, sampled every 50 ms."""

    def __init__(self, process: subprocess.Popen) -> None:
        self.peak = 0
        self._root = psutil.Process(process.pid)
        self._thread = threading.Thread(target=self._sample, args=(process,), daemon=True)
        self._thread.start()

    def _sample(self, process: subprocess.Popen) -> None:
        while process.poll() is None:
            total = 0
            try:
                for member in [self._root, *self._root.children(recursive=True)]:
                    total += member.memory_info().rss
            except psutil.Error:
                pass
            self.peak = max(self.peak, total)
            time.sleep(0.05)

    def mib(self) -> float:
        self._thread.join()
        return self.peak / 2**20


@dataclass
class Run:
    seconds: float
    memory_mib: float
    stderr: str


def run(command: list[str], cwd: Path) -> Run:
    env = {**os.environ, "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ["PATH"]])}
    started = time.monotonic()
    process = subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    memory = PeakMemory(process)
    _, stderr = process.communicate()
    return Run(time.monotonic() - started, memory.mib(), stderr)


def nbgrader(*args: str) -> list[str]:
    return [sys.executable, "-m", "nbgrader", *args]


def ours(lesson: str, jobs: int | None = None) -> list[str]:
    return [sys.executable, "-m", "autograder.grade", lesson, "--cell-timeout", str(CELL_TIMEOUT),
            *(["--jobs", str(jobs)] if jobs else [])]


def our_phases(stderr: str) -> list[str]:
    """The grading command's own lines of elapsed time, as it printed them."""
    return [line.strip() for line in stderr.splitlines() if " s  " in line and not line.startswith("[")]


def compare(name: str, folder: Path, students: list[str], stock_steps: list[list[str]], lesson: str) -> bool:
    stock_dir, ours_dir = folder / "stock", folder / "ours"
    shutil.copytree(stock_dir, ours_dir)
    print(f"\n== {name} class: {len(students)} students, lesson {lesson}, cell limit {CELL_TIMEOUT} s ==", flush=True)
    stock_seconds, stock_memory = 0.0, 0.0
    for step in stock_steps:
        result = run(nbgrader(*step), stock_dir)
        stock_seconds += result.seconds
        stock_memory = max(stock_memory, result.memory_mib)
        print(f"  stock nbgrader {step[0]:20} {result.seconds:7.1f} s   peak memory {result.memory_mib:6.0f} MiB", flush=True)
    mine = run(ours(lesson), ours_dir)
    print(f"  stock nbgrader, total               {stock_seconds:7.1f} s   {stock_seconds / len(students):.2f} s per student")
    print(f"  autograder.grade, whole command     {mine.seconds:7.1f} s   {mine.seconds / len(students):.2f} s per student"
          f"   peak memory {mine.memory_mib:6.0f} MiB")
    for line in our_phases(mine.stderr):
        print(f"      {line}")
    hang = json.loads((ours_dir / ".grading" / f"{lesson}.seconds.json").read_text()).get("hangs")
    if hang:
        print(f"  the hanging student's run took {hang.get('early run', hang['execute']):.1f} s "
              f"(its limit: {CELL_TIMEOUT} s)")
    print(f"  ratio (stock / ours): {stock_seconds / mine.seconds:.1f}x")
    stock_scores, our_scores = scores(stock_dir, lesson, students), scores(ours_dir, lesson, students)
    lost = sorted(set(students) - set(stock_scores))
    differing = sorted(s for s in stock_scores if stock_scores[s] != our_scores.get(s))
    print(f"  lost by stock nbgrader: {', '.join(lost) or 'none'}; graded by ours: "
          f"{', '.join(s for s in lost if s in our_scores) or 'none'}")
    print(f"  identical scores on the {len(stock_scores)} submissions both graded: {not differing}"
          + (f" (differ: {', '.join(differing)})" if differing else ""), flush=True)
    return not differing and not set(students) - set(our_scores)


def scaling(sizes: list[int], jobs: list[int], lesson: str) -> None:
    print(f"\n== scaling: honest classes, lesson {lesson}, ours only ==")
    print(f"  {'students':>8} {'jobs':>4} {'seconds':>8} {'per student':>12} {'peak memory':>12}   phases (elapsed)")
    for size in sizes:
        with tempfile.TemporaryDirectory() as scratch:
            base = Path(scratch) / "base"
            honest_class(base, lesson, size)
            for count in jobs:
                course = Path(scratch) / f"jobs-{count}"
                shutil.copytree(base, course)
                result = run(ours(lesson, count), course)
                phases = "; ".join(line.split(" (")[0].split(";")[0] for line in our_phases(result.stderr))
                print(f"  {size:8d} {count:4d} {result.seconds:8.1f} {result.seconds / size:11.3f}s "
                      f"{result.memory_mib:9.0f} MiB   {phases}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lesson", default=LESSON)
    parser.add_argument("--solutions", type=int, default=12, help="students of the mixed class with full solutions")
    parser.add_argument("--honest", type=int, default=30, help="students of the honest class")
    parser.add_argument("--scaling", help="instead: class sizes to grade with ours alone, e.g. 30,100,300")
    parser.add_argument("--jobs", default="1,2", help="with --scaling: the --jobs values to try")
    args = parser.parse_args()
    print(f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"{psutil.virtual_memory().total / 2**30:.0f} GiB, Python {platform.python_version()}")
    if args.scaling:
        scaling([int(n) for n in args.scaling.split(",")], [int(j) for j in args.jobs.split(",")], args.lesson)
        return
    with tempfile.TemporaryDirectory() as scratch:
        mixed = Path(scratch) / "mixed"
        students = mixed_class(mixed / "stock", args.lesson, args.solutions)
        ok = compare("mixed", mixed, students, [
            ["autograde", args.lesson, f"--Execute.timeout={CELL_TIMEOUT}"],
            ["generate_feedback", args.lesson]], args.lesson)
        honest = Path(scratch) / "honest"
        students = honest_class(honest / "stock", args.lesson, args.honest)
        ok &= compare("honest", honest, students, [
            ["generate_assignment", args.lesson, "--force"],
            ["autograde", args.lesson, f"--Execute.timeout={CELL_TIMEOUT}"],
            ["generate_feedback", args.lesson]], args.lesson)
    if not ok:
        sys.exit(1)


if __name__ == "__main__":
    main()

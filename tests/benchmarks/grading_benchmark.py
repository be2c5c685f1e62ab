"""Benchmark: stock ``nbgrader autograde`` against ``python -m autograder.grade``, same class.

    .venv/bin/python -m tests.benchmarks.grading_benchmark [--lesson L] [--solutions N]

Builds a synthetic class (full solutions, untouched notebooks, one student per mutant,
one whose answer hangs in an ``await``, one whose answer calls ``os._exit``), grades a
copy with each tool on this machine, prints both times and the throughput ratio, and
checks that every submission stock nbgrader graded has identical per-cell scores in
both gradebooks. It is a benchmark, not a test: the numbers depend on the machine.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbgrader.api import Gradebook, MissingEntry

from autograder.cells import is_answer
from autograder.nbgrader_cli import run_nbgrader
from tests.classroom import Classroom, Submission
from tests.conftest import REPOSITORY
from tests.mutants import MUTANTS

CELL_TIMEOUT = 5


def build_class(folder: Path, lesson: str, solutions: int) -> list[str]:
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


def scores(course: Path, lesson: str, students: list[str]) -> dict[str, dict[str, float]]:
    """Per-cell scores of every student with an autograded notebook (stock drops some)."""
    found = {}
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        for student in students:
            if not (course / "autograded" / student / lesson).is_dir():
                continue
            try:
                notebook = gradebook.find_submission_notebook(lesson, lesson, student)
            except MissingEntry:
                continue
            found[student] = {grade.name: grade.score for grade in notebook.grades}
    return found


def timed(label: str, command) -> float:
    started = time.monotonic()
    command()
    elapsed = time.monotonic() - started
    print(f"{label:28} {elapsed:7.1f} s", flush=True)
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lesson", default="01-async-iterator-protocol")
    parser.add_argument("--solutions", type=int, default=12, help="students who submit the full solution")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        stock, ours_dir = Path(scratch) / "stock", Path(scratch) / "ours"
        students = build_class(stock, args.lesson, args.solutions)
        shutil.copytree(stock, ours_dir)
        print(f"{len(students)} students, lesson {args.lesson}, cell timeout {CELL_TIMEOUT} s, "
              f"2 cores", flush=True)
        stock_grading = timed("stock nbgrader autograde", lambda: run_nbgrader(
            "autograde", args.lesson, f"--Execute.timeout={CELL_TIMEOUT}", course=stock, check=False))
        stock_feedback = timed("stock generate_feedback", lambda: run_nbgrader(
            "generate_feedback", args.lesson, course=stock, check=False))
        started = time.monotonic()
        ours: subprocess.CompletedProcess = subprocess.run(
            [sys.executable, "-m", "autograder.grade", args.lesson, "--cell-timeout", str(CELL_TIMEOUT)],
            cwd=ours_dir, check=True, capture_output=True, text=True)
        our_command = time.monotonic() - started
        phases = {line.split(" s  ")[1]: float(line.split(" s  ")[0]) for line in ours.stderr.splitlines() if " s  " in line}
        our_grading = phases["scored by nbgrader autograde"]
        our_total = phases["feedback by nbgrader generate_feedback"]
        print(f"{'autograder.grade, scored':28} {our_grading:7.1f} s")
        print(f"{'autograder.grade, +feedback':28} {our_total:7.1f} s")
        print(f"throughput ratio, grading     {stock_grading / our_grading:7.1f}x")
        print(f"throughput ratio, +feedback   {(stock_grading + stock_feedback) / our_total:7.1f}x")
        print(f"{'autograder.grade, whole':28} {our_command:7.1f} s  (start-up, sandbox check and reports included)")
        print(f"throughput ratio, whole       {(stock_grading + stock_feedback) / our_command:7.1f}x")
        print(f"per submission: stock {stock_grading / len(students):.2f} s, ours {our_grading / len(students):.2f} s "
              f"(grading only)")
        stock_scores, our_scores = scores(stock, args.lesson, students), scores(ours_dir, args.lesson, students)
        lost = sorted(set(students) - set(stock_scores))
        differing = sorted(s for s in stock_scores if stock_scores[s] != our_scores.get(s))
        print(f"lost by stock nbgrader: {', '.join(lost) or 'none'}; graded by ours: "
              f"{', '.join(s for s in lost if s in our_scores) or 'none'}")
        print(f"identical scores on the {len(stock_scores)} submissions both graded: {not differing}"
              + (f" (differ: {', '.join(differing)})" if differing else ""))
        if differing or set(students) - set(our_scores):
            sys.exit(1)


if __name__ == "__main__":
    main()

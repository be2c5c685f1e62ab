"""A throw-away nbgrader course with synthetic students, graded by real nbgrader.

A student's submission starts from the generated student notebook, as a real
student's does, with the answer cells filled in: the instructor's solution, the
solution with one mutant applied, or nothing (the untouched stubs).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbformat import NotebookNode
from nbgrader.api import Gradebook

from autograder.cells import is_answer, nbgrader_meta
from autograder.course import CONFIG_FILE, Course
from autograder.nbgrader_cli import run_nbgrader
from autograder.release import generate_release
from tests.mutants import Mutant

SOLUTION_MARKERS = ("### BEGIN SOLUTION", "### END SOLUTION")


def answer_from_solution(source: str) -> str:
    """What a student who found the solution would have typed: the code, no markers."""
    return "\n".join(line for line in source.splitlines() if line.strip() not in SOLUTION_MARKERS)


@dataclass(frozen=True)
class Submission:
    student: str
    lesson: str
    mutant: Mutant | None = None
    answered: bool = True
    only: frozenset[str] | None = None  # answer only these cells (grade_ids); None: every answer cell


@dataclass(frozen=True)
class Classroom:
    course: Course

    @classmethod
    def create(cls, folder: Path, repository: Course) -> Classroom:
        """A course in ``folder`` with the repository's config and solutions, released."""
        folder.mkdir(parents=True, exist_ok=True)
        shutil.copy(repository.root / CONFIG_FILE, folder / CONFIG_FILE)
        shutil.copytree(repository.source, folder / repository.source.name)
        course = Course.at(folder)
        generate_release(course)
        return cls(course)

    def submit(self, submission: Submission) -> None:
        notebook = nbformat.read(self.course.student_notebook(submission.lesson), as_version=4)
        if submission.answered:
            solution = nbformat.read(self.course.solution_notebook(submission.lesson), as_version=4)
            answers = {nbgrader_meta(cell)["grade_id"]: cell.source for cell in solution.cells if is_answer(cell)}
            for cell in filter(is_answer, notebook.cells):
                grade_id = nbgrader_meta(cell)["grade_id"]
                if submission.only is not None and grade_id not in submission.only:
                    continue
                source = answers[grade_id]
                if submission.mutant is not None and submission.mutant.cell == grade_id:
                    source = submission.mutant.apply(source)
                cell.source = answer_from_solution(source)
        target = self.course.root / "submitted" / submission.student / submission.lesson
        target.mkdir(parents=True, exist_ok=True)
        nbformat.write(notebook, target / f"{submission.lesson}.ipynb")

    def autograde(self, submissions: Iterable[Submission]) -> None:
        for submission in submissions:
            self.submit(submission)
        run_nbgrader("autograde", "*", course=self.course.root)

    def scores(self, student: str, lesson: str) -> dict[str, tuple[float, float]]:
        """Each test cell's (score, max_score) for one student's notebook."""
        with Gradebook(f"sqlite:///{self.course.root / 'gradebook.db'}") as gradebook:
            notebook = gradebook.find_submission_notebook(lesson, lesson, student)
            return {grade.name: (grade.score, grade.max_score) for grade in notebook.grades}

    def autograded_notebook(self, student: str, lesson: str) -> NotebookNode:
        path = self.course.root / "autograded" / student / lesson / f"{lesson}.ipynb"
        return nbformat.read(path, as_version=4)

"""Fixtures shared by the test suite: the repository's course and a graded class."""

from __future__ import annotations

from pathlib import Path

import pytest

from autograder.course import Course
from tests.classroom import Classroom, Submission
from tests.mutants import MUTANTS, Mutant

REPOSITORY = Course.at(Path(__file__).resolve().parent.parent)


def mutant_student(mutant: Mutant) -> str:
    return f"mutant-{MUTANTS.index(mutant):02d}"


@pytest.fixture(scope="session")
def course() -> Course:
    return REPOSITORY


@pytest.fixture(scope="session")
def classroom(tmp_path_factory: pytest.TempPathFactory) -> Classroom:
    """Every lesson submitted by a model student, an idle one and one per mutant, then autograded."""
    classroom = Classroom.create(tmp_path_factory.mktemp("course"), REPOSITORY)
    submissions = [Submission("solutions", lesson) for lesson in REPOSITORY.lessons()]
    submissions += [Submission("untouched", lesson, answered=False) for lesson in REPOSITORY.lessons()]
    submissions += [Submission(mutant_student(m), m.lesson, mutant=m) for m in MUTANTS]
    classroom.autograde(submissions)
    return classroom

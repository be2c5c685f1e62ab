"""The grading is right: real nbgrader, real kernels, a class of synthetic students."""

from __future__ import annotations

import asyncio

import nbformat
import pytest

from autograder.cells import exercises, is_test, nbgrader_meta
from autograder.checks import ExerciseFailure, exercise
from autograder.course import Course
from autograder.release import release_differences
from tests.classroom import Classroom
from tests.conftest import REPOSITORY, mutant_student
from tests.mutants import MUTANTS, Mutant

LESSONS = REPOSITORY.lessons()


def solution_notebook(lesson: str) -> nbformat.NotebookNode:
    return nbformat.read(REPOSITORY.solution_notebook(lesson), as_version=4)


def errors(cell: nbformat.NotebookNode) -> list[nbformat.NotebookNode]:
    return [output for output in cell.get("outputs", []) if output.output_type == "error"]


@pytest.mark.parametrize("lesson", LESSONS)
def test_solutions_score_full_marks(classroom: Classroom, lesson: str) -> None:
    scores = classroom.scores("solutions", lesson)
    assert scores, f"{lesson} has no graded cells"
    lost = {name: score for name, score in scores.items() if score[0] != score[1]}
    assert not lost, f"the solutions of {lesson} lose points in {lost}"


@pytest.mark.parametrize("lesson", LESSONS)
def test_untouched_notebook_scores_zero(classroom: Classroom, lesson: str) -> None:
    scores = classroom.scores("untouched", lesson)
    scored = {name: score for name, score in scores.items() if score[0] != 0}
    assert not scored, f"the untouched {lesson} scores points in {scored}"


@pytest.mark.parametrize("lesson", LESSONS)
def test_untouched_notebook_fails_only_in_tests_with_clear_messages(classroom: Classroom, lesson: str) -> None:
    """Runs top to bottom; each test cell fails saying which stub to write, nothing else fails."""
    notebook = classroom.autograded_notebook("untouched", lesson)
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        failures = errors(cell)
        if is_test(cell):
            grade_id = nbgrader_meta(cell)["grade_id"]
            assert len(failures) == 1, f"test cell {grade_id} of the untouched {lesson} did not fail"
            failure = failures[0]
            assert failure.ename == "ExerciseFailure", f"{grade_id}: {failure.ename}: {failure.evalue}"
            assert "is not written yet" in failure.evalue, f"{grade_id}: {failure.evalue}"
        elif "raises-exception" not in cell.metadata.get("tags", []):
            assert not failures, f"a cell of the untouched {lesson} failed: {failures[0].ename}"


@pytest.mark.parametrize("mutant", MUTANTS, ids=[m.id for m in MUTANTS])
def test_mutant_loses_its_exercise_points(classroom: Classroom, mutant: Mutant) -> None:
    scores = classroom.scores(mutant_student(mutant), mutant.lesson)
    tests_of = exercises(solution_notebook(mutant.lesson))
    own_tests = tests_of[mutant.cell]
    earned = sum(scores[name][0] for name in own_tests)
    possible = sum(scores[name][1] for name in own_tests)
    assert earned < possible, f"mutant '{mutant.name}' of {mutant.cell} still scores {earned}/{possible}"
    others = {name: score for name, score in scores.items() if name not in own_tests and score[0] != score[1]}
    assert not others, f"mutant '{mutant.name}' of {mutant.cell} also loses points in {others}"


@pytest.mark.parametrize("lesson", LESSONS)
def test_every_exercise_has_tests_hidden_tests_and_four_mutants(lesson: str) -> None:
    notebook = solution_notebook(lesson)
    test_sources = {nbgrader_meta(c)["grade_id"]: c.source for c in notebook.cells if is_test(c)}
    for exercise, tests in exercises(notebook).items():
        assert tests, f"exercise {exercise} of {lesson} has no test cell"
        for name in tests:
            visible, _, hidden = test_sources[name].partition("### BEGIN HIDDEN TESTS")
            assert "assert" in visible, f"test cell {name} has no visible test"
            assert "assert" in hidden, f"test cell {name} has no hidden test"
        mutants = [m for m in MUTANTS if (m.lesson, m.cell) == (lesson, exercise)]
        assert len(mutants) >= 4, f"exercise {exercise} of {lesson} has {len(mutants)} mutants, fewer than 4"


def test_release_matches_solutions(course: Course) -> None:
    assert release_differences(course) == [], "notebooks/ is out of date: run `make release`"


def test_a_spinning_answer_is_stopped_with_a_message(classroom: Classroom) -> None:
    """`while True: pass` never lets the loop run; the test's real-time limit stops it."""
    spinning = next(m for m in MUTANTS if m.name == "spins forever instead of awaiting")
    notebook = classroom.autograded_notebook(mutant_student(spinning), spinning.lesson)
    messages = [output.evalue for cell in notebook.cells if is_test(cell) for output in errors(cell)]
    assert messages and "was stopped after 10 s of real time" in messages[0], messages


@pytest.mark.parametrize("error, clue", [
    (BaseExceptionGroup("group", [GeneratorExit()]), "GeneratorExit is what `aclose()` raises"),
    (ExceptionGroup("group", [KeyError("k")]), "A TaskGroup collects the errors of its tasks"),
    (asyncio.CancelledError(), "although the test cancelled nothing"),
    (GeneratorExit(), "a GeneratorExit reached the test"),
], ids=["GeneratorExit in a group", "ExceptionGroup", "CancelledError", "GeneratorExit"])
def test_exercise_explains_asyncio_errors_in_plain_words(error: BaseException, clue: str) -> None:
    """And leaves no exception group in the failure's context, which IPython would not show as an error."""
    async def failing_test_cell() -> None:
        async with exercise("demo"):
            raise error

    with pytest.raises(ExerciseFailure) as failure:
        asyncio.run(failing_test_cell())
    assert clue in str(failure.value)
    assert failure.value.__context__ is None

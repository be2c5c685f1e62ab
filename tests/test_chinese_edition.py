"""The Chinese edition graded like the English one: same code, same scores; messages in Chinese.

Real nbgrader on a throw-away copy of the Chinese course (``zh_CN/``), with the same
synthetic students as the English classroom, and the teacher's grading command on it.
The language of every message comes from the notebook's metadata, never from the locale.
"""

from __future__ import annotations

import csv
import html
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from autograder.cells import is_test
from autograder.i18n.editions import editions
from autograder.checks import not_written_yet
from autograder.feedback import HIDDEN_NOTE
from autograder.language import _, notebook_language, speaking, translate_message
from tests.classroom import Classroom, Submission
from tests.conftest import REPOSITORY, mutant_student
from tests.mutants import MUTANTS
from tests.test_grade_command import EDITS, grade_command, submitted_notebook

EDITION = next(edition for edition in editions(REPOSITORY) if edition.language == "zh_CN")
CHINESE = re.compile(r"[\u4e00-\u9fff]")
CHINESE_RUN = re.compile(r"[\u4e00-\u9fff]+")
#: One mutant per exercise: enough to see that a wrong answer loses the same points in both editions.
SAMPLED = list({(m.lesson, m.cell): m for m in reversed(MUTANTS)}.values())
LESSON = "00-running-async-in-jupyter"


@pytest.fixture(scope="module")
def zh_classroom(tmp_path_factory: pytest.TempPathFactory) -> Classroom:
    classroom = Classroom.create(tmp_path_factory.mktemp("zh-course"), EDITION.course)
    submissions = [Submission("solutions", lesson) for lesson in EDITION.course.lessons()]
    submissions += [Submission("untouched", lesson, answered=False) for lesson in EDITION.course.lessons()]
    submissions += [Submission(mutant_student(m), m.lesson, mutant=m) for m in SAMPLED]
    classroom.autograde(submissions)
    return classroom


def failures(notebook: nbformat.NotebookNode) -> dict[str, str]:
    """Each failed test cell's message, by the test's grade_id."""
    return {cell.metadata["nbgrader"]["grade_id"]: output.evalue
            for cell in filter(is_test, notebook.cells)
            for output in cell.get("outputs", []) if output.output_type == "error"}


@pytest.mark.parametrize("student, lesson", [("solutions", lesson) for lesson in REPOSITORY.lessons()]
                         + [("untouched", lesson) for lesson in REPOSITORY.lessons()]
                         + [(mutant_student(m), m.lesson) for m in SAMPLED],
                         ids=lambda value: value)
def test_the_same_code_scores_the_same_in_both_editions(classroom: Classroom, zh_classroom: Classroom,
                                                       student: str, lesson: str) -> None:
    english = classroom.scores(student, lesson)
    assert english, f"{student} has no scores for {lesson}"
    assert zh_classroom.scores(student, lesson) == english


@pytest.mark.parametrize("lesson", REPOSITORY.lessons())
def test_an_untouched_chinese_notebook_gets_the_stub_message_in_chinese(classroom: Classroom,
                                                                       zh_classroom: Classroom,
                                                                       lesson: str) -> None:
    english = failures(classroom.autograded_notebook("untouched", lesson))
    chinese = failures(zh_classroom.autograded_notebook("untouched", lesson))
    assert english and chinese.keys() == english.keys()
    with speaking("zh-CN"):
        expected = {test: translate_message(message) for test, message in english.items()}
    assert chinese == expected
    assert all(CHINESE.search(message) for message in chinese.values()), chinese


@pytest.mark.parametrize("mutant", SAMPLED, ids=[m.id for m in SAMPLED])
def test_a_wrong_chinese_answer_is_told_why_in_chinese(zh_classroom: Classroom, mutant) -> None:
    found = failures(zh_classroom.autograded_notebook(mutant_student(mutant), mutant.lesson))
    assert found, f"mutant '{mutant.name}' failed no test"
    english_only = {test: message for test, message in found.items() if not CHINESE.search(message)}
    assert not english_only, english_only


@pytest.fixture(scope="module")
def zh_graded(tmp_path_factory: pytest.TempPathFactory) -> Classroom:
    """The teacher's grading command, as in test_grade_command, on the Chinese course."""
    classroom = Classroom.create(tmp_path_factory.mktemp("zh-class"), EDITION.course)
    classroom.submit(Submission("solves", LESSON))
    classroom.submit(Submission("untouched", LESSON, answered=False))
    for student in ("hangs", "crashes", "deletes-tests"):
        classroom.submit(Submission(student, LESSON))
        path = submitted_notebook(classroom, student)
        notebook = nbformat.read(path, as_version=4)
        EDITS[student](notebook)
        nbformat.write(notebook, path)
    grade_command(classroom.course.root, "--jobs", "2")
    return classroom


def test_the_grading_command_grades_the_chinese_edition(zh_graded: Classroom) -> None:
    with (zh_graded.course.root / "reports" / LESSON / "grades.csv").open() as file:
        scores = {row["student"]: row["score"] for row in csv.DictReader(file)}
    assert scores == {"solves": "2.0", "untouched": "0.0", "hangs": "0.0", "crashes": "0.0", "deletes-tests": "0.0"}


@pytest.mark.parametrize("student, clue", [
    ("hangs", "ran past 3 s and was stopped"),
    ("crashes", "the kernel died while running this cell (exit code 1)"),
    ("deletes-tests", "test cell timed-tests was deleted (it scores 0)"),
])
def test_the_chinese_students_page_speaks_chinese(zh_graded: Classroom, student: str, clue: str) -> None:
    root = zh_graded.course.root
    with (root / "reports" / LESSON / "grades.csv").open() as file:
        problems = next(row["problems"] for row in csv.DictReader(file) if row["student"] == student)
    problem = next(line for line in problems.split("; ") if clue in line)  # the teacher's files stay in English
    page = (root / "feedback" / student / LESSON / "report.html").read_text()
    assert "<html lang='zh-CN'>" in page
    with speaking("zh-CN"):
        shown, heading = translate_message(problem), _("What happened")
    assert shown != problem and CHINESE.search(shown) and CHINESE.search(heading)
    assert html.escape(shown, quote=True) in page and html.escape(heading) in page


def _first_chinese(text: str) -> str:
    found = CHINESE_RUN.search(text)
    assert found, f"no Chinese in {text!r}"
    return found.group(0)


def test_the_graders_own_messages_are_in_chinese_in_the_feedback(zh_graded: Classroom) -> None:
    """A cell stopped at its time limit says so in Chinese; the feedback page's stub message and hidden-test note too."""
    notebook = zh_graded.autograded_notebook("hangs", LESSON)
    stopped = [o for c in notebook.cells for o in c.get("outputs", []) if o.get("ename") == "CellTimeoutError"]
    assert len(stopped) == 1 and CHINESE.search(stopped[0].evalue), stopped
    feedback = (zh_graded.course.root / "feedback" / "untouched" / LESSON / f"{LESSON}.html").read_text()
    with speaking("zh-CN"):
        stub = not_written_yet("`timed`")
        note = _(HIDDEN_NOTE)
    assert _first_chinese(stub) in feedback
    assert _first_chinese(note) in feedback


def _language_in(folder: Path, env: dict[str, str]) -> str:
    """What a kernel started in ``folder`` would speak, in a fresh interpreter."""
    code = "from autograder.language import current_language; print(current_language())"
    return subprocess.run([sys.executable, "-c", code], cwd=folder, env=env, capture_output=True, text=True,
                          check=True).stdout.strip()


def test_the_language_is_the_notebooks_not_the_machines(tmp_path: Path) -> None:
    english = tmp_path / "english"
    chinese = tmp_path / "chinese"
    for folder, lang in ((english, None), (chinese, "zh-CN")):
        folder.mkdir()
        notebook = nbformat.v4.new_notebook()
        if lang:
            notebook.metadata["lang"] = lang
        nbformat.write(notebook, folder / "lesson.ipynb")
    base = {key: value for key, value in os.environ.items() if not key.startswith(("LANG", "LC_", "JPY_"))}
    chinese_locale = {**base, "LANG": "zh_CN.UTF-8", "LC_ALL": "zh_CN.UTF-8", "LANGUAGE": "zh_CN"}
    assert _language_in(english, chinese_locale) == "en"
    assert _language_in(chinese, {**base, "LANG": "en_US.UTF-8"}) == "zh-CN"
    # In JupyterLab, the kernel's session names its notebook, wherever the kernel started.
    session = {**base, "JPY_SESSION_NAME": str(chinese / "lesson.ipynb")}
    assert _language_in(tmp_path, session) == "zh-CN"
    assert notebook_language(json.loads((chinese / "lesson.ipynb").read_text())) == "zh-CN"


def test_one_chinese_mistake_with_different_values_is_one_message() -> None:
    from autograder.report import common_form
    with speaking("zh-CN"):
        one, other = (_("{what}: expected {expected}, got {actual}.").format(
            what="timed(…)", expected="(42, 2.5)", actual=value) for value in ("None", "(42, 0.0)"))
    assert CHINESE.search(one) and one != other
    assert common_form("ExerciseFailure", one) == common_form("ExerciseFailure", other)
    assert common_form("ExerciseFailure", one) != common_form("ExerciseFailure", one.replace("(42, 2.5)", "(1, 1.0)"))

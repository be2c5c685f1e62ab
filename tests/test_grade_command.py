"""The teacher's grading command on a class where everything that can go wrong does.

Real nbgrader, real submissions built from the student notebooks, and the command
run as a teacher runs it: ``python -m autograder.grade LESSON --zip ...``.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import nbformat
import pytest
from nbgrader.api import Gradebook

from autograder.cells import is_answer, is_test, nbgrader_meta
from autograder.nbgrader_cli import run_nbgrader
from tests.classroom import Classroom, Submission
from tests.conftest import REPOSITORY

LESSON = "00-running-async-in-jupyter"
CELL_TIMEOUT = "3"


def grade_command(course: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "autograder.grade", LESSON, "--cell-timeout", CELL_TIMEOUT, *args],
        cwd=course, capture_output=True, text=True, check=True,
    )


def submitted_notebook(classroom: Classroom, student: str) -> Path:
    return classroom.course.root / "submitted" / student / LESSON / f"{LESSON}.ipynb"


def with_answer(code: str):
    def edit(notebook: nbformat.NotebookNode) -> None:
        for cell in filter(is_answer, notebook.cells):
            cell.source = code
    return edit


def without_tests(notebook: nbformat.NotebookNode) -> None:
    notebook.cells = [cell for cell in notebook.cells if not is_test(cell)]


def with_tests_replaced(notebook: nbformat.NotebookNode) -> None:
    for cell in filter(is_test, notebook.cells):
        cell.source = "pass  # all good, trust me"


EDITS = {
    "hangs": with_answer("import asyncio\nawait asyncio.get_running_loop().create_future()"),
    "spins": with_answer("while True:\n    pass"),
    "crashes": with_answer("import os\nos._exit(1)"),
    "deletes-tests": without_tests,
    "edits-tests": with_tests_replaced,
}


def fingerprint(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def graded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Classroom, subprocess.CompletedProcess, dict]:
    classroom = Classroom.create(tmp_path_factory.mktemp("class"), REPOSITORY)
    root = classroom.course.root
    classroom.submit(Submission("solves", LESSON))
    classroom.submit(Submission("untouched", LESSON, answered=False))
    for student, edit in EDITS.items():
        classroom.submit(Submission(student, LESSON))
        path = submitted_notebook(classroom, student)
        notebook = nbformat.read(path, as_version=4)
        edit(notebook)
        nbformat.write(notebook, path)
    classroom.submit(Submission("fakes-tests", LESSON, answered=False))  # tests replaced, nothing answered
    path = submitted_notebook(classroom, "fakes-tests")
    notebook = nbformat.read(path, as_version=4)
    with_tests_replaced(notebook)
    nbformat.write(notebook, path)
    for student in ("malformed", "missing", "renamed"):
        classroom.submit(Submission(student, LESSON))
    submitted_notebook(classroom, "malformed").write_text("{ this is not a notebook")
    submitted_notebook(classroom, "missing").unlink()
    submitted_notebook(classroom, "renamed").rename(submitted_notebook(classroom, "renamed").with_name("Copy.ipynb"))
    # One more student arrives in an LMS zip, as <student>/<notebook>.ipynb.
    classroom.submit(Submission("from-zip", LESSON))
    archive = root / "lms-download.zip"
    with zipfile.ZipFile(archive, "w") as bundle:
        bundle.write(submitted_notebook(classroom, "from-zip"), f"from-zip/{LESSON}.ipynb")
    submitted_notebook(classroom, "from-zip").unlink()
    before = fingerprint(root / "submitted")
    shutil.copytree(root, stock_copy(classroom))  # the class as it was handed in, for stock nbgrader
    return classroom, grade_command(root, "--zip", str(archive), "--jobs", "2"), before


def stock_copy(classroom: Classroom) -> Path:
    return classroom.course.root.parent / f"{classroom.course.root.name}-stock"


def grades(classroom: Classroom) -> dict[str, dict[str, str]]:
    with (classroom.course.root / "reports" / LESSON / "grades.csv").open() as file:
        return {row["student"]: row for row in csv.DictReader(file)}


def test_every_student_gets_a_row_with_the_right_score(graded) -> None:
    classroom, _, _ = graded
    scores = {student: row["score"] for student, row in grades(classroom).items()}
    assert scores == {
        "solves": "2.0", "from-zip": "2.0", "edits-tests": "2.0", "untouched": "0.0", "hangs": "0.0",
        "spins": "0.0", "crashes": "0.0", "deletes-tests": "0.0", "malformed": "0.0", "missing": "0.0",
        "renamed": "0.0", "fakes-tests": "0.0",
    }


@pytest.mark.parametrize("student, problem", [
    ("hangs", "ran past 3 s and was stopped"),
    ("spins", "ran past 3 s and was stopped"),
    ("crashes", "the kernel died while running this cell (exit code 1)"),
    ("deletes-tests", "test cell timed-tests was deleted"),
    ("edits-tests", "test cell timed-tests was edited (nbgrader restores it from the source)"),
    ("malformed", "malformed notebook"),
    ("missing", f"missing notebook {LESSON}.ipynb"),
    ("renamed", "found Copy.ipynb (renamed?)"),
])
def test_each_problem_is_reported_by_name(graded, student: str, problem: str) -> None:
    classroom, _, _ = graded
    assert problem in grades(classroom)[student]["problems"]
    assert problem in (classroom.course.root / "reports" / LESSON / "summary.md").read_text()
    page = (classroom.course.root / "feedback" / student / LESSON / "report.html").read_text()
    assert problem.replace("(", "").split()[0] in page


@pytest.mark.parametrize("student, next_time", [
    ("hangs", "Restart Kernel and Run All Cells"),
    ("spins", "Restart Kernel and Run All Cells"),
    ("crashes", "Python itself stopped while running a cell"),
    ("deletes-tests", "leave the test cells where they are"),
    ("edits-tests", "your changes to it did not count"),
    ("malformed", "could not be read as a notebook"),
    ("missing", "hand in the notebook under the name it had when you got it"),
    ("renamed", "hand in the notebook under the name it had when you got it"),
])
def test_each_problem_says_what_to_do_next_time(graded, student: str, next_time: str) -> None:
    classroom, _, _ = graded
    page = (classroom.course.root / "feedback" / student / LESSON / "report.html").read_text()
    assert next_time in page


def test_scores_are_in_nbgraders_gradebook_and_feedback(graded) -> None:
    classroom, _, _ = graded
    for student in ("solves", "hangs", "spins", "crashes"):
        assert (classroom.course.root / "feedback" / student / LESSON / f"{LESSON}.html").is_file(), student
    assert classroom.scores("solves", LESSON) == {"timed-tests": (2.0, 2.0)}
    assert classroom.scores("hangs", LESSON) == {"timed-tests": (0.0, 2.0)}


def test_a_hanging_cell_costs_only_itself(graded) -> None:
    """After the hung answer cell times out, the cells after it still ran."""
    classroom, _, _ = graded
    notebook = classroom.autograded_notebook("hangs", LESSON)
    timed_out = [c for c in notebook.cells if any(o.get("ename") == "CellTimeoutError" for o in c.get("outputs", []))]
    assert len(timed_out) == 1
    test_cell = next(c for c in notebook.cells if is_test(c))
    assert test_cell.execution_count is not None and test_cell.outputs, "the test cell after the hang did not run"


def test_summary_plot_and_untouched_submissions(graded) -> None:
    classroom, _, before = graded
    reports = classroom.course.root / "reports" / LESSON
    assert (reports / "pass-rates.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (reports / "scores.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "<td class='num'>25%</td>" in (reports / "summary.html").read_text()  # 3 of 12
    assert "| `timed` | 2 | 25% |" in (reports / "summary.md").read_text()
    after = fingerprint(classroom.course.root / "submitted")
    assert {k: v for k, v in after.items() if not k.startswith("from-zip")} == before


def test_running_again_skips_what_is_graded(graded) -> None:
    classroom, _, _ = graded
    rows = grades(classroom)
    again = grade_command(classroom.course.root)
    assert "graded 0 submissions" in again.stderr
    assert grades(classroom) == rows


def test_without_bubblewrap_it_refuses_and_says_how_to_install_it(graded) -> None:
    classroom, _, _ = graded
    venv_bin = str(Path(sys.executable).parent)
    refused = subprocess.run(
        [sys.executable, "-m", "autograder.grade", LESSON, "--regrade"],
        cwd=classroom.course.root, capture_output=True, text=True, env={"PATH": venv_bin},
    )
    assert refused.returncode != 0
    assert "Refusing to run students' code without a sandbox" in refused.stderr
    assert "apt-get install bubblewrap" in refused.stderr and "--no-sandbox" in refused.stderr


def hidden_only_names(lesson: str) -> set[str]:
    """Names that occur in the lesson's hidden tests and nowhere in what students are given."""
    solution = nbformat.read(REPOSITORY.solution_notebook(lesson), as_version=4)
    hidden, visible = "", nbformat.read(REPOSITORY.student_notebook(lesson), as_version=4)
    for cell in filter(is_test, solution.cells):
        if "### BEGIN HIDDEN TESTS" in cell.source:
            hidden += cell.source.split("### BEGIN HIDDEN TESTS")[1].split("### END HIDDEN TESTS")[0]
    given = " ".join(cell.source for cell in visible.cells)
    return {name for name in re.findall(r"[A-Za-z_]{6,}", hidden) if name not in given}


def test_feedback_shows_failures_but_not_the_hidden_tests(graded) -> None:
    classroom, _, _ = graded
    secret = hidden_only_names(LESSON)
    assert secret, "the lesson's hidden tests use no name of their own: this test would prove nothing"
    for student in ("solves", "untouched", "hangs", "crashes"):
        page = (classroom.course.root / "feedback" / student / LESSON / f"{LESSON}.html").read_text()
        assert not {name for name in secret if name in page}, student
    untouched = (classroom.course.root / "feedback" / "untouched" / LESSON / f"{LESSON}.html").read_text()
    assert "is not written yet" in untouched


def test_late_submissions_are_penalised_as_stock_nbgrader_penalises_them(tmp_path: Path) -> None:
    """The command's own calls into nbgrader's late-penalty and kernelspec steps agree with ``nbgrader autograde``."""
    classroom = Classroom.create(tmp_path / "ours", REPOSITORY)
    root = classroom.course.root
    with (root / "nbgrader_config.py").open("a") as config:
        config.write("\nc.LateSubmissionPlugin.penalty_method = 'zero'\n")
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gradebook:
        gradebook.update_or_create_assignment(LESSON, duedate="2026-01-10 12:00:00")
    for student, handed_in in [("on-time", "2026-01-10 11:00:00"), ("late", "2026-01-11 12:00:00")]:
        classroom.submit(Submission(student, LESSON))
        (root / "submitted" / student / LESSON / "timestamp.txt").write_text(handed_in)
        path = submitted_notebook(classroom, student)
        notebook = nbformat.read(path, as_version=4)
        notebook.metadata["kernelspec"] = {"name": "not-python", "display_name": "edited", "language": "none"}
        nbformat.write(notebook, path)
    stock = tmp_path / "stock"
    shutil.copytree(root, stock)
    run_nbgrader("autograde", LESSON, course=stock)
    grade_command(root)

    def results(course: Path) -> dict[str, tuple]:
        with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
            found = {}
            for student in ("on-time", "late"):
                notebook = gradebook.find_submission_notebook(LESSON, LESSON, student)
                graded = nbformat.read(course / "autograded" / student / LESSON / f"{LESSON}.ipynb", as_version=4)
                found[student] = (notebook.score, notebook.late_submission_penalty, graded.metadata.kernelspec)
            return found

    ours = results(root)
    assert ours["late"][1] == ours["late"][0] > 0, "the late student's penalty should be their whole score"
    rows = {row["student"]: row for row in csv.DictReader((root / "reports" / LESSON / "grades.csv").open())}
    assert float(rows["late"]["score"]) == 0 < float(rows["on-time"]["score"])
    assert ours["on-time"][1] is None
    assert ours["late"][2]["name"] == "python3", "the kernelspec should be restored from the source"
    assert ours == results(stock)


def per_cell_scores(course: Path) -> dict[str, dict[str, float]]:
    """Each student's test cell scores, for those with a graded notebook."""
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        return {student: {g.name: g.score for g in gradebook.find_submission_notebook(LESSON, LESSON, student).grades}
                for student in sorted(p.name for p in (course / "autograded").iterdir())
                if (course / "autograded" / student / LESSON / f"{LESSON}.ipynb").is_file()}


def test_every_submission_stock_nbgrader_grades_scores_the_same(graded) -> None:
    classroom, _, _ = graded
    stock = stock_copy(classroom)
    run_nbgrader("autograde", LESSON, f"--Execute.timeout={CELL_TIMEOUT}", course=stock, check=False)
    theirs, ours = per_cell_scores(stock), per_cell_scores(classroom.course.root)
    assert {"solves", "untouched", "edits-tests", "fakes-tests", "deletes-tests"} <= set(theirs)
    assert {student: ours.get(student) for student in theirs} == theirs
    # The first submission of each of the two workers ran while nbgrader was loading, and was taken as it ran.
    seconds = step_seconds(classroom.course.root)
    assert "early run" in seconds["crashes"] and "early run" in seconds["deletes-tests"]


def step_seconds(course: Path) -> dict[str, dict[str, float]]:
    """How long each step of each student's grading took, as the command keeps it."""
    return json.loads((course / ".grading" / f"{LESSON}.seconds.json").read_text())


def test_a_resubmission_that_cannot_be_graded_leaves_no_old_feedback_and_a_bad_timestamp_stops_nobody(
        tmp_path: Path) -> None:
    classroom = Classroom.create(tmp_path / "class", REPOSITORY)
    root = classroom.course.root
    for student in ("resubmits", "bad-timestamp"):
        classroom.submit(Submission(student, LESSON))
    grade_command(root)
    page = root / "feedback" / "resubmits" / LESSON / f"{LESSON}.html"
    assert "Score: 2.0 / 2.0" in page.read_text()
    assert oct((root / "autograded" / "resubmits" / LESSON / f"{LESSON}.ipynb").stat().st_mode & 0o777) == "0o444"
    assert oct(page.stat().st_mode & 0o777) == "0o644"
    submitted_notebook(classroom, "resubmits").write_text("{ not a notebook")
    (root / "submitted" / "bad-timestamp" / LESSON / "timestamp.txt").write_text("yesterday-ish")
    grade_command(root)
    assert not page.exists(), "the page of the earlier grading would show a score the student no longer has"
    rows = grades(classroom)
    assert rows["resubmits"]["score"] == "0.0" and "malformed notebook" in rows["resubmits"]["problems"]
    assert rows["bad-timestamp"]["score"] == "2.0"
    assert "timestamp.txt cannot be read" in rows["bad-timestamp"]["problems"]


def test_a_submission_the_grader_itself_fails_on_is_kept_reported_and_graded_next_time(tmp_path: Path) -> None:
    """Not the student's doing: here ``autograded/<student>`` is a file, so nothing can be written for them."""
    classroom = Classroom.create(tmp_path / "class", REPOSITORY)
    root = classroom.course.root
    for student in ("solves", "blocked"):
        classroom.submit(Submission(student, LESSON))
    (root / "autograded").mkdir(exist_ok=True)
    (root / "autograded" / "blocked").write_text("in the way")
    grade_command(root)
    rows = grades(classroom)
    assert rows["solves"]["score"] == "2.0" and rows["solves"]["problems"] == ""
    assert rows["blocked"]["score"] == "0.0" and "the grader failed on this submission" in rows["blocked"]["problems"]
    assert (root / ".grading" / f"{LESSON}.errors.log").read_text().startswith("blocked:\nTraceback")
    assert submitted_notebook(classroom, "blocked").is_file()
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gradebook:  # as nbgrader autograde records it
        assert gradebook.find_submission(LESSON, "blocked").student_id == "blocked"

    (root / "autograded" / "blocked").unlink()
    again = grade_command(root)
    assert f"graded 1 submissions of {LESSON}" in again.stderr, "only the submission that failed is graded again"
    rows = grades(classroom)
    assert rows["blocked"]["score"] == "2.0" and rows["blocked"]["problems"] == ""


def test_a_first_submission_that_nbgrader_would_change_is_run_as_nbgrader_has_it(tmp_path: Path) -> None:
    """Each worker's first submission starts running before nbgrader is loaded, from a guess of what
    nbgrader will run (``autograder.early_start``). Here the guess is wrong: a test cell handed in as
    Markdown, which nbgrader turns back into code and runs. Taken as it ran, the test would have no
    error and its points; run again as nbgrader has it, it fails, as in stock nbgrader.
    """
    classroom = Classroom.create(tmp_path / "ours", REPOSITORY)
    root = classroom.course.root
    for student, answered in [("a-retyped-test", False), ("b-solves", True)]:
        classroom.submit(Submission(student, LESSON, answered=answered))
    path = submitted_notebook(classroom, "a-retyped-test")
    notebook = nbformat.read(path, as_version=4)
    index = next(i for i, cell in enumerate(notebook.cells) if is_test(cell))
    test = notebook.cells[index]
    notebook.cells[index] = nbformat.v4.new_markdown_cell(test.source, metadata=test.metadata)
    nbformat.write(notebook, path)
    stock = tmp_path / "stock"
    shutil.copytree(root, stock)
    run_nbgrader("autograde", LESSON, f"--Execute.timeout={CELL_TIMEOUT}", course=stock)
    grade_command(root, "--jobs", "1")
    theirs, ours = per_cell_scores(stock), per_cell_scores(root)
    assert theirs["a-retyped-test"][nbgrader_meta(test)["grade_id"]] == 0
    assert ours == theirs
    assert "early run, run again" in step_seconds(root)["a-retyped-test"]


def test_a_first_submission_with_nothing_to_run_leaves_its_worker_a_working_sandbox(tmp_path: Path) -> None:
    classroom = Classroom.create(tmp_path / "class", REPOSITORY)
    root = classroom.course.root
    for student in ("a-malformed", "b-solves"):
        classroom.submit(Submission(student, LESSON))
    submitted_notebook(classroom, "a-malformed").write_text("{ not a notebook")
    grade_command(root, "--jobs", "1")
    rows = grades(classroom)
    assert "malformed notebook" in rows["a-malformed"]["problems"]
    assert rows["b-solves"]["score"] == "2.0" and rows["b-solves"]["problems"] == ""


def test_a_first_submission_that_hangs_costs_its_limit_once_and_delays_nobody(tmp_path: Path) -> None:
    classroom = Classroom.create(tmp_path / "class", REPOSITORY)
    root = classroom.course.root
    for student in ("a-hangs", "b-solves"):
        classroom.submit(Submission(student, LESSON))
    path = submitted_notebook(classroom, "a-hangs")
    notebook = nbformat.read(path, as_version=4)
    EDITS["hangs"](notebook)
    nbformat.write(notebook, path)
    grade_command(root, "--jobs", "1")
    rows, seconds = grades(classroom), step_seconds(root)
    assert f"ran past {CELL_TIMEOUT} s and was stopped" in rows["a-hangs"]["problems"]
    assert "early run" in seconds["a-hangs"] and "early run, run again" not in seconds["a-hangs"]
    assert rows["b-solves"]["score"] == "2.0" and rows["b-solves"]["problems"] == ""


def test_a_first_submission_whose_notebook_cannot_be_read_to_its_end_stops_nobody(tmp_path: Path) -> None:
    """A FIFO nobody writes to, a link to an endless device: the early run must not wait on them, nor its worker."""
    classroom = Classroom.create(tmp_path / "class", REPOSITORY)
    root = classroom.course.root
    for student in ("a-fifo", "b-endless", "c-solves"):
        classroom.submit(Submission(student, LESSON))
    submitted_notebook(classroom, "a-fifo").unlink()
    os.mkfifo(submitted_notebook(classroom, "a-fifo"))
    submitted_notebook(classroom, "b-endless").unlink()
    submitted_notebook(classroom, "b-endless").symlink_to("/dev/zero")
    subprocess.run([sys.executable, "-m", "autograder.grade", LESSON, "--cell-timeout", CELL_TIMEOUT, "--jobs", "2"],
                   cwd=root, capture_output=True, text=True, check=True, timeout=120)  # a bound for a failing run
    rows = grades(classroom)
    assert "missing notebook" in rows["a-fifo"]["problems"] and "missing notebook" in rows["b-endless"]["problems"]
    assert rows["c-solves"]["score"] == "2.0"

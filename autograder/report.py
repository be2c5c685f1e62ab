"""What a grading run tells the teacher and each student, read back from nbgrader's gradebook.

Per lesson, in ``reports/<lesson>/``: ``grades.csv`` (a row for every student who
submitted, whatever happened, with a ``review`` column that is not empty when the
student's code should be read by a teacher), ``summary.md`` and ``summary.html`` (each
exercise's pass rate, its most common failure messages with how many students met each,
the students who need attention, every problem met, and the code that needs review,
line by line), ``pass-rates.png`` and ``scores.png`` (the class's scores as a
histogram), and, when asked, grade import files for Canvas and Moodle
(``autograder.exports``). Per student, ``feedback/<student>/<lesson>/report.html``:
points per exercise, each failing test's message with a link to that test in nbgrader's
feedback page, and, in plain words, what went wrong and what to do next time
(``autograder.report_html``).

The failure messages are read from the autograded notebook's error outputs of test
cells: the message only (``ename`` and ``evalue``), never a cell's source, so a hidden
test's message is shown and its code is not.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import nbformat
from nbformat import NotebookNode
from nbgrader.api import Grade, Gradebook, GradeCell, SubmittedAssignment, SubmittedNotebook

from autograder.cells import exercises, is_test, nbgrader_meta
from autograder.course import Course
from autograder.exports import write_export
from autograder.language import SOURCE_LANGUAGE, N_, notebook_language, speaking, with_fields_hidden
from autograder.report_html import student_page, summary_page

#: The longest failure message kept; a student's value can make one very long.
MESSAGE_CHARS = 2000


@dataclass(frozen=True)
class Failure:
    """A test cell that failed, as the student would have seen it in JupyterLab."""

    exercise: str
    test: str  # the test cell's grade_id, also its anchor in nbgrader's feedback page
    ename: str  # the error's name, such as ExerciseFailure; empty when the cell showed no error
    message: str

    @property
    def common_form(self) -> str:
        """The message with what is particular to one student taken out, to group a class's failures."""
        return common_form(self.ename, self.message)


@dataclass(frozen=True)
class StudentResult:
    student: str
    points: dict[str, tuple[float, float]]  # exercise -> (score, max)
    problems: list[str]
    review: list[str]  # what in the student's code reaches for the grading machinery
    failures: list[Failure] = field(default_factory=list)
    graded_at: datetime | None = None  # when nbgrader wrote the autograded notebook
    late_penalty: float = 0.0  # what nbgrader's late-submission plugin took off

    @property
    def score(self) -> float:
        """The total, after any late penalty, as nbgrader's gradebook and ``nbgrader export`` give it."""
        return sum(score for score, _ in self.points.values()) - self.late_penalty

    @property
    def max_score(self) -> float:
        return sum(most for _, most in self.points.values())

    @property
    def attention(self) -> list[str]:
        """Why a teacher should look at this student: no points, a problem, or a review flag."""
        reasons = []
        if self.max_score and self.score == 0:
            reasons.append("0 points")
        if self.problems:
            reasons.append(f"{len(self.problems)} problem{'s' * (len(self.problems) > 1)}")
        if self.review:
            reasons.append("needs review")
        return reasons


# A value as ``autograder.checks.describe`` shows it, after the words that introduce a
# student's own value: "got [3, 2, 1, 0] (type list)".
_THEIR_VALUE = re.compile(r"\b(got|gave|returned) .*? \(type [\w.]+\)", re.S)
#: The same in a translated message: the fields of ``autograder.checks``' messages that hold a student's value.
THEIR_VALUES = {"actual", "value"}
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")  # terminal colours, which a page cannot show
_ADDRESS = re.compile(r"<([^<>]*?) at 0x[0-9a-fA-F]+>")


def common_form(ename: str, message: str) -> str:
    """``ename: message`` with a student's own values replaced by ``…``.

    Two students who fail the same check with different wrong values ("expected 4, got
    6" and "expected 4, got None") made the same mistake as far as the class overview
    is concerned; object addresses differ between runs and are dropped too.
    """
    text = with_fields_hidden(_THEIR_VALUE.sub(r"\1 …", message), THEIR_VALUES)
    text = _ADDRESS.sub(r"<\1>", text)
    text = " ".join(text.split())
    return f"{ename}: {text}" if ename else text


def read_failures(notebook_path: Path, tests_of: dict[str, list[str]]) -> list[Failure]:
    """Each failing test cell's message, from the autograded notebook's error outputs."""
    if not notebook_path.is_file():
        return []
    try:
        notebook = nbformat.read(notebook_path, as_version=4)
    except Exception:  # nbgrader wrote it; if it cannot be read, the points still say what failed
        return []
    return notebook_failures(notebook, tests_of)


def notebook_failures(notebook: NotebookNode, tests_of: dict[str, list[str]]) -> list[Failure]:
    """Each failing test cell's message, from a graded notebook's error outputs."""
    exercise_of = {test: exercise for exercise, tests in tests_of.items() for test in tests}
    failures = []
    for cell in filter(is_test, notebook.cells):
        grade_id = nbgrader_meta(cell).get("grade_id")
        if grade_id not in exercise_of:
            continue
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                message = _ANSI.sub("", str(output.get("evalue", "")))
                if len(message) > MESSAGE_CHARS:
                    message = message[:MESSAGE_CHARS] + " … (cut)"
                failures.append(Failure(exercise_of[grade_id], grade_id, str(output.get("ename", "")), message))
                break
    return failures


def read_results(course: Course, lesson: str, db_url: str, problems: dict[str, list[str]],
                 review: dict[str, list[str]], failures: dict[str, list[dict]]) -> list[StudentResult]:
    """Every student's points, problems, review flags and failing tests.

    ``failures`` holds what the grading workers found in each graded notebook; a
    student missing from it (graded by an earlier version) has the notebook read again.
    """
    tests_of = exercises(nbformat.read(course.solution_notebook(lesson), as_version=4))
    students = [folder.parent.name for folder in course.submissions(lesson)]
    results = []
    with Gradebook(db_url) as gradebook:
        notebook = gradebook.find_notebook(lesson, lesson)
        maxima = {cell.name: cell.max_score for cell in notebook.grade_cells}
        submitted, scores = _class_grades(gradebook, notebook.id)
        for student in students:
            found = problems.get(student, [])
            grades = scores.get(student, {})
            late_penalty = submitted.get(student) or 0.0
            if student not in submitted:
                found = [*found, N_("nbgrader has no graded notebook for this student")]
            points = {
                exercise: (sum(grades.get(t, 0.0) for t in tests), sum(maxima[t] for t in tests))
                for exercise, tests in tests_of.items()
            }
            graded = course.root / "autograded" / student / lesson / f"{lesson}.ipynb"
            if not grades:
                found_failures = []
            elif student in failures:
                found_failures = [Failure(**failure) for failure in failures[student]]
            else:
                found_failures = read_failures(graded, tests_of)
            # A test cell that lost points without an error (it never ran) still says so.
            failed = {f.test for f in found_failures}
            for exercise, tests in tests_of.items():
                for test in tests:
                    if grades and grades.get(test, 0.0) < maxima[test] and test not in failed:
                        found_failures.append(Failure(exercise, test, "", N_(
                            "this test did not pass and showed no message (the cell did not run, or it was deleted)")))
            graded_at = (datetime.fromtimestamp(graded.stat().st_mtime, timezone.utc)
                         if grades and graded.is_file() else None)
            results.append(StudentResult(student, points, found, review.get(student, []), found_failures, graded_at,
                                         late_penalty))
    return results


def _class_grades(
        gradebook: Gradebook, notebook_id: str) -> tuple[dict[str, float | None], dict[str, dict[str, float]]]:
    """Each student's late penalty, and their score in each test cell, in one notebook, in two queries.

    The same numbers as ``find_submission_notebook(...).grades``, student by student:
    that loads every grade on its own, a tenth of a second for a class.
    """
    submitted = dict(gradebook.db.query(SubmittedAssignment.student_id, SubmittedNotebook.late_submission_penalty)
                     .join(SubmittedAssignment, SubmittedNotebook.assignment_id == SubmittedAssignment.id)
                     .filter(SubmittedNotebook.notebook_id == notebook_id))
    scores: dict[str, dict[str, float]] = {}
    for student, cell, score in (
            gradebook.db.query(SubmittedAssignment.student_id, GradeCell.name, Grade.score)
            .select_from(Grade)
            .join(SubmittedNotebook, Grade.notebook_id == SubmittedNotebook.id)
            .join(SubmittedAssignment, SubmittedNotebook.assignment_id == SubmittedAssignment.id)
            .join(GradeCell, Grade.cell_id == GradeCell.id)
            .filter(SubmittedNotebook.notebook_id == notebook_id)):
        scores.setdefault(student, {})[cell] = score
    return submitted, scores


@dataclass(frozen=True)
class Mistake:
    """One failure message, grouped across the class."""

    exercise: str
    message: str  # the common form
    students: tuple[str, ...]


def common_mistakes(results: Sequence[StudentResult]) -> dict[str, list[Mistake]]:
    """Per exercise, its failure messages by how many students met each (a student counts once)."""
    met: dict[str, dict[str, set[str]]] = {}
    for r in results:
        for failure in r.failures:
            met.setdefault(failure.exercise, {}).setdefault(failure.common_form, set()).add(r.student)
    return {
        exercise: sorted((Mistake(exercise, message, tuple(sorted(students))) for message, students in by.items()),
                         key=lambda m: (-len(m.students), m.message))
        for exercise, by in met.items()
    }


def load_plotting() -> None:
    """Load matplotlib now (half a second) rather than when the reports are written.

    The grading command calls this when its first result comes in, while the workers
    grade the rest, rather than after the last: a class whose last submission hangs then
    waits for that hang and nothing more. A command that writes no reports never pays for it.
    """
    import autograder.report_plots  # noqa: F401


def write_reports(course: Course, lesson: str, db_url: str, problems: dict[str, list[str]],
                  review: dict[str, list[str]], failures: dict[str, list[dict]], exports: Sequence[str] = ()) -> Path:
    results = read_results(course, lesson, db_url, problems, review, failures)
    folder = course.root / "reports" / lesson
    folder.mkdir(parents=True, exist_ok=True)
    exercise_names = list(results[0].points) if results else []
    with (folder / "grades.csv").open("w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["student", "score", "max_score", *exercise_names, "problems", "review"])
        for r in results:
            writer.writerow([r.student, r.score, r.max_score, *(r.points[e][0] for e in exercise_names),
                             "; ".join(r.problems), f"needs review: {'; '.join(r.review)}" if r.review else ""])
    rates = {e: sum(r.points[e][0] == r.points[e][1] for r in results) / len(results) for e in exercise_names}
    mistakes = common_mistakes(results)
    (folder / "summary.md").write_text(_summary_markdown(lesson, results, rates, mistakes))
    from autograder.report_plots import pass_rates_plot, scores_histogram  # see load_plotting
    pass_rates_plot(rates, lesson, folder / "pass-rates.png")
    scores_histogram([(r.score, r.max_score) for r in results], lesson, folder / "scores.png")
    now = datetime.now(timezone.utc)
    with speaking(SOURCE_LANGUAGE):  # the teacher's pages are in English, whatever the edition
        (folder / "summary.html").write_text(summary_page(lesson, results, rates, mistakes, now))
    # A student's page speaks the language of the edition's notebooks, which the student worked in.
    with speaking(notebook_language(nbformat.read(course.solution_notebook(lesson), as_version=4))):
        for r in results:
            page = course.root / "feedback" / r.student / lesson / "report.html"
            page.parent.mkdir(parents=True, exist_ok=True)
            full_feedback = (page.parent / f"{lesson}.html").is_file()
            page.write_text(student_page(lesson, r, full_feedback, now))
    for kind in exports:
        write_export(kind, lesson, results, folder)
    return folder


def _summary_markdown(lesson: str, results: Sequence[StudentResult], rates: dict[str, float],
                      mistakes: dict[str, list[Mistake]]) -> str:
    lines = [f"# {lesson}: {len(results)} submissions", "", "| exercise | points | passed by |", "|---|---|---|"]
    lines += [f"| `{e}` | {results[0].points[e][1]:g} | {rates[e]:.0%} |" for e in rates]
    lines += ["", "![pass rates](pass-rates.png)", "", "## Scores", "",
              "![histogram of the scores](scores.png)", ""]
    lines += ["## Common mistakes", "",
              "Per exercise, each failure message with the number of students who met it "
              "(their own values replaced by `…`).", ""]
    for exercise in rates:
        found = mistakes.get(exercise, [])
        lines += [f"### `{exercise}`", ""]
        if not found:
            lines += ["No failures.", ""]
            continue
        lines += ["| students | message |", "|---|---|"]
        lines += [f"| {len(m.students)} | {_md_cell(m.message)} |" for m in found]
        lines += [""]
    lines += ["## Students who need attention", "",
              "0 points, a problem, or a review flag.", ""]
    attention = [r for r in results if r.attention]
    lines += [f"- {r.student} ({r.score:g} / {r.max_score:g}): {', '.join(r.attention)}" for r in attention]
    lines += [] if attention else ["None."]
    lines += ["", "## Problems", ""]
    lines += [f"- {r.student}: {p}" for r in results for p in r.problems] or ["None."]
    lines += ["", "## Needs review", "",
              "Code that reaches for the grading machinery: the score stands until a teacher has read it.", ""]
    flagged = [r for r in results if r.review]
    for r in flagged:
        lines += [f"- **{r.student}** ({r.score:g} / {r.max_score:g}):", *(f"  - {reason}" for reason in r.review)]
    lines += [] if flagged else ["None."]
    return "\n".join(lines) + "\n"


def _md_cell(text: str) -> str:
    """Text for a Markdown table cell: one line, pipes escaped, at most 300 characters."""
    text = " ".join(text.split()).replace("|", "\\|")
    return text if len(text) <= 300 else text[:297] + "…"

"""What a grading run tells the teacher and each student, read back from nbgrader's gradebook.

Per lesson, in ``reports/<lesson>/``: ``grades.csv`` (a row for every student who
submitted, whatever happened, with a ``review`` column that is not empty when the
student's code should be read by a teacher), ``summary.md`` (each exercise's pass rate,
every problem met, and the code that needs review, line by line) and ``pass-rates.png``. Per student, ``feedback/<student>/<lesson>/report.html``:
points per exercise and, in plain words, what went wrong, next to nbgrader's own feedback.
"""

from __future__ import annotations

import csv
import html
from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (after choosing the file-only backend)
import nbformat  # noqa: E402
from nbgrader.api import Gradebook, MissingEntry  # noqa: E402

from autograder.cells import exercises  # noqa: E402
from autograder.course import Course  # noqa: E402


@dataclass(frozen=True)
class StudentResult:
    student: str
    points: dict[str, tuple[float, float]]  # exercise -> (score, max)
    problems: list[str]
    review: list[str]  # what in the student's code reaches for the grading machinery

    @property
    def score(self) -> float:
        return sum(score for score, _ in self.points.values())

    @property
    def max_score(self) -> float:
        return sum(most for _, most in self.points.values())


def read_results(course: Course, lesson: str, db_url: str, problems: dict[str, list[str]],
                 review: dict[str, list[str]]) -> list[StudentResult]:
    tests_of = exercises(nbformat.read(course.solution_notebook(lesson), as_version=4))
    students = [folder.parent.name for folder in course.submissions(lesson)]
    results = []
    with Gradebook(db_url) as gradebook:
        maxima = {cell.name: cell.max_score for cell in gradebook.find_notebook(lesson, lesson).grade_cells}
        for student in students:
            found = problems.get(student, [])
            try:
                grades = {g.name: g.score for g in gradebook.find_submission_notebook(lesson, lesson, student).grades}
            except MissingEntry:
                grades, found = {}, [*found, "nbgrader has no graded notebook for this student"]
            points = {
                exercise: (sum(grades.get(t, 0.0) for t in tests), sum(maxima[t] for t in tests))
                for exercise, tests in tests_of.items()
            }
            results.append(StudentResult(student, points, found, review.get(student, [])))
    return results


def write_reports(course: Course, lesson: str, db_url: str, problems: dict[str, list[str]],
                  review: dict[str, list[str]]) -> Path:
    results = read_results(course, lesson, db_url, problems, review)
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
    lines = [f"# {lesson}: {len(results)} submissions", "", "| exercise | points | passed by |", "|---|---|---|"]
    lines += [f"| `{e}` | {results[0].points[e][1]:g} | {rates[e]:.0%} |" for e in exercise_names]
    lines += ["", "## Problems", ""]
    lines += [f"- {r.student}: {p}" for r in results for p in r.problems] or ["None."]
    lines += ["", "## Needs review", "",
              "Code that reaches for the grading machinery: the score stands until a teacher has read it.", ""]
    flagged = [r for r in results if r.review]
    for r in flagged:
        lines += [f"- **{r.student}** ({r.score:g} / {r.max_score:g}):", *(f"  - {reason}" for reason in r.review)]
    lines += [] if flagged else ["None."]
    (folder / "summary.md").write_text("\n".join(lines) + "\n")
    _plot(rates, lesson, folder / "pass-rates.png")
    for r in results:
        _student_page(course, lesson, r)
    return folder


def _plot(rates: dict[str, float], lesson: str, path: Path) -> None:
    figure, axes = plt.subplots(figsize=(7, 0.5 + 0.45 * max(len(rates), 1)))
    names = list(rates)[::-1]
    axes.barh(names, [100 * rates[n] for n in names], color="#2f6fbf")
    axes.set_xlim(0, 100)
    axes.set_xlabel("students with full marks (%)")
    axes.set_title(lesson)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


def _student_page(course: Course, lesson: str, result: StudentResult) -> None:
    folder = course.root / "feedback" / result.student / lesson
    folder.mkdir(parents=True, exist_ok=True)
    rows = "".join(f"<tr><td><code>{html.escape(e)}</code></td><td>{s:g} / {m:g}</td></tr>"
                   for e, (s, m) in result.points.items())
    problems = "".join(f"<li>{html.escape(p)}</li>" for p in result.problems) or "<li>none</li>"
    detail = (f'<p>Your notebook with every test\'s output: <a href="{lesson}.html">{lesson}.html</a></p>'
              if (folder / f"{lesson}.html").is_file() else "<p>There is no graded notebook to show.</p>")
    (folder / "report.html").write_text(
        f"<!doctype html><meta charset='utf-8'><title>{html.escape(lesson)}</title>"
        f"<h1>{html.escape(lesson)}: {result.score:g} / {result.max_score:g}</h1>"
        f"<table><tr><th>exercise</th><th>points</th></tr>{rows}</table>"
        f"<h2>What happened</h2><ul>{problems}</ul>{detail}"
    )

"""Grade import files for an LMS, written beside ``grades.csv`` when the grading command is asked.

``--export canvas`` writes ``canvas.csv`` in the layout of Canvas's gradebook CSV (the
file that Grades > Export gives and Grades > Import takes): the columns ``Student``,
``ID``, ``SIS User ID``, ``SIS Login ID``, ``Section``, then one column per assignment,
named by the lesson, and a ``Points Possible`` row under the header. Canvas matches
each row to a student by one of its ID columns; this file carries nbgrader's student id
in ``SIS Login ID`` and leaves ``ID`` (Canvas's internal number), ``SIS User ID`` and
``Section`` empty, so the student ids must be the students' Canvas login IDs.

``--export moodle`` writes ``moodle.csv`` for Moodle's gradebook import ("Import >
CSV file"): one row per student with ``Username`` (nbgrader's student id), the lesson's
grade and a ``Feedback`` column. In the import form, map ``Username`` to the user field
"username", the lesson's column to the grade item and ``Feedback`` to that item's
feedback.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from autograder.report import StudentResult

CANVAS_COLUMNS = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
MOODLE_COLUMNS = ["Username"]
EXPORTS = ("canvas", "moodle")


def write_export(kind: str, lesson: str, results: Sequence[StudentResult], folder: Path) -> Path:
    if kind == "canvas":
        return write_canvas(lesson, results, folder / "canvas.csv")
    if kind == "moodle":
        return write_moodle(lesson, results, folder / "moodle.csv")
    raise ValueError(f"unknown export {kind!r}; the exports are: {', '.join(EXPORTS)}")


def write_canvas(lesson: str, results: Sequence[StudentResult], path: Path) -> Path:
    most = max((r.max_score for r in results), default=0)
    with path.open("w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow([*CANVAS_COLUMNS, lesson])
        writer.writerow(["    Points Possible", "", "", "", "", f"{most:g}"])
        for r in results:
            writer.writerow([r.student, "", "", r.student, "", f"{r.score:g}"])
    return path


def write_moodle(lesson: str, results: Sequence[StudentResult], path: Path) -> Path:
    with path.open("w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow([*MOODLE_COLUMNS, lesson, "Feedback"])
        for r in results:
            writer.writerow([r.student, f"{r.score:g}", _feedback(r)])
    return path


def _feedback(result: StudentResult) -> str:
    """One line for the LMS: the points per exercise and what went wrong."""
    parts = [", ".join(f"{exercise} {score:g}/{most:g}" for exercise, (score, most) in result.points.items())]
    parts += result.problems
    if result.review:
        parts.append("needs review by the teacher")
    return "; ".join(p for p in parts if p)

"""A student's progress at a glance: which exercises pass their tests, in every lesson.

``await check_progress()`` in a notebook next to the lesson folders runs each saved
lesson notebook top to bottom in a fresh kernel, the way nbgrader will, and shows one
table: per exercise, whether its test cells pass, and if not, the first failure's message.
"""

from __future__ import annotations

import asyncio
import html
import subprocess
from dataclasses import dataclass
from pathlib import Path

import nbformat

from autograder.cells import exercises, nbgrader_meta
from autograder.checks import ExerciseFailure
from autograder.kernel import fresh_kernel_client
from autograder.language import _


@dataclass(frozen=True)
class ExerciseStatus:
    lesson: str
    exercise: str
    passed: bool
    message: str  # the first failing test's error, empty when passed


def first_error(outputs: list) -> str:
    """The first error in a cell's outputs; a failed test's message needs no class name."""
    for output in outputs:
        if output.output_type == "error":
            return output.evalue if output.ename == ExerciseFailure.__name__ else f"{output.ename}: {output.evalue}"
    return ""


async def lesson_status(notebook_path: Path) -> list[ExerciseStatus]:
    """Run one lesson notebook in a fresh kernel and judge each exercise by its test cells."""
    notebook = nbformat.read(notebook_path, as_version=4)
    client = fresh_kernel_client(notebook, notebook_path.parent, allow_errors=True)
    await client.async_execute(stderr=subprocess.DEVNULL)  # the kernels' start-up chatter
    errors = {nbgrader_meta(cell).get("grade_id"): first_error(cell.get("outputs", [])) for cell in notebook.cells}
    statuses = []
    for exercise, tests in exercises(notebook).items():
        failure = next((errors[test] for test in tests if errors[test]), "")
        statuses.append(ExerciseStatus(notebook_path.stem, exercise, not failure, failure))
    return statuses


@dataclass(frozen=True)
class Progress:
    """The table of exercise statuses, shown as HTML in JupyterLab and as text elsewhere."""

    statuses: list[ExerciseStatus]

    @property
    def summary(self) -> str:
        passed = sum(status.passed for status in self.statuses)
        total = len(self.statuses)
        if passed == total:
            return _("All {total} exercises pass their tests. Well done!").format(total=total)
        upcoming = next(status for status in self.statuses if not status.passed)
        return _("{passed} of {total} exercises pass their tests. Next up: {exercise} in {lesson}.").format(
            passed=passed, total=total, exercise=upcoming.exercise, lesson=upcoming.lesson)

    def __repr__(self) -> str:
        # Translators: the progress table as plain text, one row per exercise: whether its tests pass.
        verdict = {True: _("pass"), False: _("FAIL")}
        rows = [f"{verdict[s.passed]}  {s.lesson}  {s.exercise}  {s.message}".rstrip() for s in self.statuses]
        return "\n".join([self.summary, *rows])

    def _repr_html_(self) -> str:
        left = 'style="text-align: left"'
        # Translators: the progress table's "tests" column: the exercise's tests pass, or fail.
        passes, fails = html.escape(_("passes")), html.escape(_("fails"))
        verdict = {True: f'<span style="color: #1a7f37; white-space: nowrap">{passes}</span>',
                   False: f'<span style="color: #cf222e; white-space: nowrap">{fails}</span>'}
        rows = "".join(
            f"<tr><td {left}>{html.escape(s.lesson)}</td><td {left}><code>{html.escape(s.exercise)}</code></td>"
            f"<td {left}>{verdict[s.passed]}</td><td {left}>{html.escape(s.message)}</td></tr>"
            for s in self.statuses
        )
        # Translators: the progress table's column headers.
        names = (_("lesson"), _("exercise"), _("tests"), _("first failure"))
        header = "".join(f"<th {left}>{html.escape(name)}</th>" for name in names)
        return (
            f"<p><strong>{html.escape(self.summary)}</strong></p>"
            f"<table><thead><tr>{header}</tr></thead><tbody>{rows}</tbody></table>"
        )


async def check_progress(folder: Path | str = ".", *, at_once: int = 2) -> Progress:
    """Check every lesson notebook below ``folder``, ``at_once`` kernels at a time."""
    notebooks = sorted(Path(folder).glob("*/*.ipynb"))
    if not notebooks:
        raise FileNotFoundError(_("no lesson notebooks in {folder}").format(folder=Path(folder).resolve()))
    slots = asyncio.Semaphore(at_once)

    async def checked(path: Path) -> list[ExerciseStatus]:
        async with slots:
            return await lesson_status(path)

    per_lesson = await asyncio.gather(*(checked(path) for path in notebooks))
    return Progress([status for statuses in per_lesson for status in statuses])

"""One submission graded from end to end: read, run in the sandbox, scored, feedback written.

``autograder.grade`` builds one ``LessonGrader`` per run, before it forks its workers,
so that every worker starts with nbgrader loaded and its preprocessors built; then each
worker calls ``grade(student)`` for one student at a time.

This does what ``nbgrader autograde`` and ``nbgrader generate_feedback`` do for one
student, by calling nbgrader's Python API instead of its command line (a process,
a configuration load and a gradebook connection per command would cost more than the
grading itself), and in the same order, but for one step:

- ``autograded/<student>/<lesson>/`` gets the submission's other files, then the
  course's own files over them, then the graded notebook, read-only, as
  ``Autograde.init_assignment`` and ``BaseConverter.set_permissions`` leave it;
- the notebook goes through nbgrader's own sanitizing preprocessors (test cells are
  restored from the gradebook's source cells, checksums checked), then the sandbox
  (``autograder.sandbox``) in place of nbgrader's ``Execute`` (for a worker's first
  submission, the run that started early, if it ran exactly these cells:
  ``autograder.early_start``), then nbgrader's own
  autograde preprocessors, ``SaveAutoGrades`` (the scores) and ``AssignLatePenalties``
  included;
- the gradebook gets the student and the submission (with ``timestamp.txt``'s time,
  for late penalties) through nbgrader's ``Gradebook``, as ``Autograde.init_assignment``
  records them. That is the step out of nbgrader's order: it is written with the
  scores, in one commit, where nbgrader writes it first; a submission that could not
  be graded is recorded by ``register`` once the workers are done, so the gradebook
  ends up the same;
- ``feedback/<student>/<lesson>/`` gets the other files and nbgrader's feedback page,
  rendered by ``autograder.feedback.FeedbackPages``.

Unlike ``nbgrader autograde``, nothing is deleted when a notebook cannot be graded:
the submission stays in ``submitted/`` and the problem is reported.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
import warnings
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import nbformat
from nbconvert.preprocessors import ClearMetadataPreprocessor
from nbformat import NotebookNode, from_dict
from nbgrader.api import Gradebook, MissingEntry
from nbgrader.converters import Autograde, GenerateAssignment, GenerateFeedback
from nbgrader.coursedir import CourseDirectory
from nbgrader.preprocessors import CheckCellMetadata, ClearOutput, DeduplicateIds, IgnorePattern, LimitOutput
from nbgrader.utils import find_all_files
from sqlalchemy.exc import SAWarning
from traitlets.config import Config

from autograder.cells import exercises, is_test, nbgrader_meta
from autograder.course import Course
from autograder.early_start import EarlyRun
from autograder.feedback import FeedbackPages
from autograder.gradebook import (
    AssignLatePenaltiesInWorker, OverwriteCellsInWorker, OverwriteKernelspecInWorker, SaveAutoGradesInWorker,
    WorkerGradebook, create_gradebook,
)
from autograder.language import N_, notebook_language, speaking, translate_message
from autograder.report import notebook_failures
from autograder.sandbox import Execution, Limits, close_sandboxes, execute_cells, submission_files
from autograder.tamper import review_reasons

#: nbgrader's ``Autograde.sanitize_preprocessors`` and ``autograde_preprocessors`` (here
#: ``TIDY`` then ``SCORE``, split where the writes to the gradebook begin), the sandbox
#: standing in for ``Execute`` between them, and those that use the gradebook doing so
#: through the worker's connection (``autograder.gradebook``). Its second
#: ``CheckCellMetadata`` is left out: no step in between touches nbgrader's metadata,
#: and the check costs more than the scoring.
SANITIZE = [ClearOutput, DeduplicateIds, OverwriteKernelspecInWorker, OverwriteCellsInWorker, CheckCellMetadata]
TIDY = [IgnorePattern, ClearMetadataPreprocessor, LimitOutput]
SCORE = [SaveAutoGradesInWorker, AssignLatePenaltiesInWorker]
# nbgrader's own gradebook code warns about its session's autoflush when it creates a
# submission; its command line hides the warning in its log, and so does this.
warnings.filterwarnings("ignore", category=SAWarning, module="nbgrader")



def code_cells(notebook: NotebookNode) -> list[NotebookNode]:
    return [cell for cell in notebook.cells if cell.cell_type == "code"]


def code_sources(notebook: NotebookNode) -> list[str]:
    return [cell.source for cell in code_cells(notebook)]


def apply_execution(notebook: NotebookNode, execution: Execution) -> None:
    """Put the outputs and execution counts of ``execution`` into the notebook's code cells.

    The errors the grader itself wrote (a cell stopped at its time limit, a crash, a cell
    not run) are in English; they are put in the notebook's language here, as the test
    cells' own messages already are.
    """
    with speaking(notebook_language(notebook)):
        for index, cell in enumerate(code_cells(notebook)):
            result = execution.results.get(index)
            cell.outputs = [from_dict(_in_language(output)) for output in result.outputs] if result else []
            cell.execution_count = result.execution_count if result else None


def _in_language(output: dict[str, Any]) -> dict[str, Any]:
    """A grader-written error (its traceback is the one line ``ename: evalue``) in the current language."""
    if output.get("output_type") != "error" or output.get("traceback") != [f"{output['ename']}: {output['evalue']}"]:
        return output
    evalue = translate_message(output["evalue"])
    return {**output, "evalue": evalue, "traceback": [f"{output['ename']}: {evalue}"]}


@dataclass
class Submission:
    student: str
    folder: Path  # submitted/<student>/<lesson>
    problems: list[str] = field(default_factory=list)
    review: list[str] = field(default_factory=list)  # why a teacher should read the code
    notebook: NotebookNode | None = None  # None when missing or unreadable


def inspect(submission: Submission, lesson: str, release: NotebookNode) -> None:
    """Read the notebook and note, by name, everything nbgrader would quietly score as 0."""
    expected = submission.folder / f"{lesson}.ipynb"
    others = sorted(p.name for p in submission.folder.glob("*.ipynb") if p != expected)
    if not expected.is_file():
        missing = N_("missing notebook {name}; found {others} (renamed?)") if others else N_("missing notebook {name}")
        submission.problems.append(missing.format(name=expected.name, others=", ".join(others)))
        return
    try:
        notebook = nbformat.read(expected, as_version=4)
        nbformat.validate(notebook)
    except Exception as error:  # any unreadable file is reported, never fatal
        submission.problems.append(N_("malformed notebook {name}: {error}").format(
            name=expected.name, error=f"{type(error).__name__}: {str(error)[:200]}"))
        return
    submission.notebook = notebook
    submitted_tests = {nbgrader_meta(c).get("grade_id"): c.source for c in notebook.cells if is_test(c)}
    for cell in filter(is_test, release.cells):
        grade_id = nbgrader_meta(cell)["grade_id"]
        if grade_id not in submitted_tests:
            submission.problems.append(N_("test cell {grade_id} was deleted (it scores 0)").format(grade_id=grade_id))
        elif submitted_tests[grade_id] != cell.source:
            submission.problems.append(
                N_("test cell {grade_id} was edited (nbgrader restores it from the source)").format(grade_id=grade_id))


def register_lesson(course: Course, lesson: str, config: Config) -> bool:
    """Make sure the gradebook has the lesson's cells; whether they had to be recorded now.

    They are recorded as ``nbgrader generate_assignment`` records them. The student
    version it generates goes to a scratch folder: the course's own is ``make release``'s
    to write.
    """
    if not course.gradebook.exists():
        create_gradebook(course.gradebook_url)
    try:
        with Gradebook(course.gradebook_url) as gradebook:
            gradebook.find_assignment(lesson)
        return False
    except MissingEntry:
        pass
    with tempfile.TemporaryDirectory() as scratch:
        coursedir = CourseDirectory(config=config, root=str(course.root), release_directory=scratch,
                                    assignment_id=lesson)
        generator = GenerateAssignment(coursedir=coursedir, config=config)
        generator.force = True
        generator.create_assignment = True
        generator.start()
    return True


class LessonGrader:
    """Everything needed to grade one lesson's submissions, built once and shared by the forked workers."""

    def __init__(self, course: Course, lesson: str, config: Config, limits: Limits, sandboxed: bool,
                 early_runs: dict[str, EarlyRun] | None = None) -> None:
        self.course, self.lesson, self.limits, self.sandboxed = course, lesson, limits, sandboxed
        self.early_runs = dict(early_runs or {})  # by student: the first submission of each worker
        self.coursedir = CourseDirectory(config=config, root=str(course.root))
        self.db_url = course.gradebook_url
        self.release = nbformat.read(course.student_notebook(lesson), as_version=4)
        solution = nbformat.read(course.solution_notebook(lesson), as_version=4)
        self.given = set(code_sources(self.release)) | set(code_sources(solution))
        self.tests_of = exercises(solution)
        # What the course's configuration says of the files nbgrader's converters write.
        autograde = Autograde(coursedir=self.coursedir, config=config)
        self.keep_students_files = set(autograde.exclude_overwriting.get(lesson, []))
        self.autograded_mode = int(str(autograde.permissions), 8)
        self.feedback_mode = int(str(GenerateFeedback(coursedir=self.coursedir, config=config).permissions), 8)
        self.book = WorkerGradebook(self.db_url, self.coursedir.course_id)
        self.sanitize = [kind(config=config) for kind in SANITIZE]
        self.tidy = [kind(config=config) for kind in TIDY]
        self.score = [kind(config=config) for kind in SCORE]
        for preprocessor in self.sanitize + self.score:
            preprocessor.book = self.book
        self.feedback = FeedbackPages(config, self.book)
        self.solution = solution
        self._feedback_warm = False

    def close(self) -> None:
        """What a worker holds open: its gradebook connection and its sandbox."""
        self.book.close()
        close_sandboxes()

    def grade(self, student: str) -> dict[str, Any]:
        """Grade one student's submission; return its problems, review flags, failing tests and each step's seconds."""
        early = self.early_runs.pop(student, None)
        try:
            return self._grade(student, early)
        finally:
            if early is not None:
                early.settle()  # whatever happened, the sandbox the early run used is this worker's again

    def _grade(self, student: str, early: EarlyRun | None) -> dict[str, Any]:
        seconds: dict[str, float] = {}
        clock = time.perf_counter()

        def lap(step: str) -> None:
            nonlocal clock
            now = time.perf_counter()
            seconds[step] = seconds.get(step, 0.0) + now - clock
            clock = now

        submission = Submission(student, self.course.submitted / student / self.lesson)
        timestamp = self._timestamp(submission)
        inspect(submission, self.lesson, self.release)
        graded = self._prepare(self.course.root / "autograded" / student / self.lesson, submission.folder)
        feedback = self._prepare(self.course.root / "feedback" / student / self.lesson, graded, overwrite=False)
        resources = self._resources(student)
        lap("read")
        scored, failures = False, []
        if submission.notebook is not None:
            try:
                with self.book.transaction():
                    notebook = self._run(self.sanitize, submission.notebook, resources)
            except Exception as error:  # nbgrader itself refuses such a notebook
                submission.problems.append(N_("nbgrader cannot read the notebook's cells: {error}").format(
                    error=f"{type(error).__name__}: {error}"))
            else:
                sources = code_sources(notebook)
                submission.review += review_reasons(sources, self.given)
                lap("read")
                # The course's own files, over the student's copies, as nbgrader runs the notebook in autograded/.
                files = {**submission_files(submission.folder), **submission_files(graded)}
                self._warm_up_feedback()
                taken = early.execution_for(sources, files) if early else None  # what it ran, if this
                execution = taken or execute_cells(sources, self.limits, files=files, sandboxed=self.sandboxed)
                submission.problems += execution.problems
                submission.review += execution.review
                apply_execution(notebook, execution)
                lap("execute")
                if early is not None and early.seconds:  # how long it ran, beside how long this worker waited
                    seconds["early run" if taken else "early run, run again"] = early.seconds
                notebook = self._run(self.tidy, notebook, resources)
                with self.book.transaction():  # the submission, its scores and late penalty, committed together
                    self._register(student, timestamp)
                    notebook = self._run(self.score, notebook, resources)
                scored = True
                failures = [asdict(failure) for failure in notebook_failures(notebook, self.tests_of)]
                path = graded / f"{self.lesson}.ipynb"
                nbformat.write(notebook, path)
                lap("score")
                self.feedback.write(notebook, path, feedback, resources)
                lap("feedback")
        if not scored:  # nothing to grade; its feedback folder was emptied above, so no earlier page stays
            self._zero(student, timestamp)
        _set_mode(graded, self.autograded_mode, self.coursedir.groupshared)
        _set_mode(feedback, self.feedback_mode, self.coursedir.groupshared)
        return {"problems": submission.problems, "review": submission.review, "failures": failures, "seconds": seconds}

    def _warm_up_feedback(self) -> None:
        """Once per worker, warm the feedback exporter (a third of a second) while a submission runs.

        On a thread, while the worker waits for its first submission's run, rather than in
        the grading command before it forks: a class whose first submission hangs then
        costs that hang and no more.
        """
        if not self._feedback_warm:
            self.feedback.warm_up_in_background(self.solution)
            self._feedback_warm = True

    def _prepare(self, target: Path, source: Path, *, overwrite: bool = True) -> Path:
        """``target`` emptied, with ``source``'s other files, and (``overwrite``) the course's files over them."""
        shutil.rmtree(target, ignore_errors=True)
        target.mkdir(parents=True)
        origins = [source, self.course.source / self.lesson] if overwrite else [source]
        for origin in origins:
            for name in find_all_files(str(origin), self.coursedir.ignore + ["*.ipynb"]):
                relative = Path(name).relative_to(origin)
                if origin != source and str(relative) in self.keep_students_files:  # Autograde.exclude_overwriting
                    continue
                destination = target / relative
                destination.parent.mkdir(parents=True, exist_ok=True)
                destination.unlink(missing_ok=True)
                shutil.copy(name, destination)
        return target

    def register(self, students: Iterable[str]) -> dict[str, list[str]]:
        """Record in the gradebook submissions that grading failed on, as ``nbgrader autograde`` records them.

        Called by the grading command once its workers are done, in one transaction.
        Returns each student's problems with ``timestamp.txt``.
        """
        problems = {}
        with self.book.transaction():
            for student in students:
                submission = Submission(student, self.course.submitted / student / self.lesson)
                self._register(student, self._timestamp(submission))
                problems[student] = submission.problems
        self.book.close()
        return problems

    def _timestamp(self, submission: Submission) -> datetime | None:
        """When the student submitted, from ``timestamp.txt``, as ``Autograde.init_assignment`` reads it.

        One that cannot be read is a problem of the submission's, which is then recorded
        without a time (where ``nbgrader autograde`` would not grade it at all).
        """
        try:
            return self.coursedir.get_existing_timestamp(str(submission.folder))
        except Exception as error:  # nbgrader's own error path for a bad timestamp fails too
            submission.problems.append(N_("its timestamp.txt cannot be read ({error}): it was graded without a "
                                          "submission time, so no late penalty").format(error=type(error).__name__))
            return None

    def _register(self, student: str, timestamp: datetime | None) -> None:
        """The student and the submission in the gradebook, as ``Autograde.init_assignment`` records them.

        Part of the transaction that writes the scores, so that each student costs the
        gradebook one commit (a wait for the disk).
        """
        with self.book.transaction() as gradebook:
            gradebook.update_or_create_student(student)
            if timestamp:
                gradebook.update_or_create_submission(self.lesson, student, timestamp=timestamp)
            else:
                gradebook.update_or_create_submission(self.lesson, student)

    def _zero(self, student: str, timestamp: datetime | None) -> None:
        """No notebook to grade: every test scores 0, as ``Autograde.init_assignment`` scores a missing notebook."""
        with self.book.transaction() as gradebook:
            self._register(student, timestamp)
            for grade in gradebook.find_submission_notebook(self.lesson, self.lesson, student).grades:
                grade.auto_score = 0
                grade.needs_manual_grade = False

    def _resources(self, student: str) -> dict[str, Any]:
        lesson = self.lesson
        return {"unique_key": lesson, "output_files_dir": f"{lesson}_files", "metadata": {"name": lesson},
                "nbgrader": {"student": student, "assignment": lesson, "notebook": lesson, "db_url": self.db_url}}

    @staticmethod
    def _run(preprocessors: list, notebook: NotebookNode, resources: dict[str, Any]) -> NotebookNode:
        for preprocessor in preprocessors:
            notebook, resources = preprocessor(notebook, resources)
        return notebook


def _set_mode(folder: Path, mode: int, groupshared: bool) -> None:
    """Every file's mode, as ``BaseConverter.set_permissions`` sets it (its folders too in a group-shared course)."""
    for directory, _, names in os.walk(folder):
        for name in names:
            os.chmod(os.path.join(directory, name), mode)
        if groupshared:  # nbgrader makes the folders group-writable and setgid
            os.chmod(directory, (os.stat(directory).st_mode | 0o2770) & 0o2777)

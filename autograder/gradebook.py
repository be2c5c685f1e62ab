"""nbgrader's gradebook, through one connection per grading worker and one transaction per step.

nbgrader's preprocessors each open the gradebook anew for every notebook (a database
engine, a check of the schema, an empty cache of compiled queries) and commit after
every cell. For one notebook that is fine; for a class it was a third of the grading
time, most of it waiting for the disk. Here a worker keeps one ``Gradebook`` open, and
nbgrader's preprocessors that use it run against it inside a transaction: their
per-cell ``commit()`` only flushes, and the transaction commits once, when the step is
done. Their per-cell work is nbgrader's own code; what their ``preprocess`` does around
the cell loop (a few lines each, for ``OverwriteKernelspec``, ``AssignLatePenalties``
and ``GetGrades``) is repeated here, marked as such.

A transaction never spans the run of a submission: the other workers are kept waiting
for the gradebook only for the milliseconds of a write.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from nbconvert.preprocessors import Preprocessor
from nbformat import NotebookNode
from nbgrader.api import Base, Gradebook
from nbgrader.dbutil import ALEMBIC_DIR
from nbgrader.preprocessors import AssignLatePenalties, GetGrades, OverwriteCells, OverwriteKernelspec, SaveAutoGrades
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session, scoped_session, sessionmaker


def create_gradebook(db_url: str) -> None:
    """A new, empty gradebook, as ``Gradebook`` makes one, without running the ``alembic`` command.

    nbgrader learns its schema's version by starting ``alembic heads`` in a new process
    (3 s, longer than grading a small class); alembic's own ``ScriptDirectory`` reads
    the same migration scripts in-process.
    """
    from alembic.script import ScriptDirectory  # here: only a new gradebook needs alembic (0.1 s to import)

    head = ScriptDirectory(ALEMBIC_DIR).get_current_head()
    engine = create_engine(db_url, future=True)
    try:
        Base.metadata.create_all(bind=engine)
        with engine.begin() as connection:
            connection.execute(text("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL);"))
            connection.execute(text("INSERT INTO alembic_version (version_num) VALUES (:head);"), {"head": head})
    finally:
        engine.dispose()


class _FlushOnCommit(Session):
    """A session whose ``commit()`` only flushes: ``WorkerGradebook.transaction`` commits."""

    def commit(self) -> None:
        self.flush()


class WorkerGradebook:
    """The gradebook of one grading worker, opened on first use (after the fork, never before)."""

    def __init__(self, db_url: str, course_id: str) -> None:
        self.db_url, self.course_id = db_url, course_id
        self._gradebook: Gradebook | None = None
        self._depth = 0

    @contextmanager
    def transaction(self) -> Iterator[Gradebook]:
        """nbgrader's ``Gradebook``, whose writes all commit together at the end of the block (or none do).

        A transaction inside another is part of it.
        """
        if self._depth:
            yield self._gradebook
            return
        if self._gradebook is None:
            self._gradebook = Gradebook(self.db_url, self.course_id)
            # As nbgrader makes its session, but committing only when told to by this class.
            self._gradebook.db = scoped_session(sessionmaker(
                autoflush=True, bind=self._gradebook.engine, future=True, class_=_FlushOnCommit))
        session = self._gradebook.db()
        self._depth += 1
        try:
            yield self._gradebook
            Session.commit(session)
        except BaseException:
            session.rollback()
            raise
        finally:
            self._depth -= 1

    def close(self) -> None:
        if self._gradebook is not None:
            self._gradebook.close()
            self._gradebook = None


class _InWorkerGradebook:
    """For an nbgrader preprocessor: its cell loop against ``book`` instead of a gradebook of its own."""

    book: WorkerGradebook
    per_cell = True  # whether nbgrader's preprocess loops over the cells

    def preprocess(self, nb: NotebookNode, resources: dict[str, Any]) -> tuple[NotebookNode, dict[str, Any]]:
        ids = resources["nbgrader"]
        self.notebook_id, self.assignment_id = ids["notebook"], ids["assignment"]
        self.student_id, self.db_url = ids.get("student"), ids["db_url"]
        with self.book.transaction() as self.gradebook:
            if self.per_cell:
                nb, resources = Preprocessor.preprocess(self, nb, resources)  # nbgrader's preprocess_cell, cell by cell
            return self.after_cells(nb, resources)

    def after_cells(self, nb: NotebookNode, resources: dict[str, Any]) -> tuple[NotebookNode, dict[str, Any]]:
        return nb, resources


class OverwriteCellsInWorker(_InWorkerGradebook, OverwriteCells):
    """nbgrader's ``OverwriteCells``: test cells restored from the gradebook's source cells."""

    def after_cells(self, nb: NotebookNode, resources: dict[str, Any]) -> tuple[NotebookNode, dict[str, Any]]:
        if self.add_missing_cells:
            nb, resources = self.add_missing_grade_cells(nb, resources)
            nb, resources = self.add_missing_task_cells(nb, resources)
        return nb, resources


class OverwriteKernelspecInWorker(_InWorkerGradebook, OverwriteKernelspec):
    """nbgrader's ``OverwriteKernelspec``: the notebook's kernel named as in the source."""

    per_cell = False

    def after_cells(self, nb: NotebookNode, resources: dict[str, Any]) -> tuple[NotebookNode, dict[str, Any]]:
        # What OverwriteKernelspec.preprocess does.
        kernelspec = self.gradebook.find_notebook(self.notebook_id, self.assignment_id).kernelspec
        if kernelspec is not None and json.loads(kernelspec):
            nb.metadata["kernelspec"] = json.loads(kernelspec)
        return nb, resources


class SaveAutoGradesInWorker(_InWorkerGradebook, SaveAutoGrades):
    """nbgrader's ``SaveAutoGrades``: each test cell's score into the gradebook."""


class AssignLatePenaltiesInWorker(_InWorkerGradebook, AssignLatePenalties):
    """nbgrader's ``AssignLatePenalties``: its late-submission plugin's penalty, if the submission was late."""

    def after_cells(self, nb: NotebookNode, resources: dict[str, Any]) -> tuple[NotebookNode, dict[str, Any]]:
        # What AssignLatePenalties.preprocess does after its cell loop.
        self.init_plugin()
        assignment = self.gradebook.find_submission(self.assignment_id, self.student_id)
        notebook = self.gradebook.find_submission_notebook(self.notebook_id, self.assignment_id, self.student_id)
        notebook.late_submission_penalty = None
        if assignment.total_seconds_late > 0:
            penalty = self.plugin_inst.late_submission_penalty(
                self.student_id, notebook.score, assignment.total_seconds_late)
            if penalty is not None:
                notebook.late_submission_penalty = self._check_late_penalty(notebook, penalty)
        return nb, resources


class GetGradesInWorker(_InWorkerGradebook, GetGrades):
    """nbgrader's ``GetGrades``: the scores back from the gradebook, for the feedback page."""

    def after_cells(self, nb: NotebookNode, resources: dict[str, Any]) -> tuple[NotebookNode, dict[str, Any]]:
        # What GetGrades.preprocess does after its cell loop.
        notebook = self.gradebook.find_submission_notebook(self.notebook_id, self.assignment_id, self.student_id)
        late_penalty = notebook.late_submission_penalty or 0
        resources["nbgrader"]["score"] = notebook.score - late_penalty
        resources["nbgrader"]["max_score"] = notebook.max_score
        resources["nbgrader"]["late_penalty"] = late_penalty
        return nb, resources

"""The feedback exporter warms up on a thread while a worker's first submission runs."""

from __future__ import annotations

from pathlib import Path

import pytest
from nbformat.v4 import new_code_cell, new_notebook
from traitlets.config import Config

from autograder.feedback import FeedbackPages
from autograder.gradebook import WorkerGradebook


def test_a_warm_up_that_failed_fails_the_first_page_instead_of_vanishing(tmp_path: Path) -> None:
    """Its error surfaces where the grader records a failure, not on a thread nobody watches."""
    pages = FeedbackPages(Config(), WorkerGradebook(f"sqlite:///{tmp_path / 'gradebook.db'}", "course"))
    broken = new_notebook(cells=[new_code_cell("1", metadata={"nbgrader": "not a dict"})])
    pages.warm_up_in_background(broken)
    with pytest.raises(AttributeError, match="update"):
        pages.write(new_notebook(), tmp_path / "graded.ipynb", tmp_path, {})

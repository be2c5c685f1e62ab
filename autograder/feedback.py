"""nbgrader's feedback pages, without the hidden tests.

Stock ``nbgrader generate_feedback`` renders the autograded notebook, whose test cells
were restored from the instructor's source: hidden tests included, and the lines of
them that failed appear again in each error's traceback. A feedback page handed to a
student would give next year's class the hidden tests. ``HideHiddenTests`` removes the
hidden region from every test cell's source, as ``nbgrader generate_assignment`` does
for the student version, and cuts the traceback of each error in such a cell down to
its message: what went wrong stays visible, the code that checked it does not.
"""

from __future__ import annotations

from typing import Any

from nbformat import NotebookNode
from nbgrader.preprocessors import ClearHiddenTests

from autograder.cells import is_test
from autograder.language import N_, _, notebook_language, speaking

HIDDEN_NOTE = N_("(more tests ran here: hidden tests, not shown)")


class HideHiddenTests(ClearHiddenTests):
    """Strip hidden tests and their tracebacks from the feedback's test cells."""

    def preprocess(self, nb: NotebookNode, resources: dict[str, Any]) -> tuple[NotebookNode, dict[str, Any]]:
        with speaking(notebook_language(nb)):  # the note on the hidden tests, in the notebook's language
            return super().preprocess(nb, resources)

    def preprocess_cell(self, cell: NotebookNode, resources: dict[str, Any], index: int) -> tuple[NotebookNode, dict]:
        if is_test(cell) and self._remove_hidden_test_region(cell):
            cell.source = f"{cell.source.rstrip()}\n# {_(HIDDEN_NOTE)}"
            for output in cell.get("outputs", []):
                if output.output_type == "error":
                    output.traceback = [f"{output.ename}: {output.evalue}"]
        return cell, resources

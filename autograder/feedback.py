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

import copy
import json
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any

import nbgrader
from jinja2 import pass_context
from nbconvert.exporters import HTMLExporter, TemplateExporter
from nbconvert.filters.highlight import Highlight2HTML
from nbconvert.filters.widgetsdatatypefilter import WidgetsDataTypeFilter
from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
from nbformat import NotebookNode
from nbgrader.preprocessors import ClearHiddenTests
from traitlets.config import Config

from autograder.cells import is_test
from autograder.gradebook import GetGradesInWorker, WorkerGradebook
from autograder.language import N_, _, notebook_language, speaking

HIDDEN_NOTE = N_("(more tests ran here: hidden tests, not shown)")
NBGRADER = Path(nbgrader.__file__).parent


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


class FeedbackPages:
    """nbgrader's feedback page of a graded notebook, from one exporter kept warm for a whole class.

    ``nbgrader generate_feedback`` builds its ``HTMLExporter`` once per command and
    loads its templates on the first page. Here the exporter is configured as
    ``GenerateFeedback`` configures it (the ``feedback`` template, ``GetGrades`` (through
    the worker's gradebook, ``autograder.gradebook``), then
    ``HideHiddenTests``, then ``CSSHTMLHeaderPreprocessor``) and warmed up by each
    grading worker while its first submission runs, so every page renders at full speed.
    Most of a class's cells are the same in every notebook, so each code cell's
    highlighting and each Markdown cell's HTML is computed once (``_CachingExporter``).
    """

    def __init__(self, config: Config, book: WorkerGradebook) -> None:
        settings = Config(config)
        settings.Exporter.default_preprocessors = []
        if "template_name" not in settings.HTMLExporter:
            settings.HTMLExporter.template_name = "feedback"
        if "extra_template_basedirs" not in settings.HTMLExporter:
            settings.HTMLExporter.extra_template_basedirs = [str(NBGRADER / "server_extensions" / "formgrader" / "templates")]
        settings.HTMLExporter.extra_template_paths = [
            str(NBGRADER / "server_extensions" / "formgrader" / "static" / "node_modules" / "bootstrap" / "dist" / "css")]
        self.exporter = _CachingExporter(config=settings)
        # Run here rather than registered, so that warming up needs no student in the gradebook.
        self.preprocessors = [kind(parent=self.exporter)
                              for kind in (GetGradesInWorker, HideHiddenTests, CSSHTMLHeaderPreprocessor)]
        self.preprocessors[0].book = book
        self._warming: Future | None = None

    def warm_up_in_background(self, notebook: NotebookNode) -> None:
        """``warm_up`` on a thread of its own; the next page written waits for it, and fails if it failed."""
        executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="feedback-warm-up")
        self._warming = executor.submit(self.warm_up, notebook)
        executor.shutdown(wait=False)  # its thread ends with the warm-up

    def warm_up(self, notebook: NotebookNode) -> None:
        """Load the templates and fill the caches with the cells every student's notebook shares.

        The page is rendered with no scores, as ``GetGrades`` would fill them in for a
        student who scored nothing, and thrown away.
        """
        notebook = copy.deepcopy(notebook)
        for cell in notebook.cells:
            grading = cell.metadata.get("nbgrader", {})
            grading.update(score=0.0, points=grading.get("points", 0.0), comment=None)
        self.exporter.from_notebook_node(notebook, {
            "metadata": {"name": "warm-up", "path": ""},
            "nbgrader": {"notebook": "warm-up", "score": 0.0, "max_score": 0.0, "late_penalty": 0.0}})

    def write(self, notebook: NotebookNode, graded: Path, folder: Path, resources: dict[str, Any]) -> None:
        """Render ``notebook`` (autograded, saved at ``graded``) into ``folder``, as ``generate_feedback`` would."""
        if self._warming is not None:
            warming, self._warming = self._warming, None
            warming.result()  # a warm-up that failed fails the first page, which the grader reports
        modified = datetime.fromtimestamp(graded.stat().st_mtime)
        resources = {**resources, "metadata": {  # what nbconvert's from_filename puts there
            "name": graded.stem, "path": str(graded.parent),
            "modified_date": f"{modified:%B} {modified.day}, {modified.year}"}}
        for preprocessor in self.preprocessors:
            notebook, resources = preprocessor(notebook, resources)
        page, _ = self.exporter.from_notebook_node(notebook, resources)
        (folder / f"{graded.stem}.html").write_text(page, encoding="utf-8")


class _CachingExporter(HTMLExporter):
    """``HTMLExporter``, remembering the HTML of each code cell's highlighting and of each Markdown cell.

    Its last step, a BeautifulSoup pass that gives images an ``alt`` and JupyterLab
    cells a ``tabindex``, costs as much as the rest of the page; the feedback template
    makes no such cells, so it runs (through ``HTMLExporter`` itself) only for a page
    with an image in it.
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._highlighted: dict[tuple, str] = {}
        self._markdown: dict[tuple, str] = {}

    def from_notebook_node(self, nb: NotebookNode, resources: dict[str, Any] | None = None, **kw: Any):
        language = nb.metadata.get("language_info", {})
        lexer = language.get("pygments_lexer", language.get("name", None))
        highlight = Highlight2HTML(pygments_lexer=lexer, parent=self)
        cache = self._highlighted

        def highlight_code(source: str, language: str | None = None, metadata: Any = None) -> str:
            key = (lexer, source, language, json.dumps(metadata, sort_keys=True, default=str))
            if key not in cache:
                cache[key] = highlight(source, language, metadata)
            return cache[key]

        started = copy.deepcopy(resources)
        resources = self._init_resources(resources)
        self.register_filter("highlight_code", highlight_code)
        self.register_filter("filter_data_type", WidgetsDataTypeFilter(
            notebook_metadata=self._nb_metadata, parent=self, resources=resources))
        page, resources = TemplateExporter.from_notebook_node(self, nb, resources, **kw)
        if "<img" in page:
            return super().from_notebook_node(nb, started, **kw)
        return page, resources

    @pass_context
    def markdown2html(self, context: Any, source: str) -> str:
        cell = context.get("cell", {})
        if cell.get("attachments"):
            return super().markdown2html(context, source)
        # The notebook's folder matters only to embedded images (``embed_images``).
        path = context.get("resources", {}).get("metadata", {}).get("path", "") if self.embed_images else ""
        key = (source, path)
        if key not in self._markdown:
            self._markdown[key] = super().markdown2html(context, source)
        return self._markdown[key]

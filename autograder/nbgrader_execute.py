"""nbgrader's Execute step, done by ``autograder.sandbox`` instead of a Jupyter kernel.

``autograder.grade`` runs every submission through the sandbox in parallel first and
stores each execution, as JSON it wrote itself, under a key made of the notebook's code
(after nbgrader's own sanitizing, which restores test cells from the source). When
``nbgrader autograde`` then reaches its Execute step, this preprocessor puts in the
stored outputs; on a key it does not know, it runs the notebook in the sandbox itself.
Everything else (restoring cells, checksums, scores in the gradebook) stays nbgrader's own.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from nbformat import NotebookNode, from_dict
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Bool, Float, Integer, Unicode

from autograder.language import notebook_language, speaking, translate_message
from autograder.sandbox import Execution, Limits, execute_cells, submission_files


def code_cells(notebook: NotebookNode) -> list[NotebookNode]:
    return [cell for cell in notebook.cells if cell.cell_type == "code"]


def code_sources(notebook: NotebookNode) -> list[str]:
    return [cell.source for cell in code_cells(notebook)]


def execution_key(notebook: NotebookNode) -> str:
    return hashlib.sha256(json.dumps(code_sources(notebook)).encode()).hexdigest()


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


class SandboxExecute(NbGraderPreprocessor):
    """Fill in each code cell's outputs from the sandbox, as nbgrader's Execute would from a kernel."""

    executions_dir = Unicode("", help="Folder of precomputed executions, and of the problems met").tag(config=True)
    cell_timeout = Float(Limits.cell_timeout, help="Seconds a cell may run").tag(config=True)
    memory_mb = Integer(Limits.memory_mb, help="Memory a submission may use, in MiB").tag(config=True)
    output_kb = Integer(Limits.output_kb, help="Printed output kept per cell, in KiB").tag(config=True)
    sandboxed = Bool(True, help="Run submissions in the bubblewrap sandbox").tag(config=True)

    def preprocess(self, nb: NotebookNode, resources: dict[str, Any]) -> tuple[NotebookNode, dict[str, Any]]:
        folder = Path(self.executions_dir)
        stored = folder / f"{execution_key(nb)}.json"
        if stored.is_file():
            execution = Execution.from_json(stored.read_text())
        else:
            limits = Limits(self.cell_timeout, self.memory_mb, self.output_kb)
            files = submission_files(Path(resources["metadata"]["path"]))
            execution = execute_cells(code_sources(nb), limits, files=files, sandboxed=self.sandboxed)
        apply_execution(nb, execution)
        student = resources["nbgrader"]["student"]
        (folder / f"{student}.execution.json").write_text(
            json.dumps({"problems": execution.problems, "review": execution.review}))
        return nb, resources

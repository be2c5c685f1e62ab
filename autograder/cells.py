"""What nbgrader's metadata says about a notebook's cells, and which cells form an exercise."""

from __future__ import annotations

from nbformat import NotebookNode


def nbgrader_meta(cell: NotebookNode) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


def is_answer(cell: NotebookNode) -> bool:
    """A cell the student writes: nbgrader calls it a solution cell."""
    return bool(nbgrader_meta(cell).get("solution"))


def is_test(cell: NotebookNode) -> bool:
    """An autograded test cell."""
    return bool(nbgrader_meta(cell).get("grade")) and cell.cell_type == "code"


def exercises(notebook: NotebookNode) -> dict[str, list[str]]:
    """Each answer cell's grade_id with the grade_ids of the test cells that follow it.

    An exercise is an answer cell and the test cells after it, up to the next answer
    cell, which is how every lesson lays them out.
    """
    tests_of: dict[str, list[str]] = {}
    current = None
    for cell in notebook.cells:
        if is_answer(cell):
            current = nbgrader_meta(cell)["grade_id"]
            tests_of[current] = []
        elif is_test(cell) and current is not None:
            tests_of[current].append(nbgrader_meta(cell)["grade_id"])
    return tests_of

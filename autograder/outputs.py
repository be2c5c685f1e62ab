"""Re-execute the solution notebooks in place, so that their committed outputs are true.

Run it after editing a lesson (``make outputs``); nbval then checks in every test run
that a fresh kernel still produces exactly these outputs. Cells tagged
``raises-exception`` may fail, as the lesson intends; any other error stops the run.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from autograder.course import Course

CELL_TIMEOUT = 60


def execute_in_place(notebook_path: Path) -> None:
    """Run every cell of the notebook in a fresh kernel and save the outputs."""
    notebook = nbformat.read(notebook_path, as_version=4)
    client = NotebookClient(
        notebook,
        timeout=CELL_TIMEOUT,
        kernel_name="python3",
        record_timing=False,
        resources={"metadata": {"path": str(notebook_path.parent)}},
    )
    client.execute()
    nbformat.write(notebook, notebook_path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("lessons", nargs="*", help="lessons to run (default: all)")
    parser.add_argument("--course", type=Path, default=Path.cwd(), help="course folder")
    args = parser.parse_args()
    course = Course.at(args.course)
    for lesson in args.lessons or course.lessons():
        print(f"executing {lesson}", flush=True)
        execute_in_place(course.solution_notebook(lesson))


if __name__ == "__main__":
    main()

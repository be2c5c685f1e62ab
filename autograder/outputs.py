"""Re-execute the solution notebooks in place, so that their committed outputs are true.

Run it after editing a lesson (``make outputs``); nbval then checks in every test run
that a fresh kernel still produces exactly these outputs. Cells tagged
``raises-exception`` may fail, as the lesson intends; any other error stops the run.
Volatile text (a kernel's temp-file path, a memory address) is masked with the same
patterns nbval masks it with, so re-running changes nothing that did not change.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import nbformat
from nbval.plugin import get_sanitize_patterns

from autograder.course import Course
from autograder.kernel import fresh_kernel_client


def masked(text: str, patterns: list[tuple[str, str]]) -> str:
    for regex, replacement in patterns:
        text = re.sub(regex, replacement, text)
    return text


def mask_volatile_text(notebook: nbformat.NotebookNode, patterns: list[tuple[str, str]]) -> None:
    """Apply nbval's sanitize patterns to the printed and displayed text of every output."""
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            if "text" in output:
                output.text = masked(output.text, patterns)
            if "text/plain" in output.get("data", {}):
                output.data["text/plain"] = masked(output.data["text/plain"], patterns)


def sanitize_patterns(course: Course) -> list[tuple[str, str]]:
    return get_sanitize_patterns(course.sanitize_patterns_file.read_text())


def execute_in_place(notebook_path: Path, patterns: list[tuple[str, str]]) -> None:
    """Run every cell of the notebook in a fresh kernel and save the masked outputs."""
    notebook = nbformat.read(notebook_path, as_version=4)
    fresh_kernel_client(
        notebook, notebook_path.parent,
        record_timing=False,
        coalesce_streams=True,  # one output per stream, however the kernel batched its writes
    ).execute()
    mask_volatile_text(notebook, patterns)
    nbformat.write(notebook, notebook_path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("lessons", nargs="*", help="lessons to run (default: all, and the course notebooks)")
    parser.add_argument("--course", type=Path, default=Path.cwd(), help="course folder")
    args = parser.parse_args()
    course = Course.at(args.course)
    patterns = sanitize_patterns(course)
    if args.lessons:
        notebooks = [course.solution_notebook(lesson) for lesson in args.lessons]
    else:
        notebooks = [course.solution_notebook(lesson) for lesson in course.lessons()] + course.course_notebooks()
    for notebook in notebooks:
        print(f"executing {notebook.relative_to(course.root)}", flush=True)
        execute_in_place(notebook, patterns)


if __name__ == "__main__":
    main()

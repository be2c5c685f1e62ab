"""Generate the student notebooks (``notebooks/``) from the solutions with nbgrader, for every edition.

The student notebooks are never edited by hand: ``make release`` rewrites them all,
and ``--check`` (run by the test suite) fails when the committed ones differ from
what nbgrader would generate now. Each translated edition (``autograder.i18n.editions``)
is built first: its solutions from the English ones and the catalogs, all executed
again so that their outputs are true (an output can hold a translated message), then
its student notebooks, with nbgrader, like the English course's.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path

import nbformat
from nbconvert.preprocessors import ClearOutputPreprocessor

from autograder.course import CONFIG_FILE, Course
from autograder.i18n.editions import build_solutions, editions, solution_differences
from autograder.nbgrader_cli import run_nbgrader
from autograder.outputs import execute_in_place, sanitize_patterns


def generate_release(course: Course) -> None:
    """Regenerate every lesson's student version, and drop those of deleted lessons.

    nbgrader releases the lesson folders; the course notebooks beside them are
    copied with their outputs cleared, so that a student sees only what they ran.
    """
    lessons = set(course.lessons())
    if course.release.is_dir():
        for path in course.release.iterdir():
            if path.is_dir() and path.name not in lessons:
                shutil.rmtree(path)
            elif path.suffix == ".ipynb" and not (course.source / path.name).is_file():
                path.unlink()
    run_nbgrader("generate_assignment", "*", "--force", course=course.root)
    for source in course.course_notebooks():
        notebook = nbformat.read(source, as_version=4)
        ClearOutputPreprocessor().preprocess(notebook, {})
        nbformat.write(notebook, course.release / source.name)


def _tree(folder: Path) -> dict[str, object]:
    """Every file below ``folder``: notebooks as parsed JSON, other files as bytes."""
    files: dict[str, object] = {}
    for path in sorted(folder.rglob("*")):
        if path.is_file() and ".ipynb_checkpoints" not in path.parts:
            name = str(path.relative_to(folder))
            files[name] = json.loads(path.read_text()) if path.suffix == ".ipynb" else path.read_bytes()
    return files


def release_differences(course: Course) -> list[str]:
    """The files of the committed release that differ from a fresh generation."""
    with tempfile.TemporaryDirectory() as scratch:
        fresh = Course(Path(scratch))
        shutil.copy(course.root / CONFIG_FILE, fresh.root / CONFIG_FILE)
        shutil.copytree(course.source, fresh.source)
        generate_release(fresh)
        expected, committed = _tree(fresh.release), _tree(course.release)
    return sorted(
        name for name in expected.keys() | committed.keys() if expected.get(name) != committed.get(name)
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--course", type=Path, default=Path.cwd(), help="course folder (the English one)")
    parser.add_argument("--check", action="store_true", help="only report differences")
    args = parser.parse_args()
    course = Course.at(args.course)
    if not args.check:
        generate_release(course)
        print(f"regenerated {course.release} for {len(course.lessons())} lessons")
        for edition in editions(course):
            changed = build_solutions(edition)
            # All of them run again: an output can hold a message of the autograder's catalog too.
            for notebook in [edition.course.solution_notebook(lesson) for lesson in edition.course.lessons()] \
                    + edition.course.course_notebooks():
                done = "translated and executed" if notebook in changed else "executed"
                execute_in_place(notebook, sanitize_patterns(edition.course))
                print(f"{done} {notebook.relative_to(course.root)}", flush=True)
            generate_release(edition.course)
            print(f"regenerated {edition.course.release} for {len(edition.course.lessons())} lessons")
        return
    differences = [f"{course.release.name}/{name}" for name in release_differences(course)]
    for edition in editions(course):
        differences += solution_differences(edition)
        differences += [f"{edition.language}/{edition.course.release.name}/{name}"
                        for name in release_differences(edition.course)]
    for name in differences:
        print(f"out of date: {name}")
    if differences:
        sys.exit("the generated notebooks differ from the solutions and the catalogs: run `make release`")
    print("the student notebooks and the translated editions match the solutions and the catalogs")


if __name__ == "__main__":
    main()

"""Grade one lesson for a whole class in one command, on top of nbgrader, losing nothing.

    python -m autograder.grade 01-async-iterator-protocol            # submitted/<student>/<lesson>/
    python -m autograder.grade 01-async-iterator-protocol --zip class.zip

Steps: collect (nbgrader's ``zip_collect`` for an LMS zip); inspect each submission
(missing, renamed or malformed notebook, deleted or edited test cells) and read what
the student wrote for code that reaches for the grading machinery (``autograder.tamper``);
execute every submission in a bubblewrap sandbox (a fresh fork of a warm process each), in parallel; ``nbgrader
autograde`` with the sandbox in place of its kernel (so the gradebook, checksums and
formgrader are nbgrader's own); ``nbgrader generate_feedback`` without the hidden
tests; then a grades CSV, a summary with pass rates (table and PNG), a report page per
student, and the list of every problem met and every submission that needs review
(``autograder.report``), and, with ``--export canvas`` or ``--export moodle``, a grade
import file for that LMS.

Without a working ``bwrap`` it refuses to run students' code, unless told
``--no-sandbox``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbformat import NotebookNode
from nbgrader.api import Gradebook, MissingEntry
from nbgrader.preprocessors import (
    CheckCellMetadata, ClearOutput, DeduplicateIds, OverwriteCells, OverwriteKernelspec,
)
from traitlets.config.loader import PyFileConfigLoader

from autograder.cells import is_test, nbgrader_meta
from autograder.course import CONFIG_FILE, Course
from autograder.exports import EXPORTS
from autograder.language import N_
from autograder.nbgrader_cli import run_nbgrader
from autograder.nbgrader_execute import execution_key, code_sources
from autograder.report import write_reports
from autograder.sandbox import Limits, execute_cells, submission_files
from autograder.sandbox.bwrap import bwrap_problem
from autograder.tamper import review_reasons

#: A zip from an LMS holds ``<student>/<notebook>.ipynb``, unless --zip-pattern says otherwise.
DEFAULT_ZIP_PATTERN = r".*/(?P<student_id>[^/]+)/(?P<file_id>[^/]+\.ipynb)$"
SANITIZE = [ClearOutput, DeduplicateIds, OverwriteKernelspec, OverwriteCells, CheckCellMetadata]


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


def sanitized(notebook: NotebookNode, lesson: str, student: str, db_url: str, config) -> NotebookNode:
    """The notebook as nbgrader's autograde will execute it (test cells restored from the source)."""
    resources = {"nbgrader": {"notebook": lesson, "assignment": lesson, "student": student, "db_url": db_url},
                 "metadata": {}}
    for preprocessor in SANITIZE:
        notebook, resources = preprocessor(config=config).preprocess(notebook, resources)
    return notebook


def execute_one(folder: Path, notebook: NotebookNode, out_dir: Path, limits: Limits, sandboxed: bool) -> None:
    """Run one submission in its sandbox and store the execution, as JSON, by key."""
    execution = execute_cells(code_sources(notebook), limits, files=submission_files(folder), sandboxed=sandboxed)
    (out_dir / f"{execution_key(notebook)}.json").write_text(execution.to_json())


def given_sources(course: Course, lesson: str) -> set[str]:
    """The code cells the course itself provides (both versions): nobody reviews those."""
    notebooks = [course.student_notebook(lesson), course.solution_notebook(lesson)]
    return {source for path in notebooks for source in code_sources(nbformat.read(path, as_version=4))}


def progress(done: int, total: int, label: str) -> None:
    width = 30
    filled = width * done // max(total, 1)
    sys.stderr.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total} {label[:40]:40}")
    if done == total:
        sys.stderr.write("\n")
    sys.stderr.flush()


def phase(started: float, what: str) -> None:
    print(f"{time.monotonic() - started:7.1f} s  {what}", file=sys.stderr, flush=True)


def collect_zip(course: Course, lesson: str, archive: Path, pattern: str) -> None:
    if not archive.is_file():
        raise SystemExit(f"no such zip file: {archive}")
    target = course.root / "downloaded" / lesson / "archive"
    target.mkdir(parents=True, exist_ok=True)
    shutil.copy(archive, target / archive.name)
    run_nbgrader("zip_collect", lesson, "--force", f"--FileNameCollectorPlugin.named_regexp={pattern}", course=course.root)


def grade(course: Course, lesson: str, *, limits: Limits, jobs: int, regrade: bool, sandboxed: bool = True,
          exports: Sequence[str] = ()) -> Path:
    if lesson not in course.lessons():
        raise SystemExit(f"unknown lesson {lesson!r}; the lessons are: {', '.join(course.lessons())}")
    if sandboxed and (problem := bwrap_problem()):
        raise SystemExit(f"Refusing to run students' code without a sandbox: {problem}.\n"
                         "Grading without one (--no-sandbox) lets a submission read and change this course's "
                         "files, the gradebook and other students' work: do it only for code you trust.")
    started = time.monotonic()
    config = PyFileConfigLoader(CONFIG_FILE, path=str(course.root)).load_config()
    db_url = f"sqlite:///{course.root / 'gradebook.db'}"
    if not _in_gradebook(db_url, lesson):
        run_nbgrader("generate_assignment", lesson, "--force", course=course.root)
    release = nbformat.read(course.student_notebook(lesson), as_version=4)
    phase(started, "registered the lesson in the gradebook")

    folders = course.submissions(lesson)
    if not folders:
        raise SystemExit(f"no submissions: expected folders like {course.submitted}/<student>/{lesson}/")
    submissions = [Submission(folder.parent.name, folder) for folder in folders]
    work = course.root / ".grading" / lesson
    graded_at = _load(work.parent / f"{lesson}.graded.json")
    if not regrade:
        submissions = [s for s in submissions if graded_at.get(s.student) != _last_change(s.folder)]
    shutil.rmtree(work, ignore_errors=True)
    staging, executions = work / "submitted", work / "executions"
    executions.mkdir(parents=True)
    for submission in submissions:
        inspect(submission, lesson, release)
        target = staging / submission.student / lesson
        shutil.copytree(submission.folder, target)
        if submission.notebook is None:  # no notebook at all: nbgrader then scores it as missing, 0
            for notebook in target.glob("*.ipynb"):
                notebook.unlink()

    phase(started, f"inspected and staged {len(submissions)} submissions")
    runnable = [s for s in submissions if s.notebook is not None]
    given = given_sources(course, lesson)
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        futures = {}
        for s in runnable:
            try:
                notebook = sanitized(s.notebook, lesson, s.student, db_url, config)
            except Exception as error:  # nbgrader will refuse it too; the report says why
                s.problems.append(N_("nbgrader cannot read the notebook's cells: {error}").format(
                    error=f"{type(error).__name__}: {error}"))
                continue
            s.review += review_reasons(code_sources(notebook), given)
            futures[pool.submit(execute_one, s.folder, notebook, executions, limits, sandboxed)] = s
        for done, future in enumerate(as_completed(futures), start=1):
            if future.exception() is not None:  # nbgrader's step then runs the notebook itself
                futures[future].problems.append(
                    N_("the sandbox failed before grading: {error}").format(error=future.exception()))
            progress(done, len(futures), f"executed {futures[future].student}")
    phase(started, "executed in the sandbox")

    if submissions:
        names = [s.student for s in submissions]
        autograde = [
            "autograde", lesson, "--force",
            f"--CourseDirectory.submitted_directory={staging}",
            "--Autograde.autograde_preprocessors=" + json.dumps([
                "autograder.nbgrader_execute.SandboxExecute", "nbgrader.preprocessors.IgnorePattern",
                "nbconvert.preprocessors.ClearMetadataPreprocessor", "nbgrader.preprocessors.LimitOutput",
                "nbgrader.preprocessors.SaveAutoGrades", "nbgrader.preprocessors.AssignLatePenalties",
                "nbgrader.preprocessors.CheckCellMetadata",
            ]),
            f"--SandboxExecute.executions_dir={executions}",
            f"--SandboxExecute.cell_timeout={limits.cell_timeout}",
            f"--SandboxExecute.memory_mb={limits.memory_mb}",
            f"--SandboxExecute.output_kb={limits.output_kb}",
            f"--SandboxExecute.sandboxed={sandboxed}",
        ]
        log = _in_shards(course, autograde, names, jobs)
        # A shard can fail a student when the gradebook is busy; grade those once more, alone.
        missed = [s.student for s in runnable
                  if not (course.root / "autograded" / s.student / lesson / f"{lesson}.ipynb").is_file()]
        if missed:
            log += _in_shards(course, autograde, missed, 1)
        phase(started, "scored by nbgrader autograde")
        feedback = ["generate_feedback", lesson, "--force", "--GenerateFeedback.preprocessors=" + json.dumps([
            "nbgrader.preprocessors.GetGrades", "autograder.feedback.HideHiddenTests",
            "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor"])]
        log += _in_shards(course, feedback, names, jobs)
        (work.parent / f"{lesson}.nbgrader.log").write_text(log)
        phase(started, "feedback by nbgrader generate_feedback")
    for submission in submissions:
        sidecar = executions / f"{submission.student}.execution.json"
        if sidecar.is_file():
            found = json.loads(sidecar.read_text())
            submission.problems += found["problems"]
            submission.review += found["review"]
    problems = _load(work.parent / f"{lesson}.problems.json")
    problems.update({s.student: s.problems for s in submissions})
    _save(work.parent / f"{lesson}.problems.json", problems)
    review = _load(work.parent / f"{lesson}.review.json")
    review.update({s.student: s.review for s in submissions})
    _save(work.parent / f"{lesson}.review.json", review)
    graded_at.update({s.student: _last_change(s.folder) for s in submissions})
    _save(work.parent / f"{lesson}.graded.json", graded_at)
    reports = write_reports(course, lesson, db_url, problems, review, exports)
    shutil.rmtree(work)
    print(f"graded {len(submissions)} submissions of {lesson} in {time.monotonic() - started:.1f} s; "
          f"reports in {reports}", file=sys.stderr)
    return reports


def _in_gradebook(db_url: str, lesson: str) -> bool:
    try:
        with Gradebook(db_url) as gradebook:
            gradebook.find_assignment(lesson)
    except MissingEntry:
        return False
    return True


def _last_change(folder: Path) -> float:
    """When the submission last changed: a run skips students whose submission has not."""
    return max((p.stat().st_mtime for p in folder.rglob("*") if p.is_file()), default=folder.stat().st_mtime)


def _in_shards(course: Course, command: list[str], students: list[str], jobs: int) -> str:
    """Run an nbgrader command for ``students``, split across ``jobs`` processes at once.

    nbgrader takes one student pattern, or a list of students to leave out; each shard
    leaves out everyone who is not its own.
    """
    everyone = [folder.parent.name for folder in course.submissions(command[1])]
    shards = [students[i::jobs] for i in range(min(jobs, len(students)))]

    def run(shard: list[str]) -> str:
        mine = set(shard)
        others = ",".join(s for s in everyone if s not in mine)
        return run_nbgrader(*command, f"--CourseDirectory.student_id_exclude={others}",
                            course=course.root, check=False)

    with ThreadPoolExecutor(max_workers=len(shards) or 1) as pool:
        return "".join(pool.map(run, shards))


def _load(path: Path) -> dict:
    """Per-student state kept across runs (problems met, when last graded)."""
    return json.loads(path.read_text()) if path.is_file() else {}


def _save(path: Path, state: dict) -> None:
    path.write_text(json.dumps(state, indent=1, sort_keys=True))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("lesson", help="the lesson (nbgrader assignment) to grade")
    parser.add_argument("--zip", type=Path, help="an LMS download to collect into submitted/ first")
    parser.add_argument("--zip-pattern", default=DEFAULT_ZIP_PATTERN,
                        help="regular expression naming student_id and file_id in the zip's paths")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="submissions run at once")
    parser.add_argument("--cell-timeout", type=float, default=Limits.cell_timeout,
                        help="seconds a cell may run (default %(default)g)")
    parser.add_argument("--memory-mb", type=int, default=Limits.memory_mb,
                        help="memory per submission, MiB (default %(default)d)")
    parser.add_argument("--output-kb", type=int, default=Limits.output_kb,
                        help="printed output kept per cell, KiB (default %(default)d)")
    parser.add_argument("--regrade", action="store_true", help="grade again what is already graded")
    parser.add_argument("--no-sandbox", action="store_true",
                        help="run submissions without bubblewrap (only for code you trust)")
    parser.add_argument("--export", action="append", choices=EXPORTS, default=[],
                        help="also write a grade import file for this LMS (reports/<lesson>/<lms>.csv); repeatable")
    parser.add_argument("--course", type=Path, default=Path.cwd(), help="course folder")
    args = parser.parse_args()
    course = Course.at(args.course)
    if args.zip:
        collect_zip(course, args.lesson, args.zip, args.zip_pattern)
    limits = Limits(args.cell_timeout, args.memory_mb, args.output_kb)
    grade(course, args.lesson, limits=limits, jobs=args.jobs, regrade=args.regrade, sandboxed=not args.no_sandbox,
          exports=args.export)


if __name__ == "__main__":
    main()

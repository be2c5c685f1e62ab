"""Grade one lesson for a whole class in one command, on top of nbgrader, losing nothing.

    python -m autograder.grade 01-async-iterator-protocol            # submitted/<student>/<lesson>/
    python -m autograder.grade 01-async-iterator-protocol --zip class.zip

Steps: collect (nbgrader's ``zip_collect`` for an LMS zip); start a sandbox per worker,
and in it that worker's first submission once the lesson is in the gradebook
(``autograder.early_start``), and load nbgrader meanwhile; register the lesson in the
gradebook when it is not there yet (nbgrader's ``GenerateAssignment``); then grade every
submission in ``--jobs`` warm worker processes (``autograder.workers``), each student
from end to end in one go (``autograder.grading``): inspect it (missing, renamed or
malformed notebook, deleted or edited test cells), read what the student wrote for code
that reaches for the grading machinery (``autograder.tamper``), execute it in a
bubblewrap sandbox (a fresh fork of a warm process), score it with nbgrader's own
preprocessors into nbgrader's gradebook, and write nbgrader's feedback page without the
hidden tests. Last, a grades CSV, a summary with pass rates (table and PNG), a report
page per student, and the list of every problem met and every submission that needs
review (``autograder.report``), and, with ``--export canvas`` or ``--export moodle``, a
grade import file for that LMS.

Without a working ``bwrap`` it refuses to run students' code, unless told
``--no-sandbox``.
"""

from __future__ import annotations

import time

STARTED = time.monotonic()

import sys  # noqa: E402

# jsonschema loads this optional IRI checker when it is installed (jupyter-events needs it).
# It compiles a grammar at import, 0.9 s of this command's start-up; grading checks no IRI.
sys.modules.setdefault("rfc3987_syntax", None)

import argparse  # noqa: E402  (after the line above, before anything imports jsonschema)
import gc  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import shutil  # noqa: E402
from collections.abc import Sequence  # noqa: E402
from pathlib import Path  # noqa: E402

from traitlets.config.loader import PyFileConfigLoader  # noqa: E402

from autograder.course import CONFIG_FILE, Course  # noqa: E402
from autograder.early_start import start_early_runs, stop_early_runs  # noqa: E402
from autograder.exports import EXPORTS  # noqa: E402
from autograder.language import N_  # noqa: E402
from autograder.nbgrader_cli import run_nbgrader  # noqa: E402
from autograder.sandbox import Limits, adopt_sandbox, prestart_sandboxes  # noqa: E402
from autograder.sandbox.bwrap import bwrap_problem  # noqa: E402
from autograder.workers import run_all  # noqa: E402

#: A zip from an LMS holds ``<student>/<notebook>.ipynb``, unless --zip-pattern says otherwise.
DEFAULT_ZIP_PATTERN = r".*/(?P<student_id>[^/]+)/(?P<file_id>[^/]+\.ipynb)$"
#: The steps of grading one submission, as ``LessonGrader.grade`` times them.
STEPS = ("read", "execute", "score", "feedback")


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
          exports: Sequence[str] = (), started: float | None = None) -> Path:
    """Grade every submission of ``lesson`` that changed since it was last graded; write the reports.

    ``started`` is when the command started (``time.monotonic()``), for the times it prints.
    """
    started = time.monotonic() if started is None else started
    if lesson not in course.lessons():
        raise SystemExit(f"unknown lesson {lesson!r}; the lessons are: {', '.join(course.lessons())}")
    if sandboxed and (problem := bwrap_problem()):
        raise SystemExit(f"Refusing to run students' code without a sandbox: {problem}.\n"
                         "Grading without one (--no-sandbox) lets a submission read and change this course's "
                         "files, the gradebook and other students' work: do it only for code you trust.")
    folders = course.submissions(lesson)
    if not folders:
        raise SystemExit(f"no submissions: expected folders like {course.submitted}/<student>/{lesson}/")
    state = course.root / ".grading"
    state.mkdir(exist_ok=True)
    graded_at = _load(state / f"{lesson}.graded.json")
    # When each submission last changed, as handed to grading: one changed during the run is graded next time.
    changed = {folder.parent.name: _last_change(folder) for folder in folders}
    students = [student for student, when in changed.items() if regrade or graded_at.get(student) != when]
    prestart_sandboxes(min(jobs, len(students)), limits, sandboxed)  # they start while nbgrader is loaded
    early = start_early_runs(course, lesson, students[:jobs], limits, sandboxed)  # and the first submissions run

    # nbgrader and nbconvert take most of a second to import, the one wait every run has:
    # imported only now, while the sandboxes start on the other cores, and without the
    # garbage collector, which would walk their objects again and again and free nothing.
    gc.disable()
    try:
        from autograder import grading, report
    finally:
        gc.freeze()  # what they loaded is there for good: no collection need walk it again
        gc.enable()
    config = PyFileConfigLoader(CONFIG_FILE, path=str(course.root)).load_config()
    if grading.register_lesson(course, lesson, config):
        phase(started, "registered the lesson in the gradebook")
    grader = grading.LessonGrader(course, lesson, config, limits, sandboxed, early)
    gc.freeze()  # what the workers share stays shared: their collections never walk it, so never copy it
    phase(started, f"loaded nbgrader; grading {len(students)} submissions")

    outcomes: dict[str, dict] = {}
    errors, failed_students = [], set()
    for done, outcome in enumerate(run_all(students, grader.grade, jobs, finish=grader.close, prepare=adopt_sandbox),
                                   start=1):
        if outcome.result is None:  # a fault of the grader's, not the student's: kept for the teacher
            errors.append(f"{outcome.task}:\n{outcome.error}")
            failed_students.add(outcome.task)
            last_line = outcome.error.strip().splitlines()[-1]
            failed = N_("the grader failed on this submission ({error}); see {log}")
            outcome.result = {"problems": [failed.format(error=last_line, log=state / f"{lesson}.errors.log")],
                              "review": [], "seconds": {}}
        outcomes[outcome.task] = outcome.result
        progress(done, len(students), f"graded {outcome.task}")
        if done == 1:  # the workers are warm; matplotlib is for the reports (see load_plotting)
            report.load_plotting()
    stop_early_runs(early)  # each has handed its work on by now
    if errors:
        with (state / f"{lesson}.errors.log").open("a") as log:
            log.write("".join(f"{error}\n" for error in errors))
        for student, problems in grader.register(failed_students).items():  # in the gradebook all the same
            outcomes[student]["problems"] += problems
    spent = {step: sum(o["seconds"].get(step, 0.0) for o in outcomes.values()) for step in STEPS}
    phase(started, f"graded {len(students)} submissions with {jobs} jobs (summed over the jobs: "
          + ", ".join(f"{step} {seconds:.1f} s" for step, seconds in spent.items()) + ")")

    problems = _record(state / f"{lesson}.problems.json", {s: o["problems"] for s, o in outcomes.items()})
    review = _record(state / f"{lesson}.review.json", {s: o["review"] for s, o in outcomes.items()})
    # A submission the grader failed on has no failures of its own: the report reads its graded notebook.
    failures = _record(state / f"{lesson}.failures.json", {s: o.get("failures") for s, o in outcomes.items()})
    # Nor is it graded: the next run tries it again.
    _record(state / f"{lesson}.graded.json", {s: changed[s] for s in outcomes if s not in failed_students})
    _record(state / f"{lesson}.seconds.json", {student: o["seconds"] for student, o in outcomes.items()})
    reports = report.write_reports(course, lesson, course.gradebook_url, problems, review, failures, exports)
    phase(started, "reports written")
    print(f"graded {len(students)} submissions of {lesson} in {time.monotonic() - started:.1f} s; "
          f"reports in {reports}", file=sys.stderr)
    return reports


def _last_change(folder: Path) -> float:
    """When the submission last changed: a run skips students whose submission has not."""
    return max((p.stat().st_mtime for p in folder.rglob("*") if p.is_file()), default=folder.stat().st_mtime)


def _at_least_one(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of 1 or more, not {text!r}")
    return int(text)


def _load(path: Path) -> dict:
    """Per-student state kept across runs (problems met, when last graded)."""
    return json.loads(path.read_text()) if path.is_file() else {}


def _record(path: Path, found: dict) -> dict:
    """The per-student state at ``path`` updated with this run's ``found`` (``None`` forgets that student)."""
    state = _load(path)
    for student, value in found.items():
        if value is None:
            state.pop(student, None)
        else:
            state[student] = value
    path.write_text(json.dumps(state, indent=1, sort_keys=True))
    return state


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("lesson", help="the lesson (nbgrader assignment) to grade")
    parser.add_argument("--zip", type=Path, help="an LMS download to collect into submitted/ first")
    parser.add_argument("--zip-pattern", default=DEFAULT_ZIP_PATTERN,
                        help="regular expression naming student_id and file_id in the zip's paths")
    parser.add_argument("--jobs", type=_at_least_one, default=os.cpu_count() or 1, help="submissions run at once")
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
          exports=args.export, started=STARTED)
    # Everything is written and closed. Exiting, the interpreter would collect garbage
    # once more over all that nbgrader loaded, a few tenths of a second to free nothing.
    gc.freeze()


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:  # the workers and their sandboxes are already stopped
        raise SystemExit("interrupted: nothing of this run was recorded; run the command again") from None

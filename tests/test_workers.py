"""The grading command's warm worker processes: every task gets an outcome, whatever a worker does."""

from __future__ import annotations

import os
import select
import signal
from pathlib import Path

import psutil
import pytest

from autograder.workers import run_all


def work(task: str) -> dict:
    if task == "dies":
        os.kill(os.getpid(), signal.SIGKILL)
    if task == "raises":
        raise ValueError("no such student")
    return {"task": task, "worker": os.getpid()}


def test_every_task_gets_its_result_and_the_work_is_shared() -> None:
    tasks = [f"student-{i}" for i in range(12)]
    outcomes = list(run_all(tasks, work, jobs=3))
    assert sorted(o.task for o in outcomes) == sorted(tasks)
    assert all(o.result == {"task": o.task, "worker": o.result["worker"]} for o in outcomes)
    assert len({o.result["worker"] for o in outcomes}) == 3
    assert os.getpid() not in {o.result["worker"] for o in outcomes}


def test_a_worker_that_dies_costs_its_task_only_and_is_replaced() -> None:
    tasks = ["a", "dies", "b", "c", "dies", "d"]
    outcomes = {(o.task, o.error is None) for o in run_all(tasks, work, jobs=2)}
    assert outcomes == {("a", True), ("b", True), ("c", True), ("d", True), ("dies", False)}
    errors = [o.error for o in run_all(["dies"], work, jobs=1)]
    assert errors == ["the grading worker died (killed by SIGKILL)"]


def test_an_exception_is_reported_with_its_traceback_and_the_worker_goes_on() -> None:
    outcomes = {o.task: o for o in run_all(["raises", "x", "y"], work, jobs=1)}
    assert outcomes["raises"].result is None
    assert "ValueError: no such student" in outcomes["raises"].error
    assert outcomes["x"].result["worker"] == outcomes["y"].result["worker"]  # the same worker went on


def test_a_task_that_never_ends_holds_up_nobody_else(tmp_path: Path) -> None:
    """The blocked task waits on a pipe that is opened only once every other task has its result."""
    release = tmp_path / "release"
    os.mkfifo(release)

    def blocked_or_quick(task: str) -> dict:
        if task == "blocked":
            return {"read": release.read_text()}
        return {}

    finished = []
    for outcome in run_all(["blocked", "a", "b", "c", "d"], blocked_or_quick, jobs=2):
        finished.append(outcome.task)
        if sorted(finished) == ["a", "b", "c", "d"]:
            release.write_text("go")
    assert finished[-1] == "blocked"


@pytest.mark.parametrize("first", ["quick", "dies"])
def test_the_next_task_is_under_way_before_the_caller_sees_the_last_outcome(first: str) -> None:
    """A caller busy with one outcome (loading matplotlib for the reports, say) keeps no worker idle.

    After a result, its worker has the next task already; after a death, its replacement
    has. The second task announces itself on a pipe, which the caller reads before it
    asks for the next outcome: it hears the announcement only if the task was under way.
    The wait is a bound for a failing run, never part of a passing one.
    """
    announced, announce = os.pipe()

    def work_or_announce(task: str) -> dict:
        if task == "second":
            os.write(announce, b"second")
        return work(task)

    outcomes = run_all([first, "second"], work_or_announce, jobs=1)
    try:
        assert next(outcomes).task == first
        heard, _, _ = select.select([announced], [], [], 60)
        assert heard, "the second task started only once the caller took the first outcome"
        assert os.read(announced, 16) == b"second"
        assert [o.task for o in outcomes] == ["second"]
    finally:
        outcomes.close()
        os.close(announced)
        os.close(announce)


def test_no_worker_is_left_behind() -> None:
    before = {p.pid for p in psutil.Process().children(recursive=True)}
    for _ in run_all(["a", "dies", "b"], work, jobs=2):
        pass
    outcomes = run_all(["a", "b", "c", "d"], work, jobs=2)
    next(outcomes)
    outcomes.close()  # the teacher stopped the command half way
    assert {p.pid for p in psutil.Process().children(recursive=True)} == before


def test_no_worker_for_the_tasks_is_an_error_not_an_empty_success() -> None:
    with pytest.raises(ValueError, match="no worker"):
        list(run_all(["a"], work, jobs=0))

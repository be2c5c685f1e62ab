"""The sandbox that runs submissions: outputs in nbformat's shape, and every limit holding."""

from __future__ import annotations

from pathlib import Path

import pytest

from autograder.sandbox import Limits, execute_cells

LIMITS = Limits(cell_timeout=2, memory_mb=1024, output_kb=4)


def run(tmp_path: Path, *sources: str):
    return execute_cells(list(sources), LIMITS)


def kinds(result) -> list[tuple[str, str]]:
    return [(o["output_type"], o.get("name") or o.get("ename") or "") for o in result.outputs]


def test_cells_run_as_in_a_kernel(tmp_path: Path) -> None:
    execution = run(
        tmp_path,
        "import asyncio\nprint('hi')\n40 + 2",
        "asyncio.get_running_loop().is_running()",
        "await asyncio.sleep(0)\nasync def main(): pass\nasyncio.run(main())",
    )
    first, second, third = (execution.results[i] for i in range(3))
    assert kinds(first) == [("stream", "stdout"), ("execute_result", "")]
    assert first.outputs[1]["data"]["text/plain"] == "42"
    assert second.outputs[0]["data"]["text/plain"] == "True"
    assert third.outputs[0]["ename"] == "RuntimeError"  # a running loop, as in Jupyter
    assert execution.problems == []


@pytest.mark.parametrize("hang", ["while True:\n    pass", "import asyncio\nawait asyncio.Event().wait()"])
def test_a_hanging_cell_is_stopped_and_the_next_cells_run(tmp_path: Path, hang: str) -> None:
    execution = run(tmp_path, "x = 1", hang, "print(x + 1)")
    assert execution.results[1].outputs[-1]["ename"] == "CellTimeoutError"
    assert execution.results[2].outputs == [{"output_type": "stream", "name": "stdout", "text": "2\n"}]


def test_a_dead_process_costs_only_its_cell(tmp_path: Path) -> None:
    execution = run(tmp_path, "x = 1", "import os\nos._exit(3)", "print(x + 1)")
    assert execution.results[1].outputs[0]["ename"] == "DeadKernelError"
    assert "exit code 3" in execution.problems[0]
    assert execution.results[2].outputs[0]["text"] == "2\n"  # the earlier cells were replayed


def test_a_cell_that_ignores_the_alarm_is_killed(tmp_path: Path) -> None:
    execution = run(tmp_path, "import signal, time\nsignal.signal(signal.SIGALRM, signal.SIG_IGN)\ntime.sleep(60)",
                    "print('next')")
    assert execution.results[0].outputs[0]["ename"] == "CellTimeoutError"
    assert execution.results[1].outputs[0]["text"] == "next\n"


def test_memory_and_output_are_capped(tmp_path: Path) -> None:
    execution = run(tmp_path, "block = bytearray(2 * 1024 ** 3)", "print('x' * 100_000)")
    assert execution.results[0].outputs[-1]["ename"] == "MemoryError"
    printed = execution.results[1].outputs[0]["text"]
    assert len(printed) < 5_000 and printed.endswith("[output cut: over the size limit]\n")

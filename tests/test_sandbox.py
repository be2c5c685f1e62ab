"""The sandbox that runs submissions, attacked as a hostile student would.

Each test runs cells through ``execute_cells`` exactly as the grading command does
(bubblewrap, the runner, the JSON channel) and checks a limit or a wall from outside:
the host's files, the host's processes, a listener on the host's loopback.
"""

from __future__ import annotations

import os
import socket
import time
import uuid
from pathlib import Path

import nbformat
import psutil
import pytest

from autograder.cells import is_test, nbgrader_meta
from autograder.sandbox import Limits, execute_cells
from autograder.sandbox.limits import KILL_GRACE
from tests.conftest import REPOSITORY

LIMITS = Limits(cell_timeout=2, memory_mb=1024, output_kb=4)


def run(*sources: str, limits: Limits = LIMITS):
    return execute_cells(list(sources), limits)


def kinds(result) -> list[tuple[str, str]]:
    return [(o["output_type"], o.get("name") or o.get("ename") or "") for o in result.outputs]


def errors(result) -> list[str]:
    return [o["ename"] for o in result.outputs if o["output_type"] == "error"]


def printed(result) -> str:
    return "".join(o["text"] for o in result.outputs if o["output_type"] == "stream")


def marked_processes(marker: str) -> list[psutil.Process]:
    alive = []
    for process in psutil.process_iter(["cmdline"]):
        if marker in " ".join(process.info["cmdline"] or []):
            alive.append(process)
    return alive


# -- Cells run as in a kernel, and the ordinary limits hold -----------------------------------------------


def test_cells_run_as_in_a_kernel() -> None:
    execution = run(
        "import asyncio\nprint('hi')\n40 + 2",
        "asyncio.get_running_loop().is_running()",
        "await asyncio.sleep(0)\nasync def main(): pass\nasyncio.run(main())",
    )
    first, second, third = (execution.results[i] for i in range(3))
    assert kinds(first) == [("stream", "stdout"), ("execute_result", "")]
    assert first.outputs[1]["data"]["text/plain"] == "42"
    assert second.outputs[0]["data"]["text/plain"] == "True"
    assert third.outputs[0]["ename"] == "RuntimeError"  # a running loop, as in Jupyter
    assert execution.problems == [] and execution.review == []


@pytest.mark.parametrize("hang", ["while True:\n    pass", "import asyncio\nawait asyncio.Event().wait()"])
def test_a_hanging_cell_is_stopped_and_the_next_cells_run(hang: str) -> None:
    execution = run("x = 1", hang, "print(x + 1)")
    assert execution.results[1].outputs[-1]["ename"] == "CellTimeoutError"
    assert execution.results[2].outputs == [{"output_type": "stream", "name": "stdout", "text": "2\n"}]


def test_a_dead_process_costs_only_its_cell() -> None:
    execution = run("x = 1", "import os\nos._exit(3)", "print(x + 1)")
    assert execution.results[1].outputs[0]["ename"] == "DeadKernelError"
    assert "exit code 3" in execution.problems[0]
    assert printed(execution.results[2]) == "2\n"  # the earlier cells were replayed


def test_without_the_sandbox_the_same_runner_runs_the_cells() -> None:
    """``--no-sandbox``: no walls, but the same process, channel, limits and judgement."""
    execution = execute_cells(["import os\nprint(os.getcwd() != '/home/student')", "import bdb\nraise bdb.BdbQuit",
                               "import os\nos._exit(1)", "print('next')"], LIMITS, sandboxed=False)
    assert printed(execution.results[0]) == "True\n"
    assert errors(execution.results[1]) == ["BdbQuit"] and errors(execution.results[2]) == ["DeadKernelError"]
    assert printed(execution.results[3]) == "next\n"


def test_memory_and_output_are_capped() -> None:
    execution = run("block = bytearray(2 * 1024 ** 3)", "print('x' * 100_000)")
    assert execution.results[0].outputs[-1]["ename"] == "MemoryError"
    text = printed(execution.results[1])
    assert len(text) < 5_000 and text.endswith("[output cut: over the size limit]\n")


# -- Hiding a failure from the grader -------------------------------------------------------------------------

FAILING_TEST = "assert 1 == 2, 'the test failed'"


@pytest.mark.parametrize("silencer", [
    "get_ipython()._showtraceback = lambda *args, **kwargs: None",
    "get_ipython().showtraceback = lambda *args, **kwargs: None",
    "get_ipython().set_custom_exc((BaseException,), lambda *args, **kwargs: None)",
    "get_ipython().InteractiveTB = None",
])
def test_a_silenced_failure_still_fails(silencer: str) -> None:
    execution = run(silencer, FAILING_TEST)
    assert errors(execution.results[1]) == ["AssertionError"]


@pytest.mark.parametrize("raised, name", [
    ("import bdb\nraise bdb.BdbQuit", "BdbQuit"),
    ("raise KeyboardInterrupt", "KeyboardInterrupt"),
    ("raise SystemExit(0)", "SystemExit"),
    ("raise ExceptionGroup('many', [ValueError(1), TypeError(2)])", "ExceptionGroup"),
    ("raise BaseExceptionGroup('many', [GeneratorExit()])", "BaseExceptionGroup"),
])
def test_exceptions_ipython_does_not_show_as_errors_are_failures(raised: str, name: str) -> None:
    execution = run(f"def stub():\n    {raised.replace(chr(10), chr(10) + '    ')}", "stub()")
    assert errors(execution.results[1]) == [name]
    assert all(o["evalue"] or o["traceback"] for o in execution.results[1].outputs if o["output_type"] == "error")


# -- Forging results ------------------------------------------------------------------------------------------

FIND_CHANNEL = """
import os, json, struct
def channel_fds():
    return [int(fd) for fd in os.listdir('/proc/self/fd') if int(fd) > 2 and os.path.islink(f'/proc/self/fd/{fd}')
            and 'pipe:' in os.readlink(f'/proc/self/fd/{fd}')]
def forge_raw(data: bytes):
    for fd in channel_fds():
        try:
            os.write(fd, data)
        except OSError:
            pass
def forge(payload: bytes):
    forge_raw(struct.pack('!I', len(payload)) + payload)
"""


def forged_pass(cell: int) -> str:
    return f"forge(json.dumps({{'cell': {cell}, 'execution_count': 9, 'outputs': []}}).encode())"


@pytest.mark.parametrize("forgery", [
    forged_pass(2),  # a clean result for the test cell, sent before it runs
    "forge(b'\\x80\\x04garbage')",  # bytes that are not JSON
    "forge(json.dumps({'cell': 1, 'execution_count': 2, 'outputs': [{'output_type': 'stream', 'name': 'x'}]}).encode())",
    "forge_raw(struct.pack('!I', 2**31))",  # a huge length
])
def test_forged_results_are_not_believed(forgery: str) -> None:
    execution = run(FIND_CHANNEL, forgery, FAILING_TEST, "print('after')")
    assert execution.review, "the forgery was not flagged for review"
    assert errors(execution.results[2]) != [], "the forged test cell passed"
    assert errors(execution.results[3]) == ["CellNotRun"]


def test_a_pickle_on_the_channel_runs_no_code_in_the_grader(tmp_path: Path) -> None:
    marker = Path("/tmp") / f"sandbox-pickle-{uuid.uuid4().hex}"
    payload = (f"import pickle\nclass Payload:\n    def __reduce__(self):\n"
               f"        return (os.system, ('touch {marker}',))\nforge(pickle.dumps(Payload()))")
    execution = run(FIND_CHANNEL, payload, FAILING_TEST)
    assert not marker.exists(), "the grader ran the pickled code"
    assert execution.review and errors(execution.results[2])


# -- Reaching the course, the grader and the host ----------------------------------------------------------------


@pytest.mark.parametrize("path", [
    REPOSITORY.solution_notebook(REPOSITORY.lessons()[0]),
    REPOSITORY.root / "nbgrader_config.py",
    Path("/etc/shadow"),
    Path.home() / ".bash_history",
])
def test_course_and_host_files_are_invisible(path: Path) -> None:
    execution = run(f"print(open({str(path)!r}).read())")
    assert errors(execution.results[0]) == ["FileNotFoundError"]


@pytest.mark.parametrize("target", [
    REPOSITORY.root / "autograder" / "checks.py",
    REPOSITORY.root / "autograder" / "pwned.py",
    Path("/usr/lib/pwned"),
])
def test_the_grader_and_the_system_are_read_only(target: Path) -> None:
    before = target.read_bytes() if target.exists() else None
    execution = run(f"with open({str(target)!r}, 'a') as file:\n    file.write('assert_same = print')")
    assert errors(execution.results[0]) in (["OSError"], ["PermissionError"], ["FileNotFoundError"])
    assert (target.read_bytes() if target.exists() else None) == before


def test_tmp_and_the_working_folder_are_private_and_capped() -> None:
    marker = f"sandbox-private-{uuid.uuid4().hex}"
    execution = run(
        f"open('/tmp/{marker}', 'w').write('x')\nopen('{marker}', 'w').write('x')\nimport os\nprint(os.getcwd())",
        "data = b'x' * (1 << 20)\nwith open('big', 'wb') as file:\n    for _ in range(600):\n        file.write(data)",
        "with open('/tmp/big', 'wb') as file:\n    for _ in range(600):\n        file.write(data)",
        limits=Limits(cell_timeout=5, scratch_mb=32),
    )
    assert not (Path("/tmp") / marker).exists() and not (Path.cwd() / marker).exists()
    assert printed(execution.results[0]) == "/home/student\n"
    assert errors(execution.results[1]) == ["OSError"] and errors(execution.results[2]) == ["OSError"]


def test_there_is_no_network() -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        listener.settimeout(0.2)
        port = listener.getsockname()[1]
        execution = run(f"import socket\nsocket.create_connection(('127.0.0.1', {port}), timeout=2).send(b'x')")
        with pytest.raises(TimeoutError):
            listener.accept()
    assert errors(execution.results[0]) == ["ConnectionRefusedError"]


# -- Processes and memory ------------------------------------------------------------------------------------------


def test_no_process_outlives_the_submission() -> None:
    marker = f"sandbox-marker-{uuid.uuid4().hex}"
    execution = run(
        f"import subprocess\nfor _ in range(20):\n    subprocess.Popen(['sleep', '600', '{marker}'])",
        f"import os\nif os.fork() == 0:\n    os.setsid()\n    if os.fork() == 0:\n"
        f"        os.execvp('sleep', ['sleep', '601', '{marker}'])\n    os._exit(0)",
        "print('done')",
    )
    assert printed(execution.results[2]) == "done\n"
    assert marked_processes(marker) == []


def test_memory_counts_every_process_together() -> None:
    hog = "import multiprocessing as mp\ndef hog(conn):\n    block = b'x' * (400 << 20)\n    conn.send(1)\n    conn.recv()\n"
    start = ("pipes = []\nfor _ in range(3):\n    mine, theirs = mp.Pipe()\n"
             "    mp.get_context('fork').Process(target=hog, args=(theirs,)).start()\n    pipes.append(mine)\n"
             "for pipe in pipes:\n    pipe.recv()\nimport time\ntime.sleep(5)")
    execution = run(hog, start, "print('next')", limits=Limits(cell_timeout=10, memory_mb=1024))
    assert errors(execution.results[1]) == ["MemoryLimitError"]
    assert printed(execution.results[2]) == "next\n"


def test_a_fork_bomb_is_stopped() -> None:
    bomb = "import os, time\nfor _ in range(200):\n    if os.fork() == 0:\n        time.sleep(30)\n        os._exit(0)"
    execution = run(bomb, "print('next')", limits=Limits(cell_timeout=10, processes=32))
    assert errors(execution.results[0]) in (["ProcessLimitError"], ["BlockingIOError"])
    assert printed(execution.results[1]) == "next\n"


def test_killing_its_parent_harms_no_one_else() -> None:
    """The zygote dies and its sandbox is replaced; the killer's own later cells may be lost, never hang."""
    execution = run("x = 1", "import os, signal\nos.kill(os.getppid(), signal.SIGKILL)\nos.kill(1, 9)", "print(x)")
    assert sorted(execution.results) == [0, 1, 2] and errors(execution.results[0]) == []
    assert printed(run("print('next student')").results[0]) == "next student\n"


def test_nothing_reaches_the_graders_terminal(capfd: pytest.CaptureFixture[str]) -> None:
    fake = "graded 1 submissions of 00 in 0.1 s; no problems"
    run(f"import os\nos.write(2, b'x' * (2 << 20))\nos.write(2, b'{fake}\\n')\nos.write(1, b'{fake}\\n')")
    out, err = capfd.readouterr()
    assert fake not in out + err and len(out + err) < 1000


# -- Time ------------------------------------------------------------------------------------------------------------

DEAF_HANG = "import signal, time\nsignal.signal(signal.SIGALRM, signal.SIG_IGN)\ntime.sleep(600)"


def test_a_cell_that_ignores_the_alarm_is_killed() -> None:
    execution = run(DEAF_HANG, "print('next')")
    assert execution.results[0].outputs[0]["ename"] == "CellTimeoutError"
    assert printed(execution.results[1]) == "next\n"


def test_each_hang_costs_its_limit_plus_a_fixed_grace_wherever_it_sits() -> None:
    """Two adjacent deaf hangs after many cells: each costs the limit and the grace, no more.

    The bound is generous for a loaded machine; what it rules out is a cost that grows with
    the cell's position (a re-run of the earlier cells allowed ``cell_timeout`` each).
    """
    cells = [f"x{i} = {i}" for i in range(30)] + [DEAF_HANG, DEAF_HANG, "print(x29)"]
    started = time.monotonic()
    execution = run(*cells)
    elapsed = time.monotonic() - started
    assert printed(execution.results[32]) == "29\n"
    assert errors(execution.results[30]) == errors(execution.results[31]) == ["CellTimeoutError"]
    assert elapsed < 2 * (LIMITS.cell_timeout + KILL_GRACE) + 6, elapsed


# -- One sandbox, one submission after another: nothing passes from one to the next ---------------------------------

LEAVE_TRACES = """
import os, subprocess, multiprocessing.shared_memory as shm
for folder in ('.', '/tmp', '/dev/shm'):
    open(os.path.join(folder, 'left-behind'), 'w').write(SECRET)
os.makedirs('locked/inner')
os.chmod('locked', 0)
segment = shm.SharedMemory(create=True, size=4096)
segment.buf[:4] = b'left'
subprocess.Popen(['sleep', '600', SECRET])
"""

LOOK_FOR_TRACES = """
import os, glob, subprocess
print(sorted(os.listdir('.')), sorted(os.listdir('/tmp')), sorted(os.listdir('/dev/shm')))
print([open(f'/proc/{p}/cmdline').read().replace(chr(0), ' ') for p in os.listdir('/proc') if p.isdigit()
       and 'sleep' in open(f'/proc/{p}/cmdline').read()])
print(subprocess.run(['ipcs', '-m'], capture_output=True, text=True).stdout.count('0x'))
"""

READ_OWN_MEMORY = """
import re
found = False
with open('/proc/self/maps') as maps, open('/proc/self/mem', 'rb', 0) as mem:
    for line in maps:
        span, perms = line.split()[:2]
        if 'r' not in perms:
            continue
        start, end = (int(x, 16) for x in span.split('-'))
        try:
            mem.seek(start)
            found = found or NEEDLE.search(mem.read(end - start)) is not None
        except (OSError, ValueError, OverflowError):
            pass
print(found)
"""


def test_the_next_submission_finds_nothing_of_the_last() -> None:
    secret = f"secret-{uuid.uuid4().hex}"
    first = run(f"SECRET = {secret!r}", LEAVE_TRACES)
    assert errors(first.results[1]) == []
    second = run(LOOK_FOR_TRACES)
    assert printed(second.results[0]) == "['.ipython'] [] []\n[]\n0\n"  # IPython's own folder, made anew
    assert marked_processes(secret) == []


def test_the_next_submission_cannot_find_the_last_ones_code_in_its_memory() -> None:
    secret = uuid.uuid4().hex
    run(f"answer = 'the first student wrote {secret}'")
    # A pattern that matches the secret without holding it: its last character as a class.
    second = run(f"import re\nNEEDLE = re.compile(rb'first student wrote {secret[:-1]}[{secret[-1]}]')", READ_OWN_MEMORY)
    assert printed(second.results[1]) == "False\n"
    control = run(f"answer = 'the first student wrote {secret}'", f"import re\nNEEDLE = re.compile(rb'first student wrote "
                  f"{secret[:-1]}[{secret[-1]}]')", READ_OWN_MEMORY)
    assert printed(control.results[2]) == "True\n", "the search does not find what is there"


def test_a_cell_cannot_read_the_cells_after_it_from_memory() -> None:
    """The test cells after an answer hold hidden tests: they are not in the process until their turn."""
    secret = uuid.uuid4().hex
    needle = f"import re\nNEEDLE = re.compile(rb'hidden test {secret[:-1]}[{secret[-1]}]')"
    execution = run(needle, READ_OWN_MEMORY, f"assert 'hidden test {secret}'")
    assert printed(execution.results[1]) == "False\n"


def test_input_history_does_not_hand_out_earlier_cells() -> None:
    secret = uuid.uuid4().hex
    execution = run(f"x = 'hidden test {secret}'", "print(In, _ih, _i1, _i, _ii, _iii)")
    assert secret not in printed(execution.results[1]) and errors(execution.results[1]) == []


def test_the_zygote_cannot_be_read_or_traced() -> None:
    execution = run("import os\nzygote = os.getppid()\nprint(os.readlink(f'/proc/{zygote}/fd/0'))",
                    "print(open(f'/proc/{zygote}/mem', 'rb').read(1))",
                    "print(open(f'/proc/{zygote}/environ').read())")
    assert [errors(execution.results[i]) for i in range(3)] == [["PermissionError"]] * 3


def test_a_submission_that_stops_the_zygote_costs_the_next_one_nothing() -> None:
    execution = run("import os, signal\nos.kill(os.getppid(), signal.SIGSTOP)\nprint('stopped it')", "print('on')")
    assert printed(execution.results[1]) == "on\n"
    assert printed(run("print('next student')").results[0]) == "next student\n"


# -- The course itself runs in the sandbox ---------------------------------------------------------------------------


@pytest.mark.parametrize("lesson", REPOSITORY.lessons())
def test_every_solution_passes_its_tests_in_the_sandbox(lesson: str) -> None:
    """As in a kernel: lesson 05's process pool, lesson 00's subprocesses and every test cell work."""
    notebook = nbformat.read(REPOSITORY.solution_notebook(lesson), as_version=4)
    cells = [cell for cell in notebook.cells if cell.cell_type == "code"]
    execution = execute_cells([cell.source for cell in cells], Limits(cell_timeout=30))
    failing = [nbgrader_meta(cell).get("grade_id") for index, cell in enumerate(cells)
               if is_test(cell) and errors(execution.results[index])]
    assert failing == [] and execution.problems == []


def test_a_replay_after_a_crash_does_not_hang_again() -> None:
    """A cell stopped at its limit is left out when the cells before a later crash run again."""
    limits = Limits(cell_timeout=3)
    started = time.monotonic()
    execution = run("import asyncio\nawait asyncio.Event().wait()", "x = 1", "import os\nos._exit(1)", "print(x)",
                    limits=limits)
    elapsed = time.monotonic() - started
    assert printed(execution.results[3]) == "1\n"
    assert elapsed < 2 * limits.cell_timeout - 0.5, elapsed


def test_an_honest_flood_of_printing_is_cut_not_called_a_forgery() -> None:
    """Non-ASCII text, much of it, in many small prints: capped and on time, never a broken channel."""
    execution = run('print("start 🎉")\nfor i in range(40_000):\n    print(i, "abcdef")', 'print("😀" * 300_000)',
                    "print('after')", limits=Limits(cell_timeout=5))
    assert execution.review == [] and execution.problems == []
    assert all(printed(execution.results[i]).endswith("[output cut: over the size limit]\n") for i in (0, 1))
    assert printed(execution.results[2]) == "after\n"


def test_a_tests_own_time_limit_leaves_the_cells_limit_in_force() -> None:
    """After `async with exercise(...)`, the rest of the cell is still stopped at the cell's limit."""
    execution = run("from autograder.checks import exercise\nasync with exercise('x'):\n    pass\nwhile True:\n    pass",
                    "print('after')")
    assert execution.results[0].outputs[-1]["evalue"] == "the cell ran longer than 2 s and was stopped"
    assert printed(execution.results[1]) == "after\n"


def test_a_cell_limit_shorter_than_a_tests_own_is_the_cells() -> None:
    """A test's 10 s limit inside a 2 s cell limit: the cell's limit stops it, and says so."""
    execution = run("from autograder.checks import exercise\nasync with exercise('x'):\n    while True:\n        pass")
    assert execution.results[0].outputs[-1]["ename"] == "CellTimeoutError"
    assert execution.results[0].outputs[-1]["evalue"] == "the cell ran longer than 2 s and was stopped"


def test_grading_workers_each_adopt_their_own_prestarted_sandbox() -> None:
    """Sandboxes started before the workers fork: one per worker, each used by that worker alone, none left after."""
    from autograder.sandbox import adopt_sandbox, close_sandboxes, prestart_sandboxes, supervisor
    from autograder.workers import run_all

    before = {p.pid for p in psutil.Process().children(recursive=True)}
    prestart_sandboxes(2, LIMITS, sandboxed=True)
    prestarted = {zygote.process.pid for zygote in supervisor._spares}

    def work(task: str) -> dict:
        execution = execute_cells([f"print('{task}')"], LIMITS)
        return {"printed": printed(execution.results[0]), "sandbox": supervisor._local.zygote.process.pid}

    outcomes = list(run_all(["a", "b", "c", "d", "e", "f"], work, jobs=2, finish=close_sandboxes,
                            prepare=adopt_sandbox))
    assert {o.result["printed"] for o in outcomes} == {"a\n", "b\n", "c\n", "d\n", "e\n", "f\n"}
    assert {o.result["sandbox"] for o in outcomes} == prestarted
    close_sandboxes()
    left = [p for p in psutil.Process().children(recursive=True) if p.pid not in before]
    _, alive = psutil.wait_procs(left, timeout=5)  # a sandbox's namespace ends with its first process
    assert alive == []

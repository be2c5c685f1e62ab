"""A class of cheating students, graded by the teacher's command as it is run for real.

Each attacker submits lesson 00 with its stub left as it is (an honest score of 0)
and a few lines of hostile code in the answer cell. Whatever they try, the grading
must end with: no attacker above the untouched score unless flagged for review, the
course folder and the grader's code unchanged (hashed before and after), no process
of theirs alive, none of their code run in the grader, and the honest student's score
as it would be without them.
"""

from __future__ import annotations

import csv
import hashlib
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import nbformat
import psutil
import pytest

from autograder.cells import is_answer
from tests.classroom import Classroom, Submission
from tests.conftest import REPOSITORY

LESSON = "00-running-async-in-jupyter"
RUN = uuid.uuid4().hex[:12]  # in every marker, so that this run's leftovers can be found
HOST_MARKER = Path("/tmp") / f"attack-{RUN}-ran-in-the-grader"
GRADER_OUTPUTS = ("autograded", "feedback", "reports", ".grading", "gradebook.db", "downloaded")
FAKE_LINE = f"graded 1 submissions of {LESSON} in 0.1 s; no problems {RUN}"

CHANNEL = """
import os, struct
def forge(payload):
    for fd in os.listdir('/proc/self/fd'):
        try:
            os.write(int(fd), struct.pack('!I', len(payload)) + payload)
        except OSError:
            pass
"""


def attacks(course: Path, port: int, answer_cell: int, code_cells: int) -> dict[str, str]:
    """Attacker name -> code added to the answer cell, below the untouched stub.

    ``answer_cell`` is the answer's index among the notebook's ``code_cells``, which a
    student who forges results would count too.
    """
    solutions = REPOSITORY.solution_notebook(LESSON)
    classmate = course / "submitted" / "honest" / LESSON / f"{LESSON}.ipynb"
    gradebook = course / "gradebook.db"
    later = f"import time\ntime.sleep(3)\nopen({str(gradebook)!r}, 'w').write('gone')"
    return {
        # a failure the grader does not see
        "silences-tracebacks": "get_ipython()._showtraceback = lambda *args, **kwargs: None",
        "custom-exception-handler": "get_ipython().set_custom_exc((BaseException,), lambda *args, **kwargs: None)",
        "stub-raises-bdbquit": "import bdb\nasync def timed(coro):\n    raise bdb.BdbQuit",
        "stub-raises-systemexit": "async def timed(coro):\n    raise SystemExit(0)",
        # the test helpers patched in the same process
        "patches-assert-same": "import autograder.checks\nautograder.checks.assert_same = lambda *args: None\n"
                               "autograder.checks.rounded = lambda value: value",
        "patches-exercise": "import autograder.checks, warnings\nwarnings.simplefilter('ignore')\n"
                            "class Quiet:\n    def __init__(self, *args): pass\n"
                            "    async def __aenter__(self): return self\n"
                            "    async def __aexit__(self, *args): return True\nautograder.checks.exercise = Quiet",
        "patches-import": "import builtins\nreal = builtins.__import__\nbuiltins.__import__ = real",
        # results forged on the channel
        "forges-a-pass": CHANNEL + "import json\nforge(json.dumps({'cell': 99, 'execution_count': 1, "
                                   "'outputs': []}).encode())",
        "forges-everything": CHANNEL + f"import json\nfor cell in range({answer_cell}, {code_cells}):\n"
                                       f"    forge(json.dumps({{'cell': cell, 'execution_count': cell, "
                                       f"'outputs': []}}).encode())\nos._exit(0)",
        "sends-a-pickle": CHANNEL + f"import pickle\nclass P:\n    def __reduce__(self):\n"
                                    f"        return (os.system, ('touch {HOST_MARKER}',))\nforge(pickle.dumps(P()))",
        # the teacher's files
        "reads-solutions": f"print(open({str(solutions)!r}).read())",
        "reads-gradebook": f"print(open({str(gradebook)!r}, 'rb').read())",
        "edits-the-grader": f"open({str(REPOSITORY.root / 'autograder' / 'checks.py')!r}, 'a')"
                            f".write('\\nassert_same = print\\n')",
        "edits-a-classmate": f"open({str(classmate)!r}, 'a').write('x')",
        "rewrites-gradebook-later": f"import subprocess, sys\nsubprocess.Popen([sys.executable, '-c', {later!r}, "
                                    f"'{RUN}'], start_new_session=True)",
        # processes, memory, disk, output, network
        "leaves-sleepers": f"import subprocess\nfor _ in range(50):\n    subprocess.Popen(['sleep', '600', '{RUN}'])",
        "double-forks": f"import os\nif os.fork() == 0:\n    os.setsid()\n    if os.fork() == 0:\n"
                        f"        os.execvp('sleep', ['sleep', '600', '{RUN}'])\n    os._exit(0)",
        "hogs-memory": "import multiprocessing as mp, time\ndef hog():\n    block = b'x' * (1024 << 20)\n"
                       "    time.sleep(60)\nfor _ in range(3):\n    mp.get_context('fork').Process(target=hog).start()\n"
                       "time.sleep(10)",
        "fills-the-disk": "with open('big', 'wb') as file:\n    for _ in range(500):\n"
                          "        file.write(b'x' * (1 << 20))",
        "floods-stderr": f"import os\nos.write(2, b'x' * (2 << 20))\nos.write(2, b'\\n{FAKE_LINE}\\n')",
        "kills-its-parent": "import os\nos.kill(os.getppid(), 9)",
        "phones-home": f"import socket\nsocket.create_connection(('127.0.0.1', {port}), timeout=2).send(b'{RUN}')",
    }


def fingerprint(*folders: Path) -> dict[str, str]:
    hashes = {}
    for folder in folders:
        for path in sorted(folder.rglob("*")):
            relative = path.relative_to(folder)
            if path.is_file() and relative.parts[0] not in GRADER_OUTPUTS and "__pycache__" not in relative.parts:
                hashes[str(path)] = hashlib.sha256(path.read_bytes()).hexdigest()
    return hashes


def leftover_processes() -> list[str]:
    return [" ".join(p.info["cmdline"]) for p in psutil.process_iter(["cmdline"])
            if RUN in " ".join(p.info["cmdline"] or []) and p.pid != psutil.Process().pid]


@pytest.fixture(scope="module")
def graded(tmp_path_factory: pytest.TempPathFactory):
    classroom = Classroom.create(tmp_path_factory.mktemp("attacked"), REPOSITORY)
    root = classroom.course.root
    classroom.submit(Submission("honest", LESSON))
    classroom.submit(Submission("untouched", LESSON, answered=False))
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        listener.setblocking(False)
        release = nbformat.read(classroom.course.student_notebook(LESSON), as_version=4)
        code = [cell for cell in release.cells if cell.cell_type == "code"]
        answer_cell = next(index for index, cell in enumerate(code) if is_answer(cell))
        code_of = attacks(root, listener.getsockname()[1], answer_cell, len(code))
        for student, code in code_of.items():
            classroom.submit(Submission(student, LESSON, answered=False))
            path = root / "submitted" / student / LESSON / f"{LESSON}.ipynb"
            notebook = nbformat.read(path, as_version=4)
            answer = next(filter(is_answer, notebook.cells))
            answer.source += "\n\n" + code
            nbformat.write(notebook, path)
        before = fingerprint(root, REPOSITORY.root / "autograder")
        started = time.monotonic()
        command = subprocess.run(
            [sys.executable, "-m", "autograder.grade", LESSON, "--cell-timeout", "5", "--jobs", "2"],
            cwd=root, capture_output=True, text=True,
        )
        elapsed = time.monotonic() - started
        time.sleep(4)  # longer than the detached attacker waits before it writes
        try:
            received = listener.accept()[0].recv(100)
        except BlockingIOError:
            received = b""
    after = fingerprint(root, REPOSITORY.root / "autograder")
    leftovers = leftover_processes()
    for line in leftovers:  # do not leave them to the next test, whatever this one says
        subprocess.run(["pkill", "-f", RUN], check=False)
    with (root / "reports" / LESSON / "grades.csv").open() as file:
        rows = {row["student"]: row for row in csv.DictReader(file)}
    return dict(command=command, rows=rows, before=before, after=after, leftovers=leftovers,
                received=received, elapsed=elapsed, attackers=list(code_of), classroom=classroom)


def test_the_command_ran(graded) -> None:
    assert graded["command"].returncode == 0, graded["command"].stderr[-3000:]


#: Attacks the sandbox defeats outright: they score what the untouched notebook scores, flagged or not.
DEFEATED = ["silences-tracebacks", "custom-exception-handler", "stub-raises-bdbquit", "stub-raises-systemexit",
            "forges-a-pass", "sends-a-pickle", "kills-its-parent"]
#: Attacks on the test code inside the student's own process: only the review flag stops these.
SAME_PROCESS = ["patches-exercise", "forges-everything"]


@pytest.mark.parametrize("student", DEFEATED)
def test_hidden_failures_and_partial_forgeries_score_as_untouched(graded, student: str) -> None:
    assert graded["rows"][student]["score"] == graded["rows"]["untouched"]["score"]


@pytest.mark.parametrize("student", SAME_PROCESS)
def test_patching_the_tests_in_process_is_flagged_for_review(graded, student: str) -> None:
    """These do win points (the README says so); the flag names the lines a teacher must read."""
    row = graded["rows"][student]
    assert float(row["score"]) > 0, "the attack did not work: it no longer tests the flag"
    assert row["review"].startswith("needs review: code cell")


def test_no_attack_scores_above_untouched_without_a_review_flag(graded) -> None:
    rows = graded["rows"]
    untouched = float(rows["untouched"]["score"])
    assert untouched == 0.0 and rows["untouched"]["review"] == ""
    unflagged_winners = [s for s in graded["attackers"] if float(rows[s]["score"]) > untouched and not rows[s]["review"]]
    assert unflagged_winners == []


def test_the_honest_student_is_scored_as_without_attackers(graded) -> None:
    row = graded["rows"]["honest"]
    assert (row["score"], row["problems"], row["review"]) == ("2.0", "", "")


def test_every_attacker_has_a_row(graded) -> None:
    assert set(graded["attackers"]) <= set(graded["rows"])


def test_no_file_outside_the_grader_outputs_changed(graded) -> None:
    changed = {path for path in graded["before"].keys() | graded["after"].keys()
               if graded["before"].get(path) != graded["after"].get(path)}
    assert changed == set()


def test_no_process_of_theirs_is_left(graded) -> None:
    assert graded["leftovers"] == []


def test_none_of_their_code_ran_in_the_grader(graded) -> None:
    assert not HOST_MARKER.exists()
    assert graded["received"] == b""


def test_their_output_never_reached_the_teachers_terminal(graded) -> None:
    command = graded["command"]
    assert FAKE_LINE not in command.stdout + command.stderr
    assert len(command.stderr) < 20_000


def test_secrets_do_not_appear_in_their_feedback(graded) -> None:
    root = graded["classroom"].course.root
    for student in ("reads-solutions", "reads-gradebook"):
        page = (root / "feedback" / student / LESSON / f"{LESSON}.html").read_text()
        assert "BEGIN SOLUTION" not in page and "SQLite format" not in page


def test_the_limits_are_named_in_the_reports(graded) -> None:
    rows = graded["rows"]
    assert "together" in rows["hogs-memory"]["problems"]
    assert "forged or malformed results" in rows["forges-a-pass"]["review"] + rows["sends-a-pickle"]["review"]

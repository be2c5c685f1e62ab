"""The static check that flags code reaching for the grading machinery: it flags cheats, not answers."""

from __future__ import annotations

import nbformat
import pytest

from autograder.cells import is_answer, nbgrader_meta
from autograder.tamper import findings, review_reasons
from tests.classroom import answer_from_solution
from tests.conftest import REPOSITORY
from tests.mutants import MUTANTS


def solution_answers() -> dict[tuple[str, str], str]:
    answers = {}
    for lesson in REPOSITORY.lessons():
        notebook = nbformat.read(REPOSITORY.solution_notebook(lesson), as_version=4)
        for cell in filter(is_answer, notebook.cells):
            answers[lesson, nbgrader_meta(cell)["grade_id"]] = cell.source
    return answers


ANSWERS = solution_answers()


@pytest.mark.parametrize("key", ANSWERS, ids=["/".join(key) for key in ANSWERS])
def test_no_solution_is_flagged(key: tuple[str, str]) -> None:
    assert findings(answer_from_solution(ANSWERS[key])) == []


@pytest.mark.parametrize("mutant", MUTANTS, ids=[m.id for m in MUTANTS])
def test_no_mutant_is_flagged(mutant) -> None:
    assert findings(answer_from_solution(mutant.apply(ANSWERS[mutant.lesson, mutant.cell]))) == []


@pytest.mark.parametrize("cheat", [
    # silencing IPython
    "get_ipython()._showtraceback = lambda *args: None",
    "ip = get_ipython\nip().set_custom_exc((BaseException,), print)",
    "%config InteractiveShell.showtraceback = None",
    # failures IPython does not show
    "import bdb\nraise bdb.BdbQuit",
    "from bdb import BdbQuit",
    # patching the test helpers
    "import autograder.checks\nautograder.checks.assert_same = lambda *args: None",
    "from autograder import checks",
    "def f(): pass\nf.__globals__['assert_same'] = print",
    "import sys\nsys.modules['autograder.checks'].exercise = None",
    "import builtins\nbuiltins.__import__ = None",
    "__builtins__.print = None",
    "getattr(__builtins__, 'ev' + 'al')('1')",
    "exec('import os')",
    "eval(compile('1', 'x', 'eval'))",
    "vars()['assert_same'] = print",
    "globals()['exercise'] = None",
    "setattr(x, name, None)",
    "().__class__.__base__.__subclasses__()",
    "import asyncio\nasyncio.base_events.os.system('id')",
    "import asyncio\nasyncio.current_task().get_coro().cr_frame.f_globals",
    # forging results, reaching files and processes
    "open(3, 'wb').write(b'x')",
    "import os\nos.write(3, b'x')",
    "import pickle",
    "import subprocess",
    "import signal\nsignal.signal(signal.SIGALRM, signal.SIG_IGN)",
    "import ctypes",
    "import gc\ngc.get_objects()",
    "from os import path",
    "import importlib\nimportlib.import_module('os')",
    "!cat /etc/passwd",
    # reading the test cells' code back from IPython's history
    "print(In[-2])",
    "print(_i12)",
    # monkeypatching a module the tests use, without any forbidden name
    "import asyncio\nasyncio.sleep = None",
    "import asyncio\nasyncio.tasks.sleep += 1",
    "from concurrent import futures\ndel futures.ThreadPoolExecutor",
    "import asyncio\nsetattr(asyncio, 'sleep', None)",
    "import asyncio\nasyncio.coroutines.inspect.currentframe()",
    # the red team's unflagged winners, and their kin
    "exercise.__aexit__ = swallow",
    "import threading\nchecks = getattr(threading._sys, 'modules')['autograder.checks']",
    "import threading\nthreading._os.listdir('/proc/self/fd')",
    "import asyncio\nx = asyncio.base_events._something",
    "getattr(obj, 'modules')",
    "exit._ip.showtraceback = None",
    "quit._ip",
    # the reviewer's: reflection through operator, and attribute paths in strings
    "import asyncio, operator\nrunner = operator.attrgetter('events.sys.modules')(asyncio)['autograder.sandbox.runner']",
    "from operator import attrgetter as get\nget('__dict__')(module).update(send=None)",
    "import operator\noperator.attrgetter('__glo' + 'bals__')(now).update(same=None)",
    "import operator\nf = operator.methodcaller('update', same=None)",
    "path = 'events.sys.modules'",
    "from .secret import x",
])
def test_cheats_are_flagged(cheat: str) -> None:
    assert findings(cheat), f"not flagged: {cheat}"


def test_the_reasons_name_the_cell_the_line_and_the_code() -> None:
    given = "import asyncio"
    reasons = review_reasons([given, "x = 1\nimport os", "y = 2"], {given})
    assert reasons == ["code cell 2, line 2: imports os, outside the allowed modules: `import os`"]


def test_changing_what_the_tests_imported_is_flagged() -> None:
    given = "from autograder.checks import assert_same, exercise\nfrom autograder.fakes import PagedAPI"
    reasons = review_reasons([given, "exercise.alarm = None", "PagedAPI.pages = []", "api = PagedAPI(3)"], {given})
    assert [reason.split(":")[0] for reason in reasons] == ["code cell 2, line 1", "code cell 3, line 1"]


def test_cells_the_course_provides_are_not_read() -> None:
    given = "import subprocess\nimport sys"
    assert review_reasons([given], {given}) == []

"""A static look at what a student wrote, for code that reaches for the grading machinery.

The sandbox keeps a submission away from the grader's files and processes, but the
test cells run in the same Python process as the student's code, so that code could
patch them (replace a helper, silence IPython, write forged results). No exercise
needs any of that, so the code that would do it stands out. This module names it.

It reads every code cell the course did not provide (answer cells, and cells a student
added or changed), after IPython's own transformation (so ``!ls`` and ``%magic`` show
up as the ``get_ipython()`` calls they are), and reports each line that:

- imports a module outside ``ALLOWED_MODULES``;
- names ``get_ipython``, ``exec``, ``eval``, ``compile``, ``__import__``, ``open``,
  ``globals``, ``vars``, ``locals``, ``breakpoint``, ``builtins`` or ``__builtins__``,
  or IPython's input and output history (``In``, ``Out``, ``_ih``, ``_i3``, ...);
- calls ``setattr`` or ``delattr``, or ``getattr``/``hasattr`` with a name that is not a
  plain string, or a dunder one;
- assigns to (or deletes) an attribute of a module it imported: monkeypatching;
- touches a dunder attribute other than the protocol methods (``DUNDERS_ALLOWED``),
  or an attribute that leads to frames or modules (``f_globals``, ``sys``, ``inspect``, ...).

A flagged submission keeps its score; the teacher's reports mark it ``needs review``
with these lines, and the teacher decides. It is a heuristic: it can be evaded by code
clever enough, and then the code itself is the evidence.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass

from IPython.core.inputtransformer2 import TransformerManager

#: Modules an answer may import: the standard library's tools for this course's exercises.
ALLOWED_MODULES = frozenset({
    "asyncio", "collections", "contextlib", "itertools", "functools", "time", "math", "random", "dataclasses",
    "typing", "heapq", "operator", "statistics", "string", "re", "enum", "abc", "bisect", "numbers", "fractions",
    "decimal", "datetime", "json", "textwrap", "copy", "weakref", "queue", "threading", "concurrent", "types",
})
#: Names that reach the interpreter or the notebook machinery.
FORBIDDEN_NAMES = frozenset({
    "get_ipython", "exec", "eval", "compile", "__import__", "open", "globals", "vars", "locals", "breakpoint",
    "builtins", "__builtins__", "__loader__", "__spec__", "In", "Out", "_ih", "_oh", "_dh", "_i", "_ii", "_iii",
})
#: Dunder attributes an exercise may define or use: the protocols the course teaches.
DUNDERS_ALLOWED = frozenset({
    "__aiter__", "__anext__", "__aenter__", "__aexit__", "__iter__", "__next__", "__enter__", "__exit__",
    "__init__", "__repr__", "__str__", "__eq__", "__hash__", "__len__", "__call__", "__name__", "__qualname__",
    "__await__", "__del__", "__lt__", "__le__", "__gt__", "__ge__", "__ne__", "__bool__", "__contains__",
    "__getitem__", "__post_init__", "__slots__", "__doc__",
})
#: Attributes that lead from an allowed object to frames, code, modules or the interpreter.
FORBIDDEN_ATTRIBUTES = frozenset({
    "f_globals", "f_locals", "f_builtins", "f_back", "f_code", "tb_frame", "tb_next", "gi_frame", "ag_frame",
    "cr_frame", "gi_code", "ag_code", "cr_code", "co_code", "sys", "os", "modules", "subprocess",
    "signal", "inspect", "importlib", "builtins", "gc", "ctypes", "pickle", "bdb", "getmodule", "currentframe",
    "getouterframes", "_getframe", "system", "popen", "_showtraceback", "set_custom_exc", "run_cell",
    "run_cell_async",
})
#: Reflection that may read a plain, named attribute; the others always write one.
READING = frozenset({"getattr", "hasattr"})
WRITING = frozenset({"setattr", "delattr"})


@dataclass(frozen=True)
class Finding:
    line: int
    code: str
    reason: str


def findings(source: str) -> list[Finding]:
    """Every line of ``source`` (one code cell) that reaches for the grading machinery."""
    try:
        code = TransformerManager().transform_cell(source)
        tree = ast.parse(code)
    except (SyntaxError, ValueError):
        return []  # it cannot run either; its test fails on its own
    lines = code.splitlines()
    modules = _imported_names(tree)
    found = []
    for node in ast.walk(tree):
        reason = _reason(node) or _monkeypatch(node, modules)
        if reason:
            line = getattr(node, "lineno", 1)
            found.append(Finding(line, lines[line - 1].strip() if line <= len(lines) else "", reason))
    return sorted(set(found), key=lambda finding: (finding.line, finding.reason))


def _reason(node: ast.AST) -> str | None:
    if isinstance(node, ast.Import):
        outside = [alias.name for alias in node.names if alias.name.split(".")[0] not in ALLOWED_MODULES]
        return f"imports {', '.join(outside)}, outside the allowed modules" if outside else None
    if isinstance(node, ast.ImportFrom):
        module = node.module or ""
        if node.level or module.split(".")[0] not in ALLOWED_MODULES:
            return f"imports from {'.' * node.level}{module}, outside the allowed modules"
        return None
    if isinstance(node, ast.Name) and (node.id in FORBIDDEN_NAMES or _is_dunder(node.id)
                                       or re.fullmatch(r"_i\d+", node.id)):
        return f"uses {node.id}"
    if isinstance(node, ast.Attribute):
        if node.attr in FORBIDDEN_ATTRIBUTES or (_is_dunder(node.attr) and node.attr not in DUNDERS_ALLOWED):
            return f"uses the attribute {node.attr}"
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        if node.func.id in WRITING:
            return f"calls {node.func.id}"
        name = node.args[1] if len(node.args) > 1 else None
        plain = isinstance(name, ast.Constant) and isinstance(name.value, str) and not _is_dunder(name.value)
        if node.func.id in READING and not plain:
            return f"calls {node.func.id} with a computed or dunder name"
    return None


def _imported_names(tree: ast.AST) -> set[str]:
    """The names a cell binds by importing: modules, or things inside them."""
    return {(alias.asname or alias.name).split(".")[0] for node in ast.walk(tree)
            if isinstance(node, (ast.Import, ast.ImportFrom)) for alias in node.names}


def _monkeypatch(node: ast.AST, modules: set[str]) -> str | None:
    """An assignment to, or deletion of, ``module.attribute`` (at any depth) for an imported name."""
    targets = (node.targets if isinstance(node, (ast.Assign, ast.Delete))
               else [node.target] if isinstance(node, (ast.AugAssign, ast.AnnAssign)) else [])
    for target in targets:
        root = target
        while isinstance(root, ast.Attribute):
            root = root.value
        if target is not root and isinstance(root, ast.Name) and root.id in modules:
            return f"changes {ast.unparse(target)}, part of an imported module"
    return None


def _is_dunder(name: str) -> bool:
    return len(name) > 4 and name.startswith("__") and name.endswith("__") and name not in DUNDERS_ALLOWED


def review_reasons(sources: list[str], given: set[str]) -> list[str]:
    """One line per finding in the code cells ``sources`` not among the course's own ``given`` cells.

    As a teacher reads it: where (the code cell's number, as in the other problems), what, and the code.
    """
    return [f"code cell {number}, line {f.line}: {f.reason}: `{f.code}`"
            for number, source in enumerate(sources, start=1) if source not in given for f in findings(source)]

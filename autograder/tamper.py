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
- calls ``setattr`` or ``delattr``, or ``getattr``/``hasattr`` with a name that is
  computed or would be flagged as an attribute; uses ``operator.attrgetter`` or
  ``methodcaller``; holds a string naming such an attribute (``"events.sys.modules"``);
- assigns to (or deletes) an attribute of a module it imported, or of anything the
  notebook imported from ``autograder`` (the test helpers and fakes), or any dunder
  attribute (protocol methods are defined with ``def``, not assigned): monkeypatching;
- touches a dunder attribute other than the protocol methods (``DUNDERS_ALLOWED``), a
  private attribute of a module (``threading._sys``), or an attribute that leads to
  frames, modules or the shell (``f_globals``, ``sys``, ``_sys``, ``inspect``, ``_ip``, ...).

A flagged submission keeps its score; the teacher's reports mark it ``needs review``
with these lines, and the teacher decides. It is a heuristic: it can be evaded by code
clever enough, and then the code itself is the evidence.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass

from IPython.core.inputtransformer2 import TransformerManager

from autograder.language import N_

#: Modules an answer may import: the standard library's tools for this course's exercises.
ALLOWED_MODULES = frozenset({
    "asyncio", "collections", "contextlib", "itertools", "functools", "time", "math", "random", "dataclasses",
    "typing", "heapq", "operator", "statistics", "string", "re", "enum", "abc", "bisect", "numbers", "fractions",
    "decimal", "datetime", "json", "textwrap", "copy", "weakref", "queue", "threading", "concurrent", "types",
})
#: Names that reach the interpreter or the notebook machinery.
FORBIDDEN_NAMES = frozenset({
    "get_ipython", "exec", "eval", "compile", "__import__", "open", "globals", "vars", "locals", "breakpoint",
    "builtins", "__builtins__", "__loader__", "__spec__", "exit", "quit", "attrgetter", "methodcaller",
    "In", "Out", "_ih", "_oh", "_dh", "_i", "_ii", "_iii",
})
#: Dunder attributes an exercise may define or use: the protocols the course teaches.
DUNDERS_ALLOWED = frozenset({
    "__aiter__", "__anext__", "__aenter__", "__aexit__", "__iter__", "__next__", "__enter__", "__exit__",
    "__init__", "__repr__", "__str__", "__eq__", "__hash__", "__len__", "__call__", "__name__", "__qualname__",
    "__await__", "__del__", "__lt__", "__le__", "__gt__", "__ge__", "__ne__", "__bool__", "__contains__",
    "__getitem__", "__post_init__", "__slots__", "__doc__",
})
#: Attributes that lead from an allowed object to frames, code, the shell or the interpreter.
FORBIDDEN_ATTRIBUTES = frozenset({
    "f_globals", "f_locals", "f_builtins", "f_back", "f_code", "tb_frame", "tb_next", "gi_frame", "ag_frame",
    "cr_frame", "gi_code", "ag_code", "cr_code", "co_code", "modules", "getmodule", "currentframe",
    "getouterframes", "_getframe", "system", "popen", "_ip", "shell", "_showtraceback", "showtraceback",
    "set_custom_exc", "custom_exceptions", "CustomTB", "InteractiveTB", "run_cell", "run_cell_async", "run_code",
    "user_ns", "user_global_ns", "display_pub", "displayhook", "history_manager", "attrgetter", "methodcaller",
})
#: Modules no answer needs, which other modules hold as attributes (``asyncio.events.sys``, ``threading._os``).
MODULES_AS_ATTRIBUTES = frozenset({
    "sys", "os", "posix", "subprocess", "signal", "inspect", "importlib", "builtins", "gc", "ctypes", "pickle",
    "bdb", "io", "linecache", "socket", "traceback",
})
#: Reflection that may read a plain, named attribute; the others always write one.
READING = frozenset({"getattr", "hasattr"})
WRITING = frozenset({"setattr", "delattr"})


@dataclass(frozen=True)
class Finding:
    line: int
    code: str
    reason: str


def findings(source: str, protected: frozenset[str] = frozenset()) -> list[Finding]:
    """Every line of ``source`` (one code cell) that reaches for the grading machinery.

    ``protected`` names the objects the notebook imported from ``autograder``: changing them is tampering.
    """
    try:
        code = TransformerManager().transform_cell(source)
        tree = ast.parse(code)
    except (SyntaxError, ValueError):
        return []  # it cannot run either; its test fails on its own
    lines = code.splitlines()
    modules = imported_names(tree)
    found = []
    for node in ast.walk(tree):
        reason = _reason(node, modules) or _monkeypatch(node, modules | protected)
        if reason:
            line = getattr(node, "lineno", 1)
            found.append(Finding(line, lines[line - 1].strip() if line <= len(lines) else "", reason))
    return sorted(set(found), key=lambda finding: (finding.line, finding.reason))


def _reason(node: ast.AST, modules: set[str]) -> str | None:
    if isinstance(node, ast.Import):
        outside = [alias.name for alias in node.names if alias.name.split(".")[0] not in ALLOWED_MODULES]
        return N_("imports {modules}, outside the allowed modules").format(modules=", ".join(outside)) if outside else None
    if isinstance(node, ast.ImportFrom):
        module = node.module or ""
        if node.level or module.split(".")[0] not in ALLOWED_MODULES:
            return N_("imports from {module}, outside the allowed modules").format(module="." * node.level + module)
        return None
    if isinstance(node, ast.Name) and (node.id in FORBIDDEN_NAMES or _is_dunder(node.id)
                                       or re.fullmatch(r"_i\d+", node.id)):
        return N_("uses {name}").format(name=node.id)
    if isinstance(node, ast.Attribute):
        if _forbidden_attribute(node.attr):
            return N_("uses the attribute {name}").format(name=node.attr)
        if node.attr.startswith("_") and not _is_protocol(node.attr) and _root(node) in modules:
            return N_("uses {name}, private to a module").format(name=node.attr)
    if isinstance(node, ast.Constant) and isinstance(node.value, str) and _names_forbidden_path(node.value):
        return N_("names a forbidden attribute in a string")
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        if node.func.id in WRITING:
            return N_("calls {name}").format(name=node.func.id)
        name = node.args[1] if len(node.args) > 1 else None
        plain = isinstance(name, ast.Constant) and isinstance(name.value, str) and not _forbidden_attribute(name.value)
        if node.func.id in READING and not plain:
            return N_("calls {name} with a computed or forbidden name").format(name=node.func.id)
    return None


def _names_forbidden_path(text: str) -> bool:
    """A string such as ``"events.sys.modules"`` or ``"__globals__"``: an attribute path for reflection."""
    return len(text) < 200 and any(
        re.fullmatch(r"[A-Za-z_]\w*", part) and _forbidden_attribute(part) for part in text.split("."))


def _forbidden_attribute(name: str) -> bool:
    return (name in FORBIDDEN_ATTRIBUTES or name.lstrip("_") in MODULES_AS_ATTRIBUTES
            or (name.startswith("__") and name.endswith("__") and not _is_protocol(name)))


def _is_protocol(name: str) -> bool:
    return name in DUNDERS_ALLOWED


def _root(node: ast.AST) -> str | None:
    while isinstance(node, (ast.Attribute, ast.Subscript, ast.Call)):
        node = node.func if isinstance(node, ast.Call) else node.value
    return node.id if isinstance(node, ast.Name) else None


def imported_names(tree: ast.AST, *, package: str | None = None) -> set[str]:
    """The names a cell binds by importing (only from ``package``, when given): modules, or things in them."""
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {(alias.asname or alias.name).split(".")[0] for alias in node.names
                      if package is None or alias.name.split(".")[0] == package}
        elif isinstance(node, ast.ImportFrom) and (package is None or (node.module or "").split(".")[0] == package):
            names |= {alias.asname or alias.name for alias in node.names}
    return names


def _monkeypatch(node: ast.AST, protected: set[str]) -> str | None:
    """An assignment to, or deletion of, a dunder attribute, or any attribute of a ``protected`` name."""
    targets = (node.targets if isinstance(node, (ast.Assign, ast.Delete))
               else [node.target] if isinstance(node, (ast.AugAssign, ast.AnnAssign)) else [])
    for target in targets:
        if isinstance(target, ast.Attribute) and target.attr.startswith("__") and target.attr.endswith("__"):
            return N_("changes {target}, a special method, by assignment").format(target=ast.unparse(target))
        if isinstance(target, (ast.Attribute, ast.Subscript)) and _root(target) in protected:
            return N_("changes {target}, part of an imported module or of the tests").format(target=ast.unparse(target))
    return None


def _is_dunder(name: str) -> bool:
    return len(name) > 4 and name.startswith("__") and name.endswith("__") and name not in DUNDERS_ALLOWED


def review_reasons(sources: list[str], given: set[str]) -> list[str]:
    """One line per finding in the code cells ``sources`` not among the course's own ``given`` cells.

    As a teacher reads it: where (the code cell's number, as in the other problems), what, and the code.
    """
    protected = frozenset().union(*(_autograder_names(source) for source in sources if source in given))
    return [N_("code cell {number}, line {line}: {reason}: `{code}`").format(number=number, line=f.line,
                                                                              reason=f.reason, code=f.code)
            for number, source in enumerate(sources, start=1) if source not in given
            for f in findings(source, protected)]


def _autograder_names(source: str) -> set[str]:
    try:
        return imported_names(ast.parse(TransformerManager().transform_cell(source)), package="autograder")
    except (SyntaxError, ValueError):
        return set()

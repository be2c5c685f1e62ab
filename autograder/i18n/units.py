"""The translatable units of a notebook, and the notebook rebuilt with their translations.

A unit is what a translator translates in one piece and what an edit of the English
invalidates: a Markdown heading, paragraph, list item (each paragraph of one) or table
cell; a comment in a code cell or in a fenced Python block of a Markdown cell; and, in
a test cell, the text a failure shows the student: the ``what`` argument of the
``autograder.checks`` helpers and the message of an ``assert`` or of a raised
``AssertionError`` or ``ExerciseFailure``, so that a failed test
speaks the notebook's language. Code is never a unit: a test message is a string
literal, and an f-string's ``{fields}`` stay as they are. A unit's text is its Markdown source with the soft line breaks
of the English wrapping joined into spaces, so rewrapping a paragraph changes nothing,
and a Chinese paragraph comes out on one line (a line break between Chinese
characters would render as a stray space).

What is not extracted, and so stays as it is in every edition: text with no Latin
letter outside code spans and links (numbers, the tutorial's Chinese quoted on its
own), comments that contain Chinese (the tutorial's own comments, quoted), comments
that are a Python value (``# [3, 2, 1]``), and nbgrader's markers
(``### BEGIN SOLUTION`` and the like).

Extraction and rebuilding are one walk over the same parse (``rewrite_*`` with a
``translate`` function), so every unit a catalog holds is one the build replaces.
The Markdown is parsed with markdown-it-py (CommonMark plus tables), and the source
is rewritten line by line from its line map, so the translated notebook keeps the
English source's Markdown exactly, outside the units.
"""

from __future__ import annotations

import ast
import inspect
import io
import re
import tokenize
from collections.abc import Callable
from dataclasses import dataclass

from markdown_it import MarkdownIt

from autograder import checks

#: ``translate(text, kind)``: the text of a unit in the target language (or as it is).
Translate = Callable[[str, str], str]

NBGRADER_MARKER = re.compile(r"#+\s*(BEGIN|END) (SOLUTION|HIDDEN TESTS)\b")
CJK = re.compile(r"[\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uff00-\uffef]")
_CODE_SPAN = re.compile(r"(`+)(?:(?!\1).)+?\1")
_LINK_TARGET = re.compile(r"\]\([^)]*\)")
_LINE_PREFIX = re.compile(r"[\s>]*(?:(?:[-*+]|\d+[.)])\s+)?(?:#{1,6}\s+)?")

_parser = MarkdownIt("commonmark").enable("table")


@dataclass(frozen=True)
class Unit:
    """One translatable piece of a notebook: its text, what kind of text it is, and its cell (from 1)."""

    text: str
    kind: str
    cell: int


def prose(text: str) -> str:
    """``text`` without its code spans and link targets: what a reader reads as words."""
    return _LINK_TARGET.sub("]", _CODE_SPAN.sub("", text))


def is_translatable(text: str) -> bool:
    return bool(re.search("[A-Za-z]", prose(text)))


def _joined(content: str) -> str:
    return " ".join(line.strip() for line in content.split("\n"))


def _prefix(line: str, first_content_line: str) -> str:
    """The container markers before a block's text on its first line (``- ``, ``## ``, ``> ``, indentation)."""
    prefix = _LINE_PREFIX.match(line).group(0)
    if not line[len(prefix):].startswith(first_content_line.strip()[:20]):
        prefix = line[: line.index(first_content_line.strip())]
    return prefix


def rewrite_markdown(source: str, translate: Translate) -> str:
    """``source`` with every unit replaced by ``translate(text, kind)``; lines of unchanged units stay as they are."""
    tokens = _parser.parse(source)
    lines = source.split("\n")
    replaced: dict[int, list[str]] = {}  # first line of a block -> its new lines (the block's other lines go)
    dropped: set[int] = set()
    in_list = 0
    for index, token in enumerate(tokens):
        if token.type == "list_item_open":
            in_list += 1
        elif token.type == "list_item_close":
            in_list -= 1
        elif token.type == "inline" and tokens[index - 1].type in ("paragraph_open", "heading_open"):
            opener = tokens[index - 1]
            text = _joined(token.content)
            if not is_translatable(text):
                continue
            kind = "heading" if opener.type == "heading_open" else ("list item" if in_list else "paragraph")
            new = translate(text, kind)
            if new == text:
                continue
            start, end = opener.map
            prefix = _prefix(lines[start], token.content.split("\n")[0])
            continuation = re.sub(r"[^\s>]", " ", prefix)
            new_lines = new.split("\n")
            replaced[start] = [prefix + new_lines[0], *(continuation + line for line in new_lines[1:])]
            dropped.update(range(start + 1, end))
        elif token.type == "tr_open":
            row = _row_cells(tokens, index)
            new_cells = [translate(text, kind) if is_translatable(text) else text for text, kind in row]
            if new_cells != [text for text, _ in row]:
                replaced[token.map[0]] = ["| " + " | ".join(new_cells) + " |"]
        elif token.type == "fence" and token.info.strip() in ("python", "py", "ipython3"):
            start, end = token.map
            body_end = end - 1 if end - 1 > start and lines[end - 1].strip().startswith(token.markup) else end
            body = "\n".join(lines[start + 1: body_end])
            new_body = rewrite_code(body, translate)
            if new_body != body:
                replaced[start + 1] = new_body.split("\n")
                dropped.update(range(start + 2, body_end))
    rebuilt: list[str] = []
    for number, line in enumerate(lines):
        if number in replaced:
            rebuilt.extend(replaced[number])
        elif number not in dropped:
            rebuilt.append(line)
    return "\n".join(rebuilt)


def _row_cells(tokens: list, index: int) -> list[tuple[str, str]]:
    """The cells of the table row that opens at ``tokens[index]``: (text, kind)."""
    cells = []
    for token in tokens[index + 1:]:
        if token.type == "tr_close":
            break
        if token.type == "inline":
            cells.append((token.content.strip(), "table cell"))
    return cells


def _is_value(text: str) -> bool:
    """A comment that shows a Python value (``# [3, 2, 1]``, ``# None``) is not prose."""
    try:
        ast.parse(text, mode="eval")
    except SyntaxError:
        return False
    return True


def comment_text(comment: str) -> str | None:
    """The translatable text of a ``#`` comment, or ``None`` when it is to stay as it is."""
    text = comment.lstrip("#").strip()
    if NBGRADER_MARKER.match(comment) or CJK.search(text) or not is_translatable(text) or _is_value(text):
        return None
    return text


def rewrite_code(source: str, translate: Translate) -> str:
    """``source`` with the text of each comment replaced by ``translate(text, "code comment")``.

    A cell that Python's tokenizer cannot read (IPython-only syntax) is left as it is.
    """
    lines = source.split("\n")
    try:
        comments = [token for token in tokenize.generate_tokens(io.StringIO(source).readline)
                    if token.type == tokenize.COMMENT]
    except (tokenize.TokenError, SyntaxError, IndentationError):
        return source
    for token in comments:
        text = comment_text(token.string)
        if text is None:
            continue
        new = translate(text, "code comment")
        if new != text:
            row, column = token.start
            marker = token.string[: len(token.string) - len(token.string.lstrip("#"))]
            line = lines[row - 1]
            lines[row - 1] = line[:column] + f"{marker} {new}" + line[column + len(token.string):]
    return "\n".join(lines)


#: The test helpers that take a description of what they check, by the position of that argument.
DESCRIBED = {
    name: list(inspect.signature(helper).parameters).index("what")
    for name, helper in vars(checks).items()
    if inspect.isfunction(helper) and "what" in inspect.signature(helper).parameters
}
#: The errors a test cell raises to fail with its own message (not the errors that fakes raise as data).
FAILURES = {"AssertionError", checks.ExerciseFailure.__name__}
_STRING = re.compile(r"""(?P<prefix>[rRfF]*)(?P<quote>'''|\"\"\"|'|")(?P<inner>.*)(?P=quote)""", re.S)


def _test_messages(tree: ast.AST) -> list[ast.expr]:
    """The string literals of a test cell that a failure shows: helpers' ``what``, ``assert``'s message,
    the message of a failure it raises itself."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Assert) and node.msg is not None:
            found.append(node.msg)
        elif (isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call) and node.exc.args
              and getattr(node.exc.func, "id", None) in FAILURES):
            found.append(node.exc.args[0])
        elif isinstance(node, ast.Call) and getattr(node.func, "id", None) in DESCRIBED:
            position = DESCRIBED[node.func.id]
            if len(node.args) > position:
                found.append(node.args[position])
            found += [keyword.value for keyword in node.keywords if keyword.arg == "what"]
    return [node for node in found if isinstance(node, (ast.Constant, ast.JoinedStr))]


def _offset(lines: list[str], line: int, byte_column: int) -> int:
    """The character offset in the whole source of an AST position (``line``, UTF-8 ``byte_column``)."""
    before = sum(len(text) + 1 for text in lines[: line - 1])
    return before + len(lines[line - 1].encode()[:byte_column].decode())


def rewrite_test_messages(source: str, translate: Translate) -> str:
    """A test cell's source with each message literal's text replaced by ``translate(text, "test message")``.

    The text is the literal as written between its quotes (an f-string's ``{fields}``
    included). A literal that is a Python value itself (``"timed(greet('Ada'))"``),
    or one written as several concatenated pieces, stays as it is.
    """
    try:
        tree = compile(source, "<cell>", "exec", flags=ast.PyCF_ONLY_AST | ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
    except SyntaxError:
        return source
    lines = source.split("\n")
    edits = []
    for node in _test_messages(tree):
        start = _offset(lines, node.lineno, node.col_offset)
        end = _offset(lines, node.end_lineno, node.end_col_offset)
        literal = _STRING.fullmatch(source[start:end])
        if literal is None or literal["quote"] in literal["inner"].replace("\\" + literal["quote"], ""):
            continue
        text = literal["inner"]
        if isinstance(node, ast.Constant) and _is_value(text) or not is_translatable(text):
            continue
        new = translate(text, "test message")
        if new != text:
            quote = literal["quote"]
            escaped = re.sub(rf"(?<!\\){re.escape(quote)}", "\\" + quote, new) if len(quote) == 1 else new
            edits.append((start, end, literal["prefix"] + quote + escaped + quote))
    for start, end, replacement in sorted(edits, reverse=True):
        source = source[:start] + replacement + source[end:]
    return source


def rewrite_cell(cell: dict, translate: Translate) -> str:
    """A cell's source with its units translated (raw cells stay as they are)."""
    if cell["cell_type"] == "markdown":
        return rewrite_markdown(cell["source"], translate)
    if cell["cell_type"] == "code":
        source = rewrite_code(cell["source"], translate)
        if cell.get("metadata", {}).get("nbgrader", {}).get("grade"):
            source = rewrite_test_messages(source, translate)
        return source
    return cell["source"]


def notebook_units(notebook: dict) -> list[Unit]:
    """Every unit of ``notebook`` in reading order (a text met twice is listed twice)."""
    units: list[Unit] = []
    for number, cell in enumerate(notebook["cells"], start=1):

        def record(text: str, kind: str, number: int = number) -> str:
            units.append(Unit(text, kind, number))
            return text

        rewrite_cell(cell, record)
    return units

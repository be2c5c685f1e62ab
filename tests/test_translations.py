"""The catalogs of the Chinese edition: complete, faithful to the English's placeholders and the glossary,
and the Chinese notebooks exactly what the build makes of them, with the English code."""

from __future__ import annotations

import io
import tokenize
from pathlib import Path

import nbformat
import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.pofile import write_po
from traitlets.config.loader import PyFileConfigLoader

from autograder.course import CONFIG_FILE
from autograder.i18n.catalogs import CatalogFile, catalog_files
from autograder.i18n.check import catalog_problems, checked_terms, glossary_path
from autograder.i18n.editions import editions, solution_differences
from autograder.language import METADATA_KEY
from autograder.release import release_differences
from tests.conftest import REPOSITORY

LANGUAGE = "zh_CN"
CATALOGS = catalog_files(REPOSITORY, LANGUAGE)
TERMS = checked_terms(glossary_path(REPOSITORY, LANGUAGE))
EDITION = next(edition for edition in editions(REPOSITORY) if edition.language == LANGUAGE)


@pytest.mark.parametrize("entry", CATALOGS, ids=[entry.path.name for entry in CATALOGS])
def test_catalog_is_complete_and_faithful(entry: CatalogFile) -> None:
    """No untranslated, fuzzy, obsolete or stale entry, no placeholder changed, every checked term used."""
    _, problems = catalog_problems(entry, LANGUAGE, TERMS)
    shown = "\n".join(f"  {problem}" for problem in problems[:15])
    more = f"\n  ... and {len(problems) - 15} more" if len(problems) > 15 else ""
    if problems:
        name = entry.path.relative_to(REPOSITORY.root)
        pytest.fail(f"{name} has {len(problems)} problems (make check-translation CATALOG={name}):\n{shown}{more}")


def _notebook_with(tmp_path: Path, *cells: str) -> Path:
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(text) for text in cells])
    path = tmp_path / "lesson.ipynb"
    nbformat.write(notebook, path)
    return path


def test_the_checker_finds_every_kind_of_problem(tmp_path: Path) -> None:
    english = [
        "Untranslated paragraph.",
        "A paragraph whose English changed.",
        "Run `asyncio.run()` once.",
        "See [the docs](https://docs.python.org/3/) for {name}.",
        "The event loop runs every task.",
        "The tutorial says \"必须是一个异步方法\" here.",
        "A paragraph left in English by mistake.",
        "Two\nlines.",
        "Only in the English.",
    ]
    source = _notebook_with(tmp_path, *english)
    catalog = Catalog(locale=LANGUAGE)
    catalog.add(english[0], "")
    catalog.add(english[1], "英文改过的段落。", flags=["fuzzy"])
    catalog.add(english[2], "运行一次 `asyncio.run`。")  # the code span changed
    catalog.add(english[3], "参见[文档](https://docs.python.org/zh-cn/3/)了解 {名称}。")  # link and field changed
    catalog.add(english[4], "循环运行每个任务。")  # the glossary's 事件循环 is missing
    catalog.add(english[5], "教程说“必须是异步方法”。")  # the tutorial's Chinese changed
    catalog.add(english[6], english[6])
    catalog.add(english[7], "两行。")
    catalog.obsolete["Gone."] = Message("Gone.", "没了。")
    path = tmp_path / "lesson.po"
    with path.open("wb") as po:
        write_po(po, catalog)
    _, problems = catalog_problems(CatalogFile(path, source, True), LANGUAGE, TERMS)
    found = {(problem.kind, problem.msgid) for problem in problems}
    assert ("untranslated", english[0]) in found
    assert ("fuzzy", english[1]) in found
    assert ("obsolete", "Gone.") in found
    assert ("stale", english[8]) in found
    assert ("copied", english[6]) in found
    assert ("glossary", english[4]) in found
    details = {problem.msgid: problem.detail for problem in problems if problem.kind == "placeholders"}
    assert "code spans differ" in details[english[2]]
    assert "{fields} differ" in " ".join(p.detail for p in problems if p.msgid == english[3])
    assert "link targets differ" in " ".join(p.detail for p in problems if p.msgid == english[3])
    assert "the tutorial's Chinese must stay as quoted" in details[english[5]]
    assert "line breaks" in details[english[7]]


def test_the_glossary_follows_the_official_chinese_python_docs() -> None:
    rows = {}
    for line in glossary_path(REPOSITORY, LANGUAGE).read_text(encoding="utf-8").splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) >= 3 and not set(cells[0]) <= {"-"}:
            rows[cells[0]] = cells[1]
    official = {
        "async generator": "异步生成器", "async iterator": "异步迭代器", "async iterable": "异步可迭代对象",
        "event loop": "事件循环", "coroutine": "协程", "coroutine function": "协程函数", "task": "任务",
        "task group": "任务组", "context manager": "上下文管理器", "async context manager": "异步上下文管理器",
        "exception group": "异常组", "generator": "生成器", "iterator": "迭代器", "iterable": "可迭代对象",
    }
    assert {term: rows.get(term) for term in official} == official
    assert rows["awaitable"] == "可等待" and "可等待对象" in (glossary_path(REPOSITORY, LANGUAGE).read_text())
    assert rows["cancel, cancelled, cancelling, cancellation"] == "取消"
    checked = {term.english for term in TERMS}
    assert {"async generator", "async iterator", "event loop", "coroutine", "awaitable", "cancel",
            "context manager"} <= checked


def test_the_chinese_solutions_are_what_the_catalogs_build() -> None:
    assert solution_differences(EDITION) == [], "zh_CN/solutions/ is out of date: run `make release`"


def test_the_chinese_student_notebooks_match_the_chinese_solutions() -> None:
    assert release_differences(EDITION.course) == [], "zh_CN/notebooks/ is out of date: run `make release`"


def _code_tokens(source: str) -> list[tuple[int, str]]:
    """The code of a cell: its tokens without comments and without the text of its strings."""
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    except (tokenize.TokenError, SyntaxError):
        return [(0, source)]
    return [(token.type, "" if token.type == tokenize.STRING else token.string) for token in tokens
            if token.type not in (tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE)]


@pytest.mark.parametrize("lesson", REPOSITORY.lessons())
def test_the_chinese_edition_runs_the_english_code(lesson: str) -> None:
    """Same cells, same ids and metadata, same code; only comments and test messages' text may differ."""
    english = nbformat.read(REPOSITORY.solution_notebook(lesson), as_version=4)
    chinese = nbformat.read(EDITION.course.solution_notebook(lesson), as_version=4)
    assert chinese.metadata[METADATA_KEY] == "zh-CN"
    assert METADATA_KEY not in english.metadata
    assert [(c.get("id"), c.cell_type, c.metadata) for c in chinese.cells] == \
        [(c.get("id"), c.cell_type, c.metadata) for c in english.cells]
    for before, after in zip(english.cells, chinese.cells):
        if before.cell_type == "code":
            assert _code_tokens(after.source) == _code_tokens(before.source), after.get("id")
    student = nbformat.read(EDITION.course.student_notebook(lesson), as_version=4)
    assert student.metadata[METADATA_KEY] == "zh-CN"


def test_both_editions_grade_with_the_same_nbgrader_settings() -> None:
    def settings(folder: Path) -> dict:
        config = PyFileConfigLoader(CONFIG_FILE, path=str(folder)).load_config()
        flat = {f"{section}.{key}": value for section, values in config.items() for key, value in values.items()}
        return {key: value for key, value in flat.items() if key not in ("CourseDirectory.root", "CourseDirectory.course_id")}

    assert settings(EDITION.course.root) == settings(REPOSITORY.root)

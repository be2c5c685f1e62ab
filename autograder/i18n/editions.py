"""The translated editions of the course: each is its own nbgrader course, built from the catalogs.

The English course is this folder. An edition lives in a folder named like its language
(``zh_CN/``) with its own ``nbgrader_config.py`` (course id ``async-iterators-zh_CN``),
its instructor notebooks in ``solutions/`` and its student notebooks in ``notebooks/``:
a teacher releases, collects and grades it exactly like the English course, with its
own gradebook. Both of its notebook folders are generated, never edited by hand:

1. ``build_solutions`` writes ``<edition>/solutions/`` from ``solutions/`` and the
   catalogs: every unit with a finished translation (not fuzzy) is replaced, code stays
   as it is, and the notebook's metadata says its language (``"lang": "zh-CN"``), which
   is what makes the test messages speak it. A cell whose source did not change keeps
   its outputs until the notebook is executed again.
2. ``autograder.release`` then generates ``<edition>/notebooks/`` with nbgrader.
"""

from __future__ import annotations

import copy
import shutil
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbformat import NotebookNode

from autograder.course import Course
from autograder.i18n.catalogs import LANGUAGES, catalog_files, read_catalog
from autograder.i18n.units import rewrite_cell
from autograder.language import METADATA_KEY


@dataclass(frozen=True)
class Edition:
    """One translated edition: its gettext language name and its course folder beside the English one."""

    english: Course
    language: str  # gettext name, as in zh_CN

    @property
    def lang(self) -> str:
        """The BCP 47 tag that the notebooks' metadata carries (``zh-CN``)."""
        return self.language.replace("_", "-")

    @property
    def course(self) -> Course:
        return Course.at(self.english.root / self.language)

    def source_notebooks(self) -> list[tuple[Path, Path]]:
        """(English solution notebook, its catalog) for every notebook of the course."""
        return [(entry.source, entry.path) for entry in catalog_files(self.english, self.language)
                if entry.is_notebook]


def editions(english: Course) -> list[Edition]:
    return [Edition(english, language) for language in LANGUAGES]


def finished_translations(catalog_path: Path, language: str) -> dict[str, str]:
    """The catalog's translated, non-fuzzy entries, English to translation."""
    if not catalog_path.is_file():
        return {}
    return {message.id: message.string for message in read_catalog(catalog_path, language)
            if isinstance(message.id, str) and message.id and message.string and not message.fuzzy}


def translated_notebook(english: NotebookNode, translations: dict[str, str], lang: str,
                        previous: NotebookNode | None = None) -> NotebookNode:
    """``english`` in the edition's language; cells unchanged since ``previous`` keep its outputs."""
    notebook = copy.deepcopy(english)
    notebook.metadata[METADATA_KEY] = lang
    kept = {cell.get("id"): cell for cell in previous.cells} if previous is not None else {}
    for cell in notebook.cells:
        cell.source = rewrite_cell(cell, lambda text, kind: translations.get(text, text))
        before = kept.get(cell.get("id"))
        if cell.cell_type == "code" and before is not None and before.source == cell.source:
            cell.outputs = before.outputs
            cell.execution_count = before.execution_count
    return notebook


def sources(notebook: NotebookNode) -> list[tuple[str, str, str, dict]]:
    """What the build decides in a notebook: each cell's id, type, source and metadata (not its outputs)."""
    return [(cell.get("id"), cell.cell_type, cell.source, dict(cell.metadata)) for cell in notebook.cells]


def _target(edition: Edition, english_path: Path) -> Path:
    return edition.english.root / edition.language / english_path.relative_to(edition.english.root)


def expected_solutions(edition: Edition) -> dict[Path, NotebookNode]:
    """Every notebook of the edition's ``solutions/`` as the catalogs make it now, by its path."""
    built = {}
    for english_path, catalog_path in edition.source_notebooks():
        target = _target(edition, english_path)
        previous = nbformat.read(target, as_version=4) if target.is_file() else None
        translations = finished_translations(catalog_path, edition.language)
        built[target] = translated_notebook(nbformat.read(english_path, as_version=4), translations,
                                            edition.lang, previous)
    return built


def build_solutions(edition: Edition) -> list[Path]:
    """Write the edition's ``solutions/``; the notebooks whose sources changed."""
    changed = []
    for target, notebook in expected_solutions(edition).items():
        previous = nbformat.read(target, as_version=4) if target.is_file() else None
        if previous is None or sources(previous) != sources(notebook) or previous.metadata != notebook.metadata:
            target.parent.mkdir(parents=True, exist_ok=True)
            nbformat.write(notebook, target)
            changed.append(target)
    lessons = set(edition.english.lessons())
    for folder in edition.course.source.iterdir():  # generated: a lesson gone from the English goes here too
        if folder.is_dir() and folder.name not in lessons:
            shutil.rmtree(folder)
        elif folder.suffix == ".ipynb" and not (edition.english.source / folder.name).is_file():
            folder.unlink()
    return changed


def solution_differences(edition: Edition) -> list[str]:
    """The edition's solution notebooks whose sources differ from what the catalogs make now."""
    return sorted(
        str(target.relative_to(edition.english.root))
        for target, notebook in expected_solutions(edition).items()
        if not target.is_file()
        or sources(nbformat.read(target, as_version=4)) != sources(notebook)
        or nbformat.read(target, as_version=4).metadata != notebook.metadata
    )

"""The gettext catalogs of a translated edition, extracted and kept up to date with Babel.

One catalog per notebook of ``solutions/`` (``translations/<ll_CC>/<notebook>.po``)
and one for the messages that the ``autograder`` package shows students
(``autograder/locale/<ll_CC>/LC_MESSAGES/autograder.po``, where ``autograder.language``
reads it at run time). Every entry is keyed by its English text, as gettext does.

``make catalogs`` (``python -m autograder.i18n.catalogs``) extracts the units again and
merges them into each catalog the way ``msgmerge`` does (Babel's ``Catalog.update``):
a translation whose English is unchanged stays; one whose English changed a little
comes back marked fuzzy, with the old English kept as ``#| msgid``; one whose English
is gone becomes obsolete (``#~``). The tests refuse untranslated, fuzzy and obsolete
entries, so an edited English cell cannot ship a stale translation.

The autograder's messages are found as ``pybabel extract -k N_ autograder`` would find
them: strings passed to ``_()``, ``N_()`` and ``ngettext()``.
"""

from __future__ import annotations

import argparse
import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import nbformat
from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.pofile import read_po, write_po

from autograder.course import Course
from autograder.i18n.units import notebook_units
from autograder.language import DOMAIN, LOCALE_FOLDER

PACKAGE = Path(__file__).resolve().parent.parent
#: The languages the course is translated into (gettext names).
LANGUAGES = ["zh_CN"]
PROJECT = "async-iterators-course"
#: A fixed creation date: regenerating a catalog must not change it.
EPOCH = datetime(2026, 11, 26, tzinfo=timezone.utc)


@dataclass(frozen=True)
class CatalogFile:
    """One catalog: where it is, and how to extract its template (its English entries)."""

    path: Path
    source: Path  # the notebook, or the autograder package
    include_lineno: bool  # notebook entries say their cell; the package's line numbers change too often

    @property
    def is_notebook(self) -> bool:
        return self.source.suffix == ".ipynb"

    def template(self) -> Catalog:
        return notebook_template(self.source) if self.is_notebook else autograder_template()


def translations_folder(course: Course, language: str) -> Path:
    return course.root / "translations" / language


def catalog_files(course: Course, language: str) -> list[CatalogFile]:
    """Every catalog of ``language``: the notebooks' in teaching order, then the autograder's."""
    notebooks = [course.solution_notebook(lesson) for lesson in course.lessons()] + course.course_notebooks()
    folder = translations_folder(course, language)
    files = [CatalogFile(folder / f"{notebook.stem}.po", notebook, True) for notebook in notebooks]
    files.append(CatalogFile(LOCALE_FOLDER / language / "LC_MESSAGES" / f"{DOMAIN}.po", PACKAGE, False))
    return files


HEADER = """\
# The {language} translation of {source}, for the async iterators course.
# Translate the msgstr lines only; translations/TRANSLATING.md says how.
# Check your work: make check-translation CATALOG={path}
#"""


def _empty_catalog(entry: CatalogFile | None = None, language: str | None = None) -> Catalog:
    catalog = Catalog(locale=language, project=PROJECT, version="1", creation_date=EPOCH,
                      revision_date=EPOCH, fuzzy=False, msgid_bugs_address="the course's issue tracker")
    if entry is not None and language is not None:
        root = PACKAGE.parent
        catalog.header_comment = HEADER.format(language=language, source=entry.source.relative_to(root),
                                               path=entry.path.relative_to(root))
        catalog.language_team = f"{language} <translators of this course>"
    return catalog


def notebook_template(notebook_path: Path) -> Catalog:
    """The English units of a notebook, as a catalog template: location ``<notebook>:<cell number>``."""
    template = _empty_catalog()
    for unit in notebook_units(nbformat.read(notebook_path, as_version=4)):
        existing = template.get(unit.text)
        if existing is None:
            template.add(unit.text, locations=[(notebook_path.name, unit.cell)], auto_comments=[unit.kind])
        else:
            existing.locations.append((notebook_path.name, unit.cell))
            if unit.kind not in existing.auto_comments:
                existing.auto_comments.append(unit.kind)
    return template


def autograder_template() -> Catalog:
    """The messages marked in the autograder package, as ``pybabel extract -k N_`` finds them."""
    template = _empty_catalog()
    keywords = {**DEFAULT_KEYWORDS, "N_": None}
    for filename, lineno, message, comments, context in extract_from_dir(
        PACKAGE, keywords=keywords, comment_tags=("Translators:",), strip_comment_tags=True,
        directory_filter=lambda folder: "__pycache__" not in folder and "locale" not in folder,
    ):
        template.add(message, locations=[(f"autograder/{filename}", lineno)], auto_comments=comments,
                     context=context)
    return template


def read_catalog(path: Path, language: str) -> Catalog:
    with path.open("rb") as po:
        return read_po(po, locale=language)


def catalog_text(catalog: Catalog, include_lineno: bool) -> bytes:
    buffer = io.BytesIO()
    write_po(buffer, catalog, include_previous=True, include_lineno=include_lineno)
    return buffer.getvalue()


def updated(entry: CatalogFile, language: str) -> Catalog:
    """The catalog merged with a fresh extraction, msgmerge-style (translations kept, changes fuzzy)."""
    catalog = read_catalog(entry.path, language) if entry.path.is_file() else _empty_catalog(entry, language)
    catalog.update(entry.template(), update_creation_date=False)
    return catalog


def update_catalogs(course: Course, language: str) -> Iterator[tuple[CatalogFile, Catalog]]:
    """Update every catalog of ``language`` in place."""
    for entry in catalog_files(course, language):
        catalog = updated(entry, language)
        entry.path.parent.mkdir(parents=True, exist_ok=True)
        entry.path.write_bytes(catalog_text(catalog, entry.include_lineno))
        yield entry, catalog


def main() -> None:
    parser = argparse.ArgumentParser(description="Extract the translatable text again and update the catalogs.")
    parser.add_argument("--course", type=Path, default=Path.cwd(), help="course folder")
    parser.add_argument("--language", action="append", help=f"gettext language name (default: {LANGUAGES})")
    args = parser.parse_args()
    course = Course.at(args.course)
    for language in args.language or LANGUAGES:
        for entry, catalog in update_catalogs(course, language):
            messages = [m for m in catalog if m.id]
            untranslated = sum(not all(m.string if isinstance(m.string, (list, tuple)) else [m.string])
                               for m in messages)
            fuzzy = sum(m.fuzzy for m in messages)
            print(f"{entry.path.relative_to(course.root)}: {len(messages)} entries, {untranslated} untranslated, "
                  f"{fuzzy} fuzzy, {len(catalog.obsolete)} obsolete")


if __name__ == "__main__":
    main()

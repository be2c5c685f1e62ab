"""Check a translation catalog: what a translator runs after each sitting, and what the tests run.

``python -m autograder.i18n.check [CATALOG.po ...]`` (all catalogs without arguments)
prints every problem and exits non-zero when there is one:

- an entry not translated yet, or still marked fuzzy (its English changed since);
- an obsolete entry (``#~``: its English is gone; reuse its translation, then delete it);
- a catalog out of step with the English (run ``make catalogs``);
- a translation whose placeholders differ from the English: ``{name}`` fields, code
  spans, link targets, HTML tags, ``**`` markers, line breaks, and the tutorial's
  Chinese quoted in the English, which must stay word for word;
- Markdown that renders differently from the English (bold, italics, code, links):
  CommonMark does not open or close ``**`` between a Chinese punctuation mark and a
  Chinese character, so ``**“队列”**的`` shows its asterisks;
- English copied unchanged into the translation;
- a key term of the glossary (``translations/<ll_CC>/glossary.md``, rows marked *yes*)
  used in the English but missing from the translation.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from babel.messages.catalog import Catalog, Message

from autograder.course import Course
from autograder.i18n.catalogs import LANGUAGES, CatalogFile, catalog_files, read_catalog, translations_folder
from autograder.i18n.units import CJK, _parser as _markdown, prose

BRACE_FIELD = re.compile(r"\{[A-Za-z_][A-Za-z0-9_]*\}")
CODE_SPAN = re.compile(r"(`+)(?:(?!\1).)+?\1")
LINK_TARGET = re.compile(r"\]\(([^)]*)\)")
HTML_TAG = re.compile(r"</?[A-Za-z][^<>]*>")
CHINESE_RUN = re.compile(f"(?:{CJK.pattern})+")


@dataclass(frozen=True)
class Problem:
    kind: str  # untranslated, fuzzy, obsolete, stale, placeholders, copied, glossary
    msgid: str
    detail: str = ""

    def __str__(self) -> str:
        shown = self.msgid if len(self.msgid) <= 70 else self.msgid[:67] + "..."
        return f"{self.kind}: {shown!r}" + (f": {self.detail}" if self.detail else "")


@dataclass(frozen=True)
class Term:
    english: str
    chinese: str

    @property
    def pattern(self) -> re.Pattern[str]:
        words = r"[\s-]+".join(map(re.escape, self.english.split()))
        return re.compile(rf"\b{words}(?:s|es)?\b", re.IGNORECASE)


def glossary_path(course: Course, language: str) -> Path:
    return translations_folder(course, language) / "glossary.md"


def checked_terms(glossary: Path) -> list[Term]:
    """The glossary's rows marked *yes*; a cell ``a, b`` or ``a / b`` names several English forms."""
    terms = []
    for line in glossary.read_text(encoding="utf-8").splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) >= 3 and cells[2] == "yes":
            terms += [Term(english.strip(), cells[1]) for english in re.split(r"[,/]", cells[0]) if english.strip()]
    return terms


def _strings(message: Message) -> list[str]:
    return list(message.string) if isinstance(message.string, (list, tuple)) else [message.string]


def _ids(message: Message) -> list[str]:
    return list(message.id) if isinstance(message.id, (list, tuple)) else [message.id]


def placeholder_problems(english: str, translation: str) -> list[str]:
    """How ``translation`` fails to keep what must stay as it is in ``english``."""
    found = []
    for name, pattern in (("{fields}", BRACE_FIELD), ("code spans", CODE_SPAN), ("HTML tags", HTML_TAG)):
        want = Counter(m.group(0) for m in pattern.finditer(english))
        have = Counter(m.group(0) for m in pattern.finditer(translation))
        if want != have:
            found.append(f"{name} differ: missing {sorted((want - have).elements())}, "
                         f"extra {sorted((have - want).elements())}")
    if Counter(LINK_TARGET.findall(english)) != Counter(LINK_TARGET.findall(translation)):
        found.append(f"link targets differ: {LINK_TARGET.findall(english)} vs {LINK_TARGET.findall(translation)}")
    outside_code = (CODE_SPAN.sub("", english), CODE_SPAN.sub("", translation))
    if outside_code[0].count("**") != outside_code[1].count("**"):
        found.append("a different number of ** (bold) markers")
    if english.count("\n") != translation.count("\n"):
        found.append("a different number of line breaks")
    lost = [run for run in CHINESE_RUN.findall(outside_code[0]) if run not in translation]
    if lost:
        found.append(f"the tutorial's Chinese must stay as quoted: {lost}")
    return found


MARKDOWN_KINDS = {"heading", "paragraph", "list item", "table cell"}


def rendering_problems(english: str, translation: str) -> list[str]:
    """Emphasis markers that the translation shows as asterisks, where the English renders them.

    CommonMark does not open or close ``**`` between a Chinese punctuation mark and a
    Chinese character (``**“队列”**的`` shows its asterisks). A translation may drop an
    emphasis (a title in “quotes” instead of italics); it may not leave markers on show.
    """
    def shown_asterisks(text: str) -> int:
        return sum(token.content.count("*") for block in _markdown.parseInline(text)
                   for token in block.children or [] if token.type == "text")

    if shown_asterisks(translation) > shown_asterisks(english):
        return ["* or ** shows as asterisks instead of emphasis: put the Chinese punctuation outside the "
                "markers (“**队列**”的, not **“队列”**的), or leave a space outside them"]
    return []


def entry_problems(message: Message, terms: list[Term]) -> list[Problem]:
    key = _ids(message)[0]
    strings = _strings(message)
    if not all(strings):
        return [Problem("untranslated", key)]
    problems = [Problem("fuzzy", key, "the English changed: check the translation, then remove the fuzzy flag")
                ] if message.fuzzy else []
    for english, translation in zip(_ids(message) + _ids(message)[-1:] * (len(strings) - len(_ids(message))),
                                    strings):
        problems += [Problem("placeholders", key, detail) for detail in placeholder_problems(english, translation)]
        if MARKDOWN_KINDS & set(message.auto_comments):
            problems += [Problem("markup", key, detail) for detail in rendering_problems(english, translation)]
        if translation == english and len(re.findall("[A-Za-z]{2,}", prose(english))) >= 2:
            problems.append(Problem("copied", key, "the translation is the English itself"))
        for term in terms:
            if term.pattern.search(prose(english)) and term.chinese not in translation:
                problems.append(Problem("glossary", key, f"uses {term.english!r}: the translation needs "
                                                         f"{term.chinese!r}"))
    return problems


def catalog_problems(entry: CatalogFile, language: str, terms: list[Term]) -> tuple[Catalog | None, list[Problem]]:
    """Everything wrong with one catalog (an empty list when it is ready to ship)."""
    if not entry.path.is_file():
        return None, [Problem("stale", "", f"no catalog at {entry.path}: run `make catalogs`")]
    catalog = read_catalog(entry.path, language)
    problems = [Problem("obsolete", message.id if isinstance(message.id, str) else message.id[0],
                        "its English is gone: reuse the translation elsewhere if it helps, then delete the entry")
                for message in catalog.obsolete.values()]
    template_ids = {message.id if isinstance(message.id, str) else message.id[0]
                    for message in entry.template() if message.id}
    catalog_ids = {key for key in (_ids(m)[0] for m in catalog if m.id)}
    problems += [Problem("stale", key, "in the English but not in the catalog: run `make catalogs`")
                 for key in sorted(template_ids - catalog_ids)]
    problems += [Problem("stale", key, "no longer in the English: run `make catalogs`")
                 for key in sorted(catalog_ids - template_ids)]
    for message in catalog:
        if message.id:
            problems += entry_problems(message, terms)
    return catalog, problems


def main() -> None:
    parser = argparse.ArgumentParser(description="Check translation catalogs (all of them without arguments).")
    parser.add_argument("catalogs", nargs="*", type=Path, help="catalog files to check")
    parser.add_argument("--course", type=Path, default=Path.cwd(), help="course folder")
    parser.add_argument("--language", default=LANGUAGES[0], help="gettext language name")
    parser.add_argument("--brief", action="store_true", help="count the untranslated entries instead of listing them")
    args = parser.parse_args()
    course = Course.at(args.course)
    entries = catalog_files(course, args.language)
    if args.catalogs:
        wanted = {path.resolve() for path in args.catalogs}
        unknown = wanted - {entry.path.resolve() for entry in entries}
        if unknown:
            sys.exit(f"not a catalog of this course: {', '.join(map(str, sorted(unknown)))}")
        entries = [entry for entry in entries if entry.path.resolve() in wanted]
    terms = checked_terms(glossary_path(course, args.language))
    failed = False
    for entry in entries:
        catalog, problems = catalog_problems(entry, args.language, terms)
        total = sum(1 for message in catalog if message.id) if catalog else 0
        counts = Counter(problem.kind for problem in problems)
        untranslated = counts["untranslated"]
        print(f"{entry.path.relative_to(course.root)}: {total - untranslated} of {total} translated"
              + "".join(f", {count} {kind}" for kind, count in sorted(counts.items()) if kind != "untranslated")
              + (f", {untranslated} untranslated" if untranslated else ""))
        for problem in problems:
            if not (args.brief and problem.kind == "untranslated"):
                print(f"  {problem}")
        failed = failed or bool(problems)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()

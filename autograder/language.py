"""The language a notebook is written in, and the course's messages in that language.

A student of the Chinese edition must read the test cells' failures, the stub and
time-limit messages and the progress table in Chinese, also on a machine whose locale
is English, and a teacher who grades both editions on one machine must get each
student's report in the language of that student's notebook. So the language comes
from the notebook, never from the environment's locale: a notebook's metadata says
``"lang": "zh-CN"`` (a BCP 47 tag, as in HTML's ``lang``); without it, it is English.

Which notebook? Whoever runs the code may say so with ``speaking(lang)`` (the grader
does, per submission). Otherwise: the notebook of the JupyterLab session that started
this kernel (``JPY_SESSION_NAME``), else the notebooks in the working folder, which is
where nbclient, nbgrader, nbval and the grading sandbox start a kernel for a notebook.

The messages are marked in the code with ``_()`` (translate now) and ``N_()`` (a
constant, translated where it is shown), extracted with Babel into
``autograder/locale/<ll_CC>/LC_MESSAGES/autograder.po``; that catalog is read as it
is, with no compiled ``.mo`` to fall out of date.
"""

from __future__ import annotations

import contextvars
import functools
import gettext
import io
import json
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

#: The language of the course's source: English.
SOURCE_LANGUAGE = "en"
#: The notebook metadata key that names a notebook's language.
METADATA_KEY = "lang"
#: Where the catalogs of the autograder's messages are, one folder per gettext locale name.
LOCALE_FOLDER = Path(__file__).parent / "locale"
DOMAIN = "autograder"

_chosen: contextvars.ContextVar[str | None] = contextvars.ContextVar("language", default=None)


def locale_name(lang: str) -> str:
    """The gettext name of a BCP 47 tag: ``zh-CN`` is ``zh_CN``."""
    return lang.replace("-", "_")


def notebook_language(notebook: dict) -> str:
    """The language that a notebook's metadata names, if the course has it; English otherwise.

    A submitted notebook's metadata is the student's to write: anything but a language
    with a catalog here counts as English.
    """
    named = notebook.get("metadata", {}).get(METADATA_KEY)
    return named if isinstance(named, str) and named in _languages() else SOURCE_LANGUAGE


@functools.cache
def _languages() -> frozenset[str]:
    return frozenset({SOURCE_LANGUAGE, *(folder.name.replace("_", "-") for folder in LOCALE_FOLDER.iterdir()
                                         if (folder / "LC_MESSAGES" / f"{DOMAIN}.po").is_file())})


def _language_of_file(path: Path) -> str | None:
    try:
        return notebook_language(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, AttributeError):
        return None


@functools.cache
def _language_of(session_name: str | None, folder: str) -> str:
    """The language of the session's notebook, else the one all notebooks in ``folder`` agree on."""
    if session_name:
        for candidate in (Path(session_name), Path(folder) / Path(session_name).name):
            if candidate.suffix == ".ipynb" and candidate.is_file():
                found = _language_of_file(candidate)
                if found:
                    return found
    try:
        found = {_language_of_file(path) for path in Path(folder).glob("*.ipynb")} - {None}
    except OSError:
        found = set()
    return found.pop() if len(found) == 1 else SOURCE_LANGUAGE


def current_language() -> str:
    """The language to speak here and now (see the module's docstring for how it is found)."""
    chosen = _chosen.get()
    if chosen:
        return chosen
    try:
        folder = os.getcwd()
    except OSError:
        return SOURCE_LANGUAGE
    return _language_of(os.environ.get("JPY_SESSION_NAME"), folder)


@contextmanager
def speaking(lang: str) -> Iterator[None]:
    """Speak ``lang`` inside the block, whatever notebook is around (the grader's and the reports' way)."""
    token = _chosen.set(lang)
    try:
        yield
    finally:
        _chosen.reset(token)


@functools.cache
def _finished(lang: str) -> dict[str, str]:
    """The translated, non-fuzzy messages of ``lang``'s catalog (none for English or without one)."""
    catalog_path = LOCALE_FOLDER / locale_name(lang) / "LC_MESSAGES" / f"{DOMAIN}.po"
    if lang == SOURCE_LANGUAGE or not catalog_path.is_file():
        return {}
    from babel.messages.pofile import read_po

    with catalog_path.open("rb") as po:
        catalog = read_po(po, locale=locale_name(lang))
    return {message.id: message.string for message in catalog
            if isinstance(message.id, str) and message.id and message.string and not message.fuzzy}


@functools.cache
def translations(lang: str) -> gettext.NullTranslations:
    """The catalog of ``lang``, compiled in memory from its ``.po`` file; none (English) without one."""
    catalog_path = LOCALE_FOLDER / locale_name(lang) / "LC_MESSAGES" / f"{DOMAIN}.po"
    if lang == SOURCE_LANGUAGE or not catalog_path.is_file():
        return gettext.NullTranslations()
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    with catalog_path.open("rb") as po:
        catalog = read_po(po, locale=locale_name(lang))
    compiled = io.BytesIO()
    write_mo(compiled, catalog)  # leaves fuzzy entries out, as msgfmt does
    compiled.seek(0)
    return gettext.GNUTranslations(compiled)


def _(message: str) -> str:
    """``message`` in the current language (the English itself where it has no translation)."""
    return translations(current_language()).gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    """The form of a message for ``n`` things, in the current language."""
    return translations(current_language()).ngettext(singular, plural, n)


def N_(message: str) -> str:
    """Mark a constant for extraction; ``_()`` translates it where it is shown."""
    return message


_FIELD = re.compile(r"\{(\w+)\}")


@functools.cache
def _templates(lang: str) -> list[tuple[re.Pattern[str], str]]:
    """Each translated message with ``{fields}``, as a pattern that reads its English form back."""
    found = []
    for english, translated in _finished(lang).items():
        if not _FIELD.search(english):
            continue
        found.append((_translated_pattern(english), translated))
    # The template with the most fixed text first: "code cell {number} ran past {seconds} s ..." before
    # "code cell {number}: {reason}".
    return sorted(found, key=lambda item: -len(_FIELD.sub("", item[0].pattern)))


def translate_message(text: str) -> str:
    """A message the grader built from marked English templates, in the current language.

    The grader records what happened in English (the teacher reads it, and the report's
    advice is chosen by its words); a student's page shows it in the notebook's language.
    A field's value is itself translated when it is such a message ("code cell 3: the
    kernel died ... (exit code 1)"); text that no template matches stays as it is.
    """
    finished = _finished(current_language())
    if text in finished:
        return finished[text]
    for pattern, translated in _templates(current_language()):
        match = pattern.fullmatch(text)
        if match:
            values = {name: translate_message(value) for name, value in match.groupdict().items()}
            return translated.format(**values)
    return text


def translated_languages() -> list[str]:
    """The languages that have a catalog of the autograder's messages (BCP 47 tags)."""
    return sorted(folder.name.replace("_", "-") for folder in LOCALE_FOLDER.iterdir()
                  if (folder / "LC_MESSAGES" / f"{DOMAIN}.po").is_file()) if LOCALE_FOLDER.is_dir() else []


def with_fields_hidden(text: str, fields: set[str]) -> str:
    """A translated message with the values of ``fields`` replaced by ``…`` (the text as it is if none matches).

    The class overview groups one mistake across students whose own values differ; in
    English a pattern finds those values, in a translation its templates do.
    """
    for lang in translated_languages():
        for pattern, translated in _templates(lang):
            match = _translated_pattern(translated).fullmatch(text)
            if match and fields & set(match.groupdict()):
                values = {name: "…" if name in fields else value for name, value in match.groupdict().items()}
                return translated.format(**values)
    return text


@functools.cache
def _translated_pattern(translated: str) -> re.Pattern[str]:
    """A pattern that reads a translated template's own form back, with its fields as groups."""
    pattern, seen = "", set()
    for literal, field in re.findall(r"([^{]*)(?:\{(\w+)\})?", translated):
        pattern += re.escape(literal)
        if field:
            pattern += f"(?P={field})" if field in seen else f"(?P<{field}>.+?)"
            seen.add(field)
    return re.compile(pattern, re.S)

"""The guardian languages translate every message a family can meet, and keep it usable.

Each of locale/<language>/guardian.po must parse, name its language and plural rule, and
translate every guardian-facing msgid (tests/i18n/guardian_scope.py) without dropping a
placeholder or a piece of markup. A translation equal to the English is a string left
untranslated unless it is a name or a code (ALLOWED_AS_IS). The few words a family meets
everywhere (the product, the School Dashboard, the board of education, a choice and
confirming it) are said one way in each language, so a letter, a page and an e-mail agree.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.pofile import PoFileError, PoFileParser, read_po

from tests.i18n.guardian_scope import guardian_msgids

ROOT = Path(__file__).resolve().parents[2]

# Directory under locale/ -> (Language header, Plural-Forms header).
# Babel reads the Language header as a locale, and it has none for やさしい日本語, so that
# catalogue says "ja" (its plural rule is Japanese's); its directory names the variant.
LANGUAGES = {
    "vi": ("vi", "nplurals=1; plural=0;"),
    "zh_Hans": ("zh_Hans", "nplurals=1; plural=0;"),
    "pt_BR": ("pt_BR", "nplurals=2; plural=(n > 1);"),
    "fil": ("fil", "nplurals=2; plural=(n != 1);"),
    "ne": ("ne", "nplurals=2; plural=(n != 1);"),
    "ja_x_easy": ("ja", "nplurals=1; plural=0;"),
}

# Names, codes and notations that read the same in every language.
ALLOWED_AS_IS = {
    "Tobira",
    "School Dashboard",
    "ISMS (ISO/IEC 27001)",
    "{field}: {before} → {after}",
}

# Words said one way in each language: English pattern -> {directory: the rendering}. A
# rendering may list the forms grammar needs (a noun and its verb, say), nothing more; case
# is ignored.
GLOSSARY: dict[str, tuple[re.Pattern[str], dict[str, tuple[str, ...]]]] = {
    "Tobira": (
        re.compile(r"\bTobira\b"),
        {
            "vi": ("Tobira",),
            "zh_Hans": ("Tobira",),
            "pt_BR": ("Tobira",),
            "fil": ("Tobira",),
            "ne": ("Tobira",),
            "ja_x_easy": ("トビラ",),
        },
    ),
    "School Dashboard": (
        re.compile(r"\bSchool Dashboard\b"),
        {
            "vi": ("School Dashboard",),
            "zh_Hans": ("School Dashboard",),
            "pt_BR": ("School Dashboard",),
            "fil": ("School Dashboard",),
            "ne": ("School Dashboard",),
            "ja_x_easy": ("スクールダッシュボード",),
        },
    ),
    "board of education": (
        re.compile(r"\bboard of education\b|(?<!\{)\bboard\b(?!\})", re.IGNORECASE),
        {
            "vi": ("Ủy ban Giáo dục",),
            "zh_Hans": ("教育委员会",),
            "pt_BR": ("Secretaria de Educação",),
            "fil": ("Lupon ng Edukasyon",),
            "ne": ("शिक्षा समिति",),
            "ja_x_easy": ("教育委員会",),
        },
    ),
    "choice": (
        re.compile(r"\bchoices?\b", re.IGNORECASE),
        {
            "vi": ("lựa chọn", "chọn"),
            "zh_Hans": ("选择",),
            "pt_BR": ("escolh",),
            "fil": ("pagpili", "pumili"),
            "ne": ("छनोट",),
            "ja_x_easy": ("えらぶ", "えらん", "えらび"),
        },
    ),
    "confirm": (
        re.compile(r"\bconfirm", re.IGNORECASE),
        {
            "vi": ("xác nhận",),
            "zh_Hans": ("确认",),
            "pt_BR": ("confirm",),
            "fil": ("kumpirm", "kinumpirma"),
            "ne": ("पुष्टि",),
            "ja_x_easy": ("かくにん",),
        },
    ),
}

PLACEHOLDER = re.compile(r"%\(\w+\)[sd]|\{\w*\}")
MARKUP = re.compile(r"<[^>]+>|&#?\w+;")


def catalogue_path(directory: str) -> Path:
    return ROOT / "locale" / directory / "guardian.po"


def read_catalogue(directory: str) -> Catalog:
    with catalogue_path(directory).open("rb") as fh:
        return read_po(fh)


def translations(directory: str) -> dict[str, str]:
    """msgid -> usable translation (fuzzy and empty entries are left out, as the app does)."""
    found: dict[str, str] = {}
    for message in read_catalogue(directory):
        if message.id and not message.fuzzy and isinstance(message.string, str) and message.string.strip():
            found[str(message.id)] = message.string
    return found


def test_the_scope_finds_the_guardian_messages() -> None:
    msgids = guardian_msgids()
    for expected in ("Skip to main content", "Confirm your choice", "Dear {name},", "Page not found"):
        assert expected in msgids
    assert "Staff roles" not in msgids, "a staff page leaked into the guardian scope"
    assert len(msgids) > 400


@pytest.mark.parametrize("directory", LANGUAGES)
def test_catalogue_parses_and_names_its_language(directory: str) -> None:
    path = catalogue_path(directory)
    parser = PoFileParser(Catalog(), ignore_obsolete=True, abort_invalid=True)
    try:
        with path.open("rb") as fh:
            parser.parse(fh)
    except PoFileError as error:
        pytest.fail(f"{path.relative_to(ROOT)} cannot be parsed: {error}")
    headers = dict(read_catalogue(directory).mime_headers)
    language, plural_forms = LANGUAGES[directory]
    assert headers.get("Language") == language
    assert headers.get("Plural-Forms") == plural_forms
    assert "charset=utf-8" in headers.get("Content-Type", "").lower()


@pytest.mark.parametrize("directory", LANGUAGES)
def test_every_guardian_message_is_translated(directory: str) -> None:
    translated = translations(directory)
    missing = sorted(guardian_msgids() - translated.keys())
    assert not missing, f"{len(missing)} guardian msgid(s) without a translation in " + (
        f"locale/{directory}/guardian.po:\n  " + "\n  ".join(map(repr, missing))
    )
    stale = sorted(translated.keys() - guardian_msgids())
    assert not stale, f"locale/{directory}/guardian.po holds msgids no guardian meets:\n  " + "\n  ".join(
        map(repr, stale)
    )


@pytest.mark.parametrize("directory", LANGUAGES)
def test_translations_keep_placeholders_and_markup(directory: str) -> None:
    broken = [
        f"  {msgid!r} -> {text!r}"
        for msgid, text in translations(directory).items()
        if sorted(PLACEHOLDER.findall(msgid)) != sorted(PLACEHOLDER.findall(text))
        or sorted(MARKUP.findall(msgid)) != sorted(MARKUP.findall(text))
    ]
    assert not broken, "translation(s) that drop or add a placeholder or markup:\n" + "\n".join(broken)


@pytest.mark.parametrize("directory", LANGUAGES)
def test_no_message_is_left_in_english(directory: str) -> None:
    untranslated = sorted(
        msgid
        for msgid, text in translations(directory).items()
        if text == msgid and msgid not in ALLOWED_AS_IS
    )
    assert not untranslated, f"left in English in locale/{directory}/guardian.po: {untranslated}"


@pytest.mark.parametrize("directory", LANGUAGES)
def test_key_words_are_said_one_way(directory: str) -> None:
    translated = translations(directory)
    disagreeing = [
        f"  {term!r} should be said {' or '.join(renderings[directory])!r}: {msgid!r} -> {text!r}"
        for term, (pattern, renderings) in GLOSSARY.items()
        for msgid, text in translated.items()
        if pattern.search(msgid) and not any(form.lower() in text.lower() for form in renderings[directory])
    ]
    assert not disagreeing, "\n".join(disagreeing)

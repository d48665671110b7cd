"""Message catalogues (Babel .po files), the languages offered and the current language.

Source strings are English; `locale/<dir>/*.po` hold translations, one file per domain so
that domains can be translated independently (a language's directory is its BCP 47 tag
with "-" written "_", e.g. `locale/zh_Hans/`). They are read at start-up. The languages
offered come from the `LANGUAGES` setting (ADR 0101); Japanese is always among them, as
the language the board writes its content in.

Board content (service descriptions, notices, choice texts …) is Japanese on the model and
translated per language in `content_translations`; `localized()` picks the text for the
reader from the translations loaded for the page (`ContentScope`).
"""

from __future__ import annotations

import gettext as _stdlib_gettext
from collections.abc import Callable, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from babel.messages.pofile import read_po
from markupsafe import Markup, escape

from app.languages import DEFAULT_OFFERED, KNOWN_LANGUAGES, SOURCE_LANGUAGE, STAFF_LANGUAGES, Language
from app.resources import LOCALE_DIR

# Filled from the settings by `configure()` (the app and the worker call it; until then, and in
# the commands, every known language is offered).
LANGUAGES: list[str] = list(DEFAULT_OFFERED)
LANGUAGE_NAMES: dict[str, str] = {tag: KNOWN_LANGUAGES[tag].name for tag in DEFAULT_OFFERED}
DEFAULT_LANGUAGE = "ja"

current_language: ContextVar[str] = ContextVar("current_language", default=DEFAULT_LANGUAGE)


def configure(languages: Sequence[str], default: str) -> None:
    """Offer `languages` (known tags, Japanese among them) with `default` for new readers."""
    global DEFAULT_LANGUAGE
    LANGUAGES[:] = list(languages)
    LANGUAGE_NAMES.clear()
    LANGUAGE_NAMES.update({tag: KNOWN_LANGUAGES[tag].name for tag in languages})
    DEFAULT_LANGUAGE = default


def default_language() -> str:
    return DEFAULT_LANGUAGE


def staff_language(lang: str) -> str:
    if lang in STAFF_LANGUAGES:
        return lang
    known = KNOWN_LANGUAGES.get(lang)
    return "ja" if known is not None and known.babel == "ja" else "en"


def _language(lang: str) -> Language:
    return KNOWN_LANGUAGES.get(lang) or Language(lang, lang, "en")


@dataclass(frozen=True)
class _Catalogue:
    messages: dict[str, str | tuple[str, ...]]
    plural: Callable[[int], int]


def _english_plural(n: int) -> int:
    return 0 if n == 1 else 1


@lru_cache
def _read(lang: str) -> _Catalogue:
    messages: dict[str, str | tuple[str, ...]] = {}
    plural: Callable[[int], int] | None = None
    for po_path in sorted((LOCALE_DIR / _language(lang).directory).glob("*.po")):
        with po_path.open("rb") as fh:
            po = read_po(fh, locale=_language(lang).babel)
        if plural is None and po.plural_expr:
            plural = _stdlib_gettext.c2py(po.plural_expr)
        for message in po:
            if not message.id or not message.string or message.fuzzy:
                continue
            key = str(message.id[0] if isinstance(message.id, (tuple, list)) else message.id)
            string = message.string
            messages[key] = tuple(string) if isinstance(string, (list, tuple)) else string
    return _Catalogue(messages, plural or _english_plural)


def catalogue(lang: str) -> dict[str, str | tuple[str, ...]]:
    return _read(lang).messages


def _lookup(message: str, lang: str) -> tuple[str | tuple[str, ...] | None, str]:
    """The translation of `message` and the language it was found in."""
    seen: set[str] = set()
    current: str | None = lang
    while current is not None and current not in seen:
        seen.add(current)
        translated = catalogue(current).get(message)
        if translated:
            return translated, current
        current = _language(current).fallback
    return None, lang


def plural_index(n: int, lang: str) -> int:
    """Which plural form of `lang` a count takes (its catalogue's Plural-Forms rule)."""
    return _read(lang).plural(n)


def gettext(message: str, lang: str | None = None) -> str:
    translated, _found = _lookup(message, lang or current_language.get())
    if isinstance(translated, tuple):
        return translated[0] or message
    return translated or message


def ngettext(singular: str, plural: str, n: int, lang: str | None = None) -> str:
    """Plural forms by the catalogue's own rule (Plural-Forms header); English otherwise."""
    translated, found = _lookup(singular, lang or current_language.get())
    if isinstance(translated, tuple) and translated:
        index = plural_index(n, found)
        return translated[min(index, len(translated) - 1)] or (singular if n == 1 else plural)
    return singular if n == 1 else plural


_ = gettext


def negotiate(accept_language: str | None) -> str:
    """Pick an offered language from an Accept-Language header, honouring q-values.

    A tag matches an offered one exactly (case-insensitive), else by its primary subtag
    (zh-CN → zh-Hans, pt → pt-BR): the first offered language with that primary subtag.
    """
    if not accept_language:
        return DEFAULT_LANGUAGE
    exact = {tag.lower(): tag for tag in LANGUAGES}
    primary: dict[str, str] = {}
    for tag in LANGUAGES:
        primary.setdefault(tag.split("-")[0].lower(), tag)
    primary.setdefault("tl", primary.get("fil", ""))  # Tagalog readers read Filipino
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate(accept_language.split(",")):
        pieces = part.strip().split(";")
        tag = pieces[0].strip().lower()
        quality = 1.0
        for param in pieces[1:]:
            name, _sep, value = param.strip().partition("=")
            if name == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        match = exact.get(tag) or primary.get(tag.split("-")[0])
        if match and quality > 0:
            ranked.append((-quality, position, match))
    return sorted(ranked)[0][2] if ranked else DEFAULT_LANGUAGE


def format_date(value: object, lang: str | None = None, with_time: bool = False) -> str:
    """A date (and JST time) the way the reader's language writes it: 2026年11月22日 13:05,
    22 Nov 2026, 22 tháng 11, 2026 …; やさしい日本語 as Japanese."""
    from datetime import date, datetime
    from zoneinfo import ZoneInfo

    from babel.dates import format_date as babel_date

    lang = lang or current_language.get()
    if isinstance(value, str):  # an ISO 8601 time, as receipts and packages carry them
        text = value
        try:
            value = datetime.fromisoformat(text) if "T" in text else date.fromisoformat(text)
        except ValueError:
            return text
    if isinstance(value, datetime):
        local = value.astimezone(ZoneInfo("Asia/Tokyo"))
        day = local.date()
        clock = local.strftime("%H:%M")
    elif isinstance(value, date):
        day, clock = value, ""
        with_time = False
    else:
        return ""
    locale = _language(lang).babel
    text = babel_date(day, "d MMM y" if locale == "en" else "long", locale=locale)
    return f"{text} {clock}" if with_time and clock else text


ContentKey = tuple[str, int, str]  # (entity kind: the model's table, its id, the field)


def untranslated_note() -> str:
    return gettext("Not yet translated — shown in Japanese")


class ContentScope:
    """The board content translations a page or an e-mail may show.

    `loader(lang)` reads every translation of the reader's boards in `lang` in one
    statement, the first time a text is asked for in that language; never one per object.
    """

    def __init__(self, loader: Callable[[str], Mapping[ContentKey, str]] | None = None) -> None:
        self.loader = loader
        self._loaded: dict[str, Mapping[ContentKey, str]] = {}

    def use(self, loader: Callable[[str], Mapping[ContentKey, str]]) -> None:
        self.loader = loader
        self._loaded.clear()

    def texts(self, lang: str) -> Mapping[ContentKey, str]:
        if self.loader is None:
            return {}
        if lang not in self._loaded:
            self._loaded[lang] = self.loader(lang)
        return self._loaded[lang]


content_scope: ContextVar[ContentScope | None] = ContextVar("content_scope", default=None)


class LocalizedText(str):
    """Board content for the reader. When it is the Japanese text shown to a reader of
    another language (`fallback`), pages mark it `lang="ja"` and add a note in the reader's
    language; plain-text e-mails add the note in brackets (`app.templating`)."""

    fallback: bool = False

    def __html__(self) -> Markup:
        text = str.__str__(self)
        if not self.fallback:
            return escape(text)
        return Markup('<span lang="ja">{}</span> <span class="untranslated">{}</span>').format(
            text, untranslated_note()
        )

    def plain(self) -> str:
        text = str.__str__(self)
        return f"{text} ({untranslated_note()})" if self.fallback else text


def content_key(obj: Any, field: str) -> ContentKey | None:
    kind = getattr(type(obj), "__tablename__", None)
    entity_id = getattr(obj, "id", None)
    return (kind, entity_id, field) if isinstance(kind, str) and isinstance(entity_id, int) else None


def localized(obj: Any, field: str, lang: str | None = None) -> str:
    """`obj.<field>` (Japanese) for a Japanese reader; otherwise its translation into the
    reader's language, or the Japanese text marked as not yet translated.

    `obj` is a model (translations from the page's `ContentScope`) or a record written as a
    mapping, such as a receipt, that carries its own (`<field>_en`, `translated`)."""
    lang = lang or current_language.get()
    record = obj if isinstance(obj, Mapping) else None
    japanese = str((record.get(field) if record is not None else getattr(obj, field)) or "")
    if lang == SOURCE_LANGUAGE or not japanese:
        return japanese
    translated: str | None = None
    if record is not None:
        own = record.get(f"{field}_en") if lang == "en" else (record.get("translated") or {}).get(field)
        translated = str(own) if own else None
    else:
        scope = content_scope.get()
        key = content_key(obj, field)
        if scope is not None and key is not None:
            translated = scope.texts(lang).get(key)
    if translated:
        return LocalizedText(translated)
    text = LocalizedText(japanese)
    text.fallback = True
    return text


def N_(message: str) -> str:
    """Marks a msgid for the catalogues where it is not translated at once (e.g. the field
    messages of `app.errors.Invalid`, translated when shown)."""
    return message

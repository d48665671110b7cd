"""Message catalogues (Babel .po files) and the language of the current request.

Source strings are English; `locale/<lang>/*.po` hold translations, one file per
domain so that domains can be translated independently. They are read at start-up.
"""

from __future__ import annotations

from contextvars import ContextVar
from functools import lru_cache
from typing import Any

from babel.messages.pofile import read_po

from app.resources import LOCALE_DIR

LANGUAGES = ("ja", "en")
LANGUAGE_NAMES = {"ja": "日本語", "en": "English"}
DEFAULT_LANGUAGE = "ja"

current_language: ContextVar[str] = ContextVar("current_language", default=DEFAULT_LANGUAGE)


@lru_cache
def catalogue(lang: str) -> dict[str, str | tuple[str, ...]]:
    messages: dict[str, str | tuple[str, ...]] = {}
    for po_path in sorted((LOCALE_DIR / lang).glob("*.po")):
        with po_path.open("rb") as fh:
            for message in read_po(fh, locale=lang):
                if not message.id or not message.string or message.fuzzy:
                    continue
                key = str(message.id[0] if isinstance(message.id, (tuple, list)) else message.id)
                string = message.string
                messages[key] = tuple(string) if isinstance(string, (list, tuple)) else string
    return messages


def gettext(message: str, lang: str | None = None) -> str:
    translated = catalogue(lang or current_language.get()).get(message)
    if isinstance(translated, tuple):
        return translated[0] or message
    return translated or message


def ngettext(singular: str, plural: str, n: int, lang: str | None = None) -> str:
    translated = catalogue(lang or current_language.get()).get(singular)
    if isinstance(translated, tuple) and translated:
        # Japanese has a single plural form; English uses index 0/1.
        index = 0 if len(translated) == 1 or n == 1 else 1
        return translated[min(index, len(translated) - 1)]
    return singular if n == 1 else plural


_ = gettext


def negotiate(accept_language: str | None) -> str:
    """Pick ja or en from an Accept-Language header, honouring q-values."""
    if not accept_language:
        return DEFAULT_LANGUAGE
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
        primary = tag.split("-")[0]
        if primary in LANGUAGES and quality > 0:
            ranked.append((-quality, position, primary))
    return sorted(ranked)[0][2] if ranked else DEFAULT_LANGUAGE


def format_date(value: object, lang: str | None = None, with_time: bool = False) -> str:
    """Japanese-style dates in Japanese (2026年11月22日 13:05), ISO-like in English."""
    from datetime import date, datetime
    from zoneinfo import ZoneInfo

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
    if lang == "ja":
        text = f"{day.year}年{day.month}月{day.day}日"
    else:
        text = f"{day.day} {day.strftime('%b')} {day.year}"
    return f"{text} {clock}" if with_time and clock else text


def localized(obj: Any, field: str) -> str:
    """`obj.<field>_en` in English when it is filled in, else the Japanese `obj.<field>`."""
    if current_language.get() == "en":
        english = getattr(obj, f"{field}_en", "")
        if english:
            return str(english)
    return str(getattr(obj, field))


def N_(message: str) -> str:
    """Marks a msgid for the catalogues where it is not translated at once (e.g. the field
    messages of `app.errors.Invalid`, translated when shown)."""
    return message

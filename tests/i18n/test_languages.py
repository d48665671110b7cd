"""The languages offered come from the LANGUAGES setting, and every page lets one pick (ADR 0101).

The picker is a form in the header (no JavaScript needed), each language named in itself
with its `lang`; the staff console is offered in Japanese and English only.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, date, datetime

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError
from sqlalchemy.orm import Session

from app import i18n
from app.config import Settings
from app.db import Database
from app.i18n import format_date, gettext, negotiate, ngettext
from app.languages import DEFAULT_OFFERED
from app.main import create_app
from tests.helpers import csrf_token, sign_in_as
from tests.staff import factories as staff_factories

NAMES = {
    "ja": "日本語",
    "en": "English",
    "zh-Hans": "简体中文",
    "vi": "Tiếng Việt",
    "pt-BR": "Português (Brasil)",
    "fil": "Filipino",
    "ne": "नेपाली",
    "ja-x-easy": "やさしい にほんご",
}


@pytest.fixture(autouse=True)
def _offered_again() -> Iterator[None]:
    yield
    i18n.configure(DEFAULT_OFFERED, "ja")  # an app built here with another list leaves none behind


def _picker(html: str) -> dict[str, str]:
    """{tag: name} of the picker's entries (buttons and the current language)."""
    form = html.split('action="/language"', 1)[1].split("</form>", 1)[0]
    return dict(re.findall(r'lang="([^"]+)"(?: aria-current="true")?>([^<]+)<', form))


def test_the_default_list_and_its_names(settings: Settings) -> None:
    assert settings.offered_languages == ("ja", "en", "zh-Hans", "vi", "pt-BR", "fil", "ne", "ja-x-easy")


def test_a_list_from_the_setting_is_the_one_offered(settings: Settings, database: Database) -> None:
    chosen = settings.model_copy(update={"languages": "ja, vi,en"})
    with TestClient(create_app(chosen, database), base_url="http://127.0.0.1") as client:
        page = client.get("/", headers={"Accept-Language": "vi-VN,vi;q=0.9"})
        assert '<html lang="vi">' in page.text
        assert _picker(page.text) == {"ja": "日本語", "vi": "Tiếng Việt", "en": "English"}
        # A language that is not offered is not taken, whatever the browser asks.
        refused = client.get("/", headers={"Accept-Language": "pt-BR"})
        assert '<html lang="ja">' in refused.text


@pytest.mark.parametrize(
    ("value", "problem"),
    [("ja,en,xx", "unknown language xx"), ("en,vi", "must include ja")],
)
def test_a_list_the_app_cannot_serve_is_refused_at_start(
    settings: Settings, value: str, problem: str
) -> None:
    with pytest.raises(ValidationError, match=problem):
        Settings(**{**settings.model_dump(), "languages": value})
    with pytest.raises(ValidationError, match="not one of LANGUAGES"):
        Settings(**{**settings.model_dump(), "languages": "ja,en", "default_language": "vi"})


def test_every_page_offers_every_language_by_its_own_name(client: TestClient) -> None:
    page = client.get("/")
    assert _picker(page.text) == NAMES
    assert 'aria-current="true">日本語<' in page.text  # the current one is text, not a button


@pytest.mark.parametrize("tag", [t for t in NAMES if t != "ja"])
def test_switching_without_javascript_is_a_form_post(
    client: TestClient, settings: Settings, tag: str
) -> None:
    switched = client.post(
        "/language",
        data={"csrf_token": csrf_token(client, settings), "lang": tag, "next": "/no-such-page?from=letter"},
        follow_redirects=False,
    )
    assert switched.status_code == 303 and switched.headers["location"] == "/no-such-page?from=letter"
    page = client.get("/")
    assert f'<html lang="{tag}">' in page.text
    assert f'lang="{tag}" aria-current="true">{NAMES[tag]}<' in page.text
    heading = "Sign in" if tag == "en" else gettext("Sign in", tag)
    assert heading in page.text


def test_the_staff_console_is_offered_in_japanese_and_english(
    client: TestClient, db: Session, settings: Settings
) -> None:
    board = staff_factories.board(db)
    admin = staff_factories.staff(db, board, "board_admin")
    db.commit()
    sign_in_as(client, db, settings, admin)
    client.post(
        "/language",
        data={"csrf_token": csrf_token(client, settings), "lang": "vi", "next": "/"},
        follow_redirects=False,
    )
    console = client.get("/staff")
    assert console.status_code == 200
    assert '<html lang="en">' in console.text  # a Vietnamese reader gets the English console
    assert _picker(console.text) == {"ja": "日本語", "en": "English"}


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("vi-VN,vi;q=0.9,en;q=0.5", "vi"),
        ("zh-CN,zh;q=0.9", "zh-Hans"),
        ("pt;q=0.8,fr;q=0.9", "pt-BR"),
        ("tl", "fil"),
        ("ne-NP", "ne"),
        ("ja-x-easy", "ja-x-easy"),
        ("fr, de", "ja"),
        ("en;q=0, ja;q=0.1", "ja"),
    ],
)
def test_the_browser_language_picks_an_offered_one(header: str, expected: str) -> None:
    assert negotiate(header) == expected


def test_dates_are_written_in_each_language() -> None:
    day = date(2026, 11, 22)
    assert format_date(day, "ja") == "2026年11月22日"
    assert format_date(day, "ja-x-easy") == "2026年11月22日"
    assert format_date(day, "en") == "22 Nov 2026"
    assert format_date(day, "vi") == "22 tháng 11, 2026"
    assert format_date(day, "pt-BR") == "22 de novembro de 2026"
    assert (
        format_date(datetime(2026, 11, 22, 4, 5, tzinfo=UTC), "zh-Hans", with_time=True)
        == "2026年11月22日 13:05"
    )


def test_plural_forms_follow_each_catalogue() -> None:
    """The rule is the catalogue's own Plural-Forms header: pt-BR counts 0 and 1 as singular,
    Vietnamese has one form, English (no catalogue) two."""
    assert [i18n.plural_index(n, "pt-BR") for n in (0, 1, 2)] == [0, 0, 1]
    assert [i18n.plural_index(n, "fil") for n in (0, 1, 2)] == [1, 0, 1]
    assert [i18n.plural_index(n, "vi") for n in (0, 1, 2)] == [0, 0, 0]
    assert [i18n.plural_index(n, "en") for n in (0, 1, 2)] == [1, 0, 1]
    # A msgid no catalogue has reads in English, singular or plural by the count.
    assert ngettext("{n} child", "{n} children", 2, "vi") == "{n} children"

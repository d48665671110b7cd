"""A guardian who reads Vietnamese (ADR 0101): pages, the confirmation mail and the receipt.

The mother chooses Tiếng Việt on the language page. The board has translated the School
Dashboard choice into Vietnamese but not the service's name: the choice reads in
Vietnamese; the name is shown in Japanese, marked `lang="ja"`, with a note in Vietnamese.
Mail goes through the outbox and the dispatcher to the loopback SMTP server.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.config import Settings
from app.db import Database
from app.domain.choices.models import ChoiceEvent
from app.i18n import gettext
from tests.guardian.factories import World
from tests.helpers import SmtpSink, body_of, csrf_token, deliver_mail, links_in, sign_in_as, translate

VI_LABEL = "Hiển thị trên Bảng điều khiển của trường"
SERVICE = "スクールダッシュボード"  # not translated into Vietnamese
NOTE = gettext("Not yet translated — shown in Japanese", "vi")
MOTHER = "yoko.yamada@example.jp"


def _fallback(html: str, japanese: str) -> bool:
    """The Japanese text marked as Japanese, with the note in the reader's language beside it."""
    marked = f'<span lang="ja">{japanese}</span> <span class="untranslated">{NOTE}</span>'
    return marked in html


def test_vietnamese_pages_mail_and_receipt_with_japanese_where_not_translated(
    client: TestClient, db: Session, database: Database, settings: Settings, smtp: SmtpSink, world: World
) -> None:
    assert NOTE != "Not yet translated — shown in Japanese"  # the Vietnamese catalogue has it
    translate(db, world.dashboard_choice, "vi", label=VI_LABEL)
    db.commit()
    sign_in_as(client, db, settings, world.account)
    saved = client.post(
        "/account/language",
        data={"csrf_token": csrf_token(client, settings), "lang": "vi"},
        follow_redirects=False,
    )
    assert saved.status_code == 303

    page = client.get(f"/children/{world.hanako.id}")
    assert page.status_code == 200
    assert '<html lang="vi">' in page.text
    assert gettext("My children", "vi") in page.text and gettext("My children", "vi") != "My children"
    assert VI_LABEL in page.text  # translated by the board
    assert _fallback(page.text, SERVICE)  # not translated: Japanese, marked, with the note
    assert "Display on the School Dashboard" not in page.text  # never the English instead

    chosen = client.post(
        f"/children/{world.hanako.id}/choices/{world.dashboard_choice.id}",
        data={
            "csrf_token": csrf_token(client, settings),
            "notice_version": str(world.notice.id),
            "value": "hide_all",
        },
        follow_redirects=False,
    )
    assert chosen.status_code == 303
    assert deliver_mail(database, settings) == 1
    [mail] = smtp.to(MOTHER)
    assert str(mail["Subject"]) == gettext("Please confirm your choice for {name}", "vi").format(name="花子")
    assert VI_LABEL in body_of(mail)
    [link] = [link for link in links_in(mail) if "/confirm/" in link]

    # The link, opened in this browser: the page and what is confirmed read in Vietnamese.
    confirm_page = client.get(urlsplit(link).path)
    assert confirm_page.status_code == 200 and VI_LABEL in confirm_page.text
    done = client.post(urlsplit(link).path, data={"csrf_token": csrf_token(client, settings)})
    assert done.status_code == 200 and '<html lang="vi">' in done.text

    assert deliver_mail(database, settings) >= 1
    [receipt_mail] = [m for m in smtp.to(MOTHER) if m is not mail]
    expected = gettext("Receipt: your choice for {name} is in effect", "vi").format(name="花子")
    assert str(receipt_mail["Subject"]) == expected
    text = body_of(receipt_mail)
    assert VI_LABEL in text
    assert f"{SERVICE} ({NOTE})" in text  # plain text: the note in brackets

    db.expire_all()
    event = db.scalar(select(ChoiceEvent).where(ChoiceEvent.kind == "confirmed"))
    assert event is not None
    receipt = client.get(f"/children/{world.hanako.id}/receipts/{event.receipt_id}")
    assert receipt.status_code == 200 and '<html lang="vi">' in receipt.text
    assert gettext("About this receipt", "vi") in receipt.text
    assert VI_LABEL in receipt.text and _fallback(receipt.text, SERVICE)


def test_english_stays_what_the_board_wrote_and_japanese_reads_without_notes(
    client: TestClient, db: Session, settings: Settings, world: World
) -> None:
    sign_in_as(client, db, settings, world.account)
    japanese = client.get(f"/children/{world.hanako.id}").text
    assert '<html lang="ja">' in japanese and 'class="untranslated"' not in japanese
    client.post(
        "/language",
        data={"csrf_token": csrf_token(client, settings), "lang": "en", "next": "/"},
        follow_redirects=False,
    )
    english = client.get(f"/children/{world.hanako.id}").text
    assert "Display on the School Dashboard" in english and "School Dashboard" in english

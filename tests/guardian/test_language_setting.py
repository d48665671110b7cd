"""The guardian's language setting (ADR 0078): pages, e-mails and roster re-imports.

The journey starts from a real roster import and a real e-mail-link sign-in; the language is
only ever set through the page. Mail goes through the outbox and the real dispatcher to the
loopback SMTP server.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.config import Settings
from app.db import Database
from app.domain.accounts.linking import issue_enrolment_code
from app.domain.accounts.models import Account
from app.domain.audit.models import AuditEvent
from app.domain.boards.models import Board
from app.domain.people.models import Guardian, GuardianStudent, Student
from app.domain.roster.service import run_import
from tests.guardian.factories import (
    World,
    make_dashboard_choice,
    make_notice,
    make_service,
    make_staff_account,
)
from tests.helpers import SmtpSink, body_of, csrf_token, deliver_mail, links_in, shown_notice, sign_in_as
from tests.roster.rosters import GUARDIAN_ICHIRO, SAMPLE_ZIP, STUDENT_TARO, build_zip, set_field

ICHIRO = "yamada.ichiro@example.jp"


def _html_lang(response: httpx.Response) -> str:
    return response.text.split('<html lang="', 1)[1].split('"', 1)[0]


def _post(client: TestClient, settings: Settings, path: str, **data: object) -> httpx.Response:
    return client.post(
        path, data={"csrf_token": csrf_token(client, settings), **data}, follow_redirects=False
    )


def _sign_in_by_mail(client: TestClient, settings: Settings, database: Database, smtp: SmtpSink) -> str:
    """Ask for a link on the sign-in page, follow it from the mail; returns the mail's subject."""
    before = len(smtp.to(ICHIRO))
    assert _post(client, settings, "/signin/email", email=ICHIRO).status_code == 200
    assert deliver_mail(database, settings) == 1
    message = smtp.to(ICHIRO)[before]
    [url] = [link for link in links_in(message) if "/signin/email/" in link]
    answer = _post(client, settings, urlsplit(url).path)
    assert answer.status_code == 303 and answer.headers["location"] == "/children"
    return str(message["Subject"])


def _ichiro(db: Session) -> Guardian:
    db.expire_all()
    guardian = db.scalar(select(Guardian).where(Guardian.sourced_id == GUARDIAN_ICHIRO))
    assert guardian is not None
    return guardian


def test_a_rostered_guardian_chooses_english_and_keeps_it_across_sign_ins_and_imports(
    client: TestClient, db: Session, database: Database, settings: Settings, smtp: SmtpSink, tmp_path: Path
) -> None:
    assert run_import(database, SAMPLE_ZIP, board_code="tobira-city").status == "done"
    board = db.scalar(select(Board).where(Board.code == "tobira-city"))
    assert board is not None
    definition = make_dashboard_choice(db, make_service(db, board, code="dashboard"))
    make_notice(db, board)
    db.commit()
    taro = db.scalar(select(Student).where(Student.sourced_id == STUDENT_TARO))
    assert taro is not None and _ichiro(db).preferred_language == "ja"

    # A Japanese browser: the sign-in mail and the pages are in Japanese.
    client.headers["Accept-Language"] = "ja"
    assert "トビラ" in _sign_in_by_mail(client, settings, database, smtp)
    assert _html_lang(client.get("/children")) == "ja"
    page = client.get("/account/language")
    assert page.status_code == 200 and 'value="ja" checked' in page.text

    # The guardian chooses English; from the next page on everything is in English.
    saved = _post(client, settings, "/account/language", lang="en")
    assert saved.status_code == 303 and saved.headers["location"] == "/account/language?saved=1"
    confirmation = client.get(saved.headers["location"])
    assert _html_lang(confirmation) == "en" and "Saved." in confirmation.text
    children = client.get("/children")
    assert _html_lang(children) == "en" and "My children" in children.text
    account = db.scalar(select(Account).where(Account.issuer == "urn:tobira:email-link"))
    assert account is not None and account.preferred_language == "en"
    assert _ichiro(db).preferred_language == "en"
    [event] = db.scalars(select(AuditEvent).where(AuditEvent.action == "accounts.language_saved"))
    assert (event.board_id, event.target_id) == (board.id, str(account.id))
    assert event.details == {"language": "en", "previous": None, "guardians": 1}

    # The confirmation e-mail of a choice comes in English.
    chose = _post(
        client,
        settings,
        f"/children/{taro.id}/choices/{definition.id}",
        value="hide_all",
        notice_version=shown_notice(db, board.id),
    )
    assert chose.status_code == 303
    assert deliver_mail(database, settings) == 1
    mail = smtp.to(ICHIRO)[-1]
    assert str(mail["Subject"]) == "Please confirm your choice for 太郎"
    assert "Display on the School Dashboard" in body_of(mail)

    # Another browser that has never switched, still in Japanese: the sign-in mail is in
    # English, and so is every page after signing in.
    client.cookies.clear()
    assert _html_lang(client.get("/signin")) == "ja"
    assert _sign_in_by_mail(client, settings, database, smtp) == "Your sign-in link for Tobira"
    assert _html_lang(client.get("/children")) == "en"

    # Re-importing the roster (the guardian's row changes, then stays the same) keeps it.
    changed = build_zip(
        tmp_path / "renamed.zip", edit={"users.csv": set_field(GUARDIAN_ICHIRO, givenName="一朗")}
    )
    assert run_import(database, changed, board_code="tobira-city").status == "done"
    assert run_import(database, changed, board_code="tobira-city").status == "done"
    guardian = _ichiro(db)
    assert (guardian.given_name, guardian.preferred_language) == ("一朗", "en")
    client.cookies.clear()
    assert _sign_in_by_mail(client, settings, database, smtp) == "Your sign-in link for Tobira"
    assert _html_lang(client.get("/children")) == "en"


def test_the_switch_offers_to_remember_the_language(
    client: TestClient, db: Session, settings: Settings, world: World
) -> None:
    sign_in_as(client, db, settings, world.account)
    client.headers["Accept-Language"] = "ja"
    assert 'class="notice language-offer"' not in client.get("/children").text

    switched = _post(client, settings, "/language", lang="en", next=f"/children/{world.hanako.id}")
    assert switched.headers["location"] == f"/children/{world.hanako.id}"
    page = client.get(switched.headers["location"])
    assert _html_lang(page) == "en" and "Yes, remember English" in page.text
    # The mother's e-mails are still Japanese until she accepts the offer.
    db.expire_all()
    assert db.get_one(Guardian, world.mother.id).preferred_language == "ja"

    remembered = _post(client, settings, "/account/language", lang="en", next=f"/children/{world.hanako.id}")
    assert remembered.headers["location"] == f"/children/{world.hanako.id}"
    page = client.get(remembered.headers["location"])
    assert _html_lang(page) == "en" and "language-offer" not in page.text
    db.expire_all()
    assert db.get_one(Guardian, world.mother.id).preferred_language == "en"
    assert db.get_one(Account, world.account.id).preferred_language == "en"
    # Only the guardians this account acts for change.
    assert db.get_one(Guardian, world.other_guardian.id).preferred_language == "ja"


def test_a_guardian_linked_later_takes_the_saved_language(
    client: TestClient, db: Session, settings: Settings, world: World
) -> None:
    sign_in_as(client, db, settings, world.account)
    assert _post(client, settings, "/account/language", lang="en").status_code == 303
    pair = db.scalar(select(GuardianStudent).where(GuardianStudent.guardian_id == world.other_guardian.id))
    assert pair is not None
    code = issue_enrolment_code(db, pair)
    db.commit()
    assert _post(client, settings, "/link", code=code).status_code == 303
    db.expire_all()
    assert db.get_one(Guardian, world.other_guardian.id).preferred_language == "en"


def test_only_offered_languages_are_saved(
    client: TestClient, db: Session, settings: Settings, world: World
) -> None:
    sign_in_as(client, db, settings, world.account)
    refused = _post(client, settings, "/account/language", lang="fr")
    assert refused.status_code == 422
    assert 'href="#lang"' in refused.text and "表示されている言語から選んでください。" in refused.text
    db.expire_all()
    assert db.get_one(Account, world.account.id).preferred_language is None
    assert db.get_one(Guardian, world.mother.id).preferred_language == "ja"
    assert list(db.scalars(select(AuditEvent).where(AuditEvent.action == "accounts.language_saved"))) == []

    # Without the CSRF token nothing is saved either.
    forged = client.post("/account/language", data={"lang": "en"}, follow_redirects=False)
    assert forged.status_code == 403
    db.expire_all()
    assert db.get_one(Account, world.account.id).preferred_language is None


def test_the_setting_is_for_signed_in_guardians_only(
    client: TestClient, db: Session, settings: Settings, world: World
) -> None:
    anonymous = client.get("/account/language", follow_redirects=False)
    assert anonymous.status_code in (302, 303) and "/signin" in anonymous.headers["location"]
    sign_in_as(client, db, settings, make_staff_account(db))
    assert client.get("/account/language").status_code == 404
    assert _post(client, settings, "/account/language", lang="en").status_code == 404


@pytest.mark.parametrize("lang", ["zh-Hans", "ja-x-easy", "pt-BR", "fil"])
def test_every_offered_language_is_saved_and_used(
    client: TestClient, db: Session, settings: Settings, world: World, lang: str
) -> None:
    """The longer tags (zh-Hans, ja-x-easy) are stored whole, on PostgreSQL as on SQLite."""
    sign_in_as(client, db, settings, world.account)
    assert _post(client, settings, "/account/language", lang=lang).status_code == 303
    db.expire_all()
    assert db.get_one(Account, world.account.id).preferred_language == lang
    assert _html_lang(client.get("/children")) == lang

"""E-mail-link sign-in with the real outbox dispatcher and a real SMTP server on loopback."""

from __future__ import annotations

from urllib.parse import urlsplit

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.config import Settings
from app.db import Database
from app.domain.accounts.models import Account, AccountGuardian
from app.surfaces.sessions import SESSION_COOKIE
from tests.accounts import factories as f
from tests.accounts.helpers import audit, failure_reasons, problem_of
from tests.helpers import SmtpSink, body_of, csrf_token, deliver_mail, links_in


def _ask(client: TestClient, settings: Settings, address: str, lang: str = "ja"):  # type: ignore[no-untyped-def]
    return client.post(
        "/signin/email",
        data={"email": address, "csrf_token": csrf_token(client, settings)},
        headers={"Accept-Language": lang},
    )


def _link_from_mail(smtp: SmtpSink, address: str) -> str:
    [message] = smtp.to(address)
    [url] = [link for link in links_in(message) if "/signin/email/" in link]
    return urlsplit(url).path


def test_guardian_signs_in_by_e_mail_link(
    client: TestClient, db: Session, database: Database, settings: Settings, smtp: SmtpSink
) -> None:
    board = f.board(db)
    klass = f.school_class(db, f.school(db, board))
    guardian, _student, _pair = f.family(db, klass, email="mail.parent@example.jp")
    other_guardian, _s, _p = f.family(db, klass, email="someone@example.jp")
    db.commit()

    page = _ask(client, settings, "Mail.Parent@example.jp")
    assert page.status_code == 200
    assert deliver_mail(database, settings) == 1
    [message] = smtp.to("mail.parent@example.jp")
    assert "トビラ" in str(message["Subject"])
    assert "20" in body_of(message)
    path = _link_from_mail(smtp, "mail.parent@example.jp")

    # Opening the link only shows a button: mail scanners do not use it up.
    confirm = client.get(path)
    assert confirm.status_code == 200 and f'action="{path}"' in confirm.text
    answer = client.post(path, data={"csrf_token": csrf_token(client, settings)}, follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == "/children"
    assert SESSION_COOKIE in client.cookies

    account = db.scalar(select(Account).where(Account.issuer == "urn:tobira:email-link"))
    assert account is not None and account.subject == str(guardian.id) and account.kind == "guardian"
    links = list(db.scalars(select(AccountGuardian)))
    assert [(link.guardian_id, link.method) for link in links] == [(guardian.id, "email_link")]
    assert other_guardian.id not in [link.guardian_id for link in links]
    assert audit(db, "accounts.signed_in")[0].details["method"] == "email_link"

    # The link works once.
    client.cookies.clear()
    reused = client.post(
        path, data={"csrf_token": csrf_token(client, settings)}, headers={"Accept-Language": "en"}
    )
    assert reused.status_code == 400 and problem_of(reused.text) == "link_used"
    assert "already been used" in reused.text
    assert client.get(path).status_code == 400
    assert failure_reasons(db) == ["email_link_used"]


def test_same_answer_for_unknown_addresses(
    client: TestClient, db: Session, database: Database, settings: Settings, smtp: SmtpSink
) -> None:
    board = f.board(db)
    f.family(db, f.school_class(db, f.school(db, board)), email="known@example.jp")
    db.commit()
    known = _ask(client, settings, "known@example.jp")
    unknown = _ask(client, settings, "unknown@example.jp")
    assert known.status_code == unknown.status_code == 200

    def main_text(html: str) -> str:
        return html.split('<main id="main"', 1)[1].split("</main>", 1)[0]

    assert main_text(known.text) == main_text(unknown.text)
    assert deliver_mail(database, settings) == 1
    assert smtp.to("unknown@example.jp") == []


def test_sending_is_rate_limited_per_address(
    client: TestClient, db: Session, database: Database, settings: Settings, smtp: SmtpSink
) -> None:
    board = f.board(db)
    f.family(db, f.school_class(db, f.school(db, board)), email="busy@example.jp")
    db.commit()
    for _ in range(3):
        assert _ask(client, settings, "busy@example.jp").status_code == 200
    limited = _ask(client, settings, "BUSY@example.jp", lang="en")
    assert limited.status_code == 429 and problem_of(limited.text) == "rate_limited"
    assert deliver_mail(database, settings) == 3
    assert audit(db, "accounts.email_link_rate_limited")[0].details == {"limit": "address"}


def test_bad_address_gets_a_clear_message(client: TestClient, settings: Settings) -> None:
    answer = _ask(client, settings, "not-an-address", lang="en")
    assert answer.status_code == 400
    assert "Enter the e-mail address the school has on file." in answer.text


def test_forged_link_is_refused(client: TestClient, settings: Settings) -> None:
    answer = client.get("/signin/email/forged-token-value", headers={"Accept-Language": "en"})
    assert answer.status_code == 400 and problem_of(answer.text) == "link_invalid"
    posted = client.post("/signin/email/forged", data={"csrf_token": csrf_token(client, settings)})
    assert posted.status_code == 400 and SESSION_COOKIE not in client.cookies


def test_disabled_account_cannot_sign_in_by_e_mail_link(
    client: TestClient, db: Session, database: Database, settings: Settings, smtp: SmtpSink
) -> None:
    from app.db import utcnow

    board = f.board(db)
    klass = f.school_class(db, f.school(db, board))
    guardian, _student, _pair = f.family(db, klass, email="blocked.parent@example.jp")
    db.add(
        Account(
            issuer="urn:tobira:email-link", subject=str(guardian.id), kind="guardian", disabled_at=utcnow()
        )
    )
    db.commit()
    _ask(client, settings, "blocked.parent@example.jp")
    deliver_mail(database, settings)
    path = _link_from_mail(smtp, "blocked.parent@example.jp")
    answer = client.post(path, data={"csrf_token": csrf_token(client, settings)}, follow_redirects=False)
    assert answer.status_code != 303
    assert SESSION_COOKIE not in client.cookies
    assert failure_reasons(db) == ["account_disabled"]
    assert audit(db, "accounts.signed_in") == []

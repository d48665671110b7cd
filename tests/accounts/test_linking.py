"""Linking a guardian account: enrolment codes and verified e-mail from trusted providers."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.config import Settings
from app.db import utcnow
from app.domain.accounts.linking import issue_enrolment_code
from app.domain.accounts.models import AccountGuardian
from app.domain.boards.models import BoardProviderSetting
from app.domain.tokens import service as tokens
from app.domain.tokens.models import OneTimeToken
from tests.accounts import factories as f
from tests.accounts.helpers import audit, problem_of
from tests.helpers import csrf_token, sign_in_as
from tests.oidc import MockProvider, sign_in_through


@pytest.fixture
def family(db: Session):  # type: ignore[no-untyped-def]
    board = f.board(db)
    klass = f.school_class(db, f.school(db, board))
    guardian, student, pair = f.family(db, klass, email="Roster.Parent@example.jp")
    db.commit()
    return board, guardian, student, pair


def _submit(client: TestClient, settings: Settings, code: str, lang: str = "en"):  # type: ignore[no-untyped-def]
    return client.post(
        "/link",
        data={"code": code, "csrf_token": csrf_token(client, settings)},
        headers={"Accept-Language": lang},
        follow_redirects=False,
    )


def _links(db: Session) -> list[AccountGuardian]:
    db.expire_all()
    return list(db.scalars(select(AccountGuardian)))


def test_code_is_long_hashed_and_single_use(
    client: TestClient, db: Session, settings: Settings, family
) -> None:  # type: ignore[no-untyped-def]
    board, guardian, _student, pair = family
    code = issue_enrolment_code(db, pair)
    db.commit()
    assert len(code.replace("-", "")) == 16
    stored = db.scalar(select(OneTimeToken).where(OneTimeToken.purpose == "enrolment_code"))
    assert (
        stored is not None and code not in stored.token_hash and stored.token_hash == tokens.hash_secret(code)
    )

    sign_in_as(client, db, settings, f.guardian_account(db))
    # Full-width characters and spaces are accepted.
    fullwidth = code.replace("-", " ").translate(
        {ord(c): ord(c) + 0xFEE0 for c in "ABCDEFGHJKMNPQRSTUVWXYZ23456789"}
    )
    assert _submit(client, settings, fullwidth).status_code == 303
    assert [link.guardian_id for link in _links(db)] == [guardian.id]

    # A second account cannot reuse it.
    client.cookies.clear()
    sign_in_as(client, db, settings, f.guardian_account(db))
    again = _submit(client, settings, code)
    assert again.status_code == 400 and problem_of(again.text) == "code_used"
    assert "The code has already been used" in again.text
    assert len(_links(db)) == 1
    [failed] = audit(db, "accounts.link_failed")
    assert failed.details["reason"] == "used" and failed.board_id == board.id


def test_expired_code_says_so(client: TestClient, db: Session, settings: Settings, family) -> None:  # type: ignore[no-untyped-def]
    _board, _guardian, _student, pair = family
    code = issue_enrolment_code(db, pair, ttl=timedelta(days=1))
    token = db.scalar(select(OneTimeToken))
    assert token is not None
    token.expires_at = utcnow() - timedelta(minutes=1)
    db.commit()
    sign_in_as(client, db, settings, f.guardian_account(db))
    answer = _submit(client, settings, code, lang="ja")
    assert answer.status_code == 400 and problem_of(answer.text) == "code_expired"
    assert "有効期限" in answer.text
    assert _links(db) == []
    assert audit(db, "accounts.link_failed")[0].details["reason"] == "expired"


def test_new_letter_revokes_the_old_code(client: TestClient, db: Session, settings: Settings, family) -> None:  # type: ignore[no-untyped-def]
    _board, _guardian, _student, pair = family
    old = issue_enrolment_code(db, pair)
    new = issue_enrolment_code(db, pair)
    db.commit()
    sign_in_as(client, db, settings, f.guardian_account(db))
    answer = _submit(client, settings, old)
    assert problem_of(answer.text) == "code_revoked"
    assert _submit(client, settings, new).status_code == 303


def test_unknown_and_malformed_codes(client: TestClient, db: Session, settings: Settings, family) -> None:  # type: ignore[no-untyped-def]
    sign_in_as(client, db, settings, f.guardian_account(db))
    for bad in ("", "ABCD", "ZZZZ-ZZZZ-ZZZZ-ZZZZ", "<script>"):
        answer = _submit(client, settings, bad)
        assert answer.status_code == 400 and problem_of(answer.text) == "code_invalid"
    assert _links(db) == []
    reasons = [event.details["reason"] for event in audit(db, "accounts.link_failed")]
    assert reasons == ["malformed", "malformed", "unknown", "malformed"]


def test_code_attempts_are_rate_limited(client: TestClient, db: Session, settings: Settings, family) -> None:  # type: ignore[no-untyped-def]
    _board, _guardian, _student, pair = family
    code = issue_enrolment_code(db, pair)
    db.commit()
    sign_in_as(client, db, settings, f.guardian_account(db))
    for _ in range(10):
        assert _submit(client, settings, tokens.new_human_code()).status_code == 400
    # Even the right code is refused once the account is over its limit.
    answer = _submit(client, settings, code)
    assert answer.status_code == 429 and problem_of(answer.text) == "rate_limited"
    assert _links(db) == []
    assert audit(db, "accounts.link_failed")[-1].details == {"reason": "rate_limited", "limit": "account"}


def test_link_pages_need_a_guardian(client: TestClient, db: Session, settings: Settings) -> None:
    assert client.get("/link", follow_redirects=False).headers["location"] == "/signin?next=/link"
    board = f.board(db)
    sign_in_as(client, db, settings, f.staff_account(db, board, "board_admin"))
    assert client.get("/link").status_code == 404
    assert client.get("/link/ABCD-EFGH").status_code == 404


def _trust(db: Session, board_id: int, provider: str) -> None:
    db.add(BoardProviderSetting(board_id=board_id, provider_name=provider, trust_verified_email=True))
    db.commit()


def test_verified_email_links_only_through_a_trusted_provider(
    client: TestClient,
    idp: MockProvider,
    db: Session,
    family,  # type: ignore[no-untyped-def]
) -> None:
    board, guardian, _student, _pair = family
    _trust(db, board.id, "demo")
    idp.set_user("g-1", email="roster.parent@EXAMPLE.jp", email_verified=True)

    # "other" is not trusted by this board: no link, the guardian is asked for a code.
    answer = sign_in_through(client, idp, "other", "g-1")
    assert answer.headers["location"] == "/link?new=1"
    assert _links(db) == []

    client.cookies.clear()
    answer = sign_in_through(client, idp, "demo", "g-1")
    assert answer.headers["location"] == "/children"
    [link] = _links(db)
    assert (link.guardian_id, link.method) == (guardian.id, "verified_email")
    [event] = audit(db, "accounts.guardian_linked")
    assert event.board_id == board.id and event.details == {"method": "verified_email", "provider": "demo"}


def test_unverified_email_never_links(client: TestClient, idp: MockProvider, db: Session, family) -> None:  # type: ignore[no-untyped-def]
    board, _guardian, _student, _pair = family
    _trust(db, board.id, "demo")
    idp.set_user("g-2", email="roster.parent@example.jp", email_verified=False)
    assert sign_in_through(client, idp, "demo", "g-2").headers["location"] == "/link?new=1"
    idp.set_user("g-3", email="roster.parent@example.jp")  # no email_verified claim at all
    client.cookies.clear()
    assert sign_in_through(client, idp, "demo", "g-3").headers["location"] == "/link?new=1"
    assert _links(db) == []


def test_trust_is_per_board(client: TestClient, idp: MockProvider, db: Session, family) -> None:  # type: ignore[no-untyped-def]
    """Another board trusting the provider does not link this board's guardian."""
    _board, _guardian, _student, _pair = family
    other_board = f.board(db)
    _trust(db, other_board.id, "demo")
    idp.set_user("g-4", email="roster.parent@example.jp", email_verified=True)
    assert sign_in_through(client, idp, "demo", "g-4").headers["location"] == "/link?new=1"
    assert _links(db) == []


def test_prefilled_link_page_reveals_nothing_about_the_code(
    client: TestClient,
    db: Session,
    settings: Settings,
    family,  # type: ignore[no-untyped-def]
) -> None:
    """Another family's code in /link/<code> only fills the form: no names, no lookup."""
    _board, guardian, student, pair = family
    code = issue_enrolment_code(db, pair)
    db.commit()
    sign_in_as(client, db, settings, f.guardian_account(db))
    for candidate in (code, "ZZZZ-ZZZZ-ZZZZ-ZZZZ"):
        page = client.get(f"/link/{candidate}")
        assert page.status_code == 200
        assert guardian.family_name not in page.text and student.given_name not in page.text
    assert tokens.look_up(db, "enrolment_code", code).ok


def test_idle_session_ends(client: TestClient, db: Session, settings: Settings) -> None:
    from app.domain.accounts.models import UserSession

    sign_in_as(client, db, settings, f.guardian_account(db))
    assert client.get("/link", follow_redirects=False).status_code == 200
    row = db.scalar(select(UserSession))
    assert row is not None
    row.last_seen_at = utcnow() - timedelta(minutes=settings.session_idle_minutes + 1)
    db.commit()
    assert client.get("/link", follow_redirects=False).headers["location"] == "/signin?next=/link"

"""OIDC sign-in puts a guardian's saved language in force (ADR 0078); nothing is saved
implicitly, and staff sign-in leaves the language alone."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.config import Settings
from app.domain.accounts.models import Account, StaffRole
from app.surfaces.middleware import LANG_COOKIE
from tests.accounts import factories as f
from tests.helpers import csrf_token
from tests.oidc import MockProvider, sign_in_through


def _lang_cookie(answer_cookies: list[str]) -> str | None:
    found = [c for c in answer_cookies if c.startswith(f"{LANG_COOKIE}=")]
    return found[0].split(";")[0].split("=", 1)[1] if found else None


def test_oidc_sign_in_brings_back_the_saved_language(
    client: TestClient, idp: MockProvider, db: Session, settings: Settings
) -> None:
    idp.set_user("parent-lang", email="lang@example.jp", email_verified=True)
    client.headers["Accept-Language"] = "ja"
    first = sign_in_through(client, idp, "demo", "parent-lang")
    assert _lang_cookie(first.headers.get_list("set-cookie")) is None
    account = db.scalar(select(Account).where(Account.subject == "parent-lang"))
    assert account is not None and account.preferred_language is None

    saved = client.post(
        "/account/language",
        data={"lang": "en", "csrf_token": csrf_token(client, settings)},
        follow_redirects=False,
    )
    assert saved.status_code == 303

    client.cookies.clear()
    again = sign_in_through(client, idp, "demo", "parent-lang")
    assert _lang_cookie(again.headers.get_list("set-cookie")) == "en"
    assert '<html lang="en">' in client.get("/link").text


def test_staff_sign_in_sets_no_language(
    client: TestClient, idp: MockProvider, db: Session, settings: Settings
) -> None:
    board = f.board(db)
    db.add(StaffRole(board_id=board.id, invited_email="staff-lang@example.jp", role="board_admin"))
    db.commit()
    idp.set_user("staff-lang", email="staff-lang@example.jp", email_verified=True)
    answer = sign_in_through(client, idp, "staffidp", "staff-lang")
    assert answer.headers["location"] == "/staff"
    assert _lang_cookie(answer.headers.get_list("set-cookie")) is None
    account = db.scalar(select(Account).where(Account.subject == "staff-lang"))
    assert account is not None and account.preferred_language is None

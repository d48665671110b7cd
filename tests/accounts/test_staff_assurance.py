"""Staff sign-in strength, disabled accounts and group roles that are read again."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.config import Settings
from app.db import utcnow
from app.domain.accounts.models import Account, StaffRole, UserSession
from app.domain.audit.models import AuditEvent
from tests.helpers import csrf_token, sign_in_as
from tests.oidc import MockProvider, sign_in_through
from tests.staff import factories as f


def _invite(db: Session, email: str) -> None:
    board = f.board(db)
    db.add(StaffRole(board_id=board.id, invited_email=email, role="board_admin"))
    db.commit()


def test_a_provider_that_requires_mfa_refuses_a_password_only_sign_in(
    client: TestClient, idp: MockProvider, db: Session, settings: Settings
) -> None:
    strict = idp.config("mfaidp", audience="staff", client_id="mfa-client", display_name="Board ID (MFA)")
    settings.oidc_providers = [strict.model_copy(update={"required_amr": ["mfa", "otp", "hwk"]})]
    _invite(db, "clerk@city.example.jp")

    idp.set_user("c-1", email="clerk@city.example.jp", email_verified=True, amr=["pwd"])
    refused = sign_in_through(client, idp, "mfaidp", "c-1")
    assert refused.status_code == 403 and "より強い方法でのサインインが必要です" in refused.text
    assert client.get("/staff", follow_redirects=False).status_code == 303  # not signed in
    assert db.scalar(select(Account).where(Account.subject == "c-1")) is None  # nothing bound
    failure = db.scalar(select(AuditEvent).where(AuditEvent.action == "accounts.sign_in_failed"))
    assert failure is not None and failure.details.get("reason") == "weak_authentication"

    idp.set_user("c-1", email="clerk@city.example.jp", email_verified=True, amr=["pwd", "otp"])
    accepted = sign_in_through(client, idp, "mfaidp", "c-1")
    assert accepted.status_code == 303 and accepted.headers["location"] == "/staff"


def test_a_disabled_account_is_signed_out_on_its_next_request(
    client: TestClient, db: Session, settings: Settings
) -> None:
    board = f.board(db)
    admin = f.staff(db, board, "board_admin")
    clerk = f.staff(db, board, "school_admin", f.school(db, board))
    db.commit()
    clerks_browser = TestClient(client.app, base_url="http://127.0.0.1")
    sign_in_as(clerks_browser, db, settings, clerk)
    assert clerks_browser.get("/staff", follow_redirects=False).status_code == 200

    sign_in_as(client, db, settings, admin)
    roles_page = client.get(f"/staff/roles?board_id={board.id}").text
    assert f"/staff/accounts/{clerk.id}/disable" in roles_page
    assert f"/staff/accounts/{admin.id}/disable" not in roles_page  # not one's own
    done = client.post(
        f"/staff/accounts/{clerk.id}/disable",
        data={"csrf_token": csrf_token(client, settings), "board_id": str(board.id)},
        follow_redirects=False,
    )
    assert done.status_code == 303

    after = clerks_browser.get("/staff", follow_redirects=False)
    assert after.status_code == 303 and after.headers["location"].startswith("/signin")
    assert "アカウント無効" in client.get(f"/staff/roles?board_id={board.id}").text
    assert db.scalar(select(AuditEvent).where(AuditEvent.action == "accounts.disabled")) is not None
    # another board's administrator cannot reach the account
    other = f.staff(db, f.board(db, code="B9", name="別の市"), "board_admin")
    db.commit()
    sign_in_as(client, db, settings, other)
    outside = client.post(
        f"/staff/accounts/{admin.id}/disable",
        data={"csrf_token": csrf_token(client, settings), "board_id": str(board.id)},
    )
    assert outside.status_code == 404


def test_group_granted_roles_are_read_again_within_the_recheck_time(
    client: TestClient, db: Session, settings: Settings
) -> None:
    board = f.board(db)
    teacher = f.staff(db, board, "teacher", f.school(db, board))
    db.execute(update(StaffRole).where(StaffRole.account_id == teacher.id).values(source="group:staffidp"))
    db.commit()
    sign_in_as(client, db, settings, teacher)
    assert client.get("/staff", follow_redirects=False).status_code == 200

    stale = utcnow() - timedelta(minutes=settings.staff_group_recheck_minutes + 1)
    db.execute(update(UserSession).where(UserSession.account_id == teacher.id).values(created_at=stale))
    db.commit()
    again = client.get("/staff", follow_redirects=False)
    assert again.status_code == 303 and again.headers["location"].startswith("/signin")


def test_an_old_sign_in_must_authenticate_again_before_a_student_record_or_an_export(
    client: TestClient, idp: MockProvider, db: Session, settings: Settings
) -> None:
    from urllib.parse import parse_qs, urlsplit

    from tests.oidc import callback_path

    board = f.board(db)
    school = f.school(db, board)
    student = f.student(db, school)
    db.add(
        StaffRole(
            board_id=board.id, school_id=school.id, invited_email="head@city.example.jp", role="school_admin"
        )
    )
    db.commit()
    idp.set_user("h-1", email="head@city.example.jp", email_verified=True)
    assert sign_in_through(client, idp, "staffidp", "h-1").status_code == 303
    record_page = f"/staff/students/{student.id}"
    assert client.get(record_page, follow_redirects=False).status_code == 200  # a fresh sign-in

    old = utcnow() - timedelta(minutes=settings.staff_step_up_minutes + 1)
    db.execute(update(UserSession).values(created_at=old))
    db.commit()
    assert client.get("/staff", follow_redirects=False).status_code == 200  # the console still opens
    for page in (record_page, "/staff/exports"):
        asked = client.get(page, follow_redirects=False)
        assert asked.status_code == 303
        assert asked.headers["location"].startswith("/auth/login/staffidp?step_up=true")

    login = client.get(f"/auth/login/staffidp?step_up=true&next={record_page}", follow_redirects=False)
    authorize = login.headers["location"]
    query = parse_qs(urlsplit(authorize).query)
    assert query["prompt"] == ["login"] and query["max_age"] == ["0"]
    back = client.get(callback_path(idp.authorize(authorize, "h-1")), follow_redirects=False)
    assert back.status_code == 303 and back.headers["location"] == record_page
    assert client.get(record_page, follow_redirects=False).status_code == 200

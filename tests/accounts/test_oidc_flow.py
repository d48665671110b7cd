"""The OpenID Connect flow end to end against oidc-provider-mock on loopback."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.config import Settings
from app.db import Database
from app.domain.accounts.models import Account, AccountGuardian, UserSession
from app.main import create_app
from app.surfaces.sessions import SESSION_COOKIE
from tests.accounts import factories as f
from tests.accounts.helpers import audit, failure_reasons, problem_of
from tests.oidc import MockProvider, callback_path, mock_provider, sign_in_through, start_sign_in


def _with_param(url: str, name: str, value: str) -> str:
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    query[name] = [value]
    return urlunsplit(parts._replace(query=urlencode(query, doseq=True)))


def test_sign_in_page_lists_providers_by_audience(client: TestClient) -> None:
    page = client.get("/signin", headers={"Accept-Language": "en"})
    assert page.status_code == 200
    guardians, staff = page.text.split("School and board staff")
    assert "/auth/login/demo" in guardians and "/auth/login/other" in guardians
    assert "/auth/login/staffidp" in staff and "/auth/login/demo" not in staff
    assert 'action="/signin/email"' in guardians
    assert "サインイン" in client.get("/signin", headers={"Accept-Language": "ja"}).text


def test_authorization_request_uses_pkce_state_and_nonce(client: TestClient, idp: MockProvider) -> None:
    url = start_sign_in(client, "demo")
    query = parse_qs(urlsplit(url).query)
    assert url.startswith(f"{idp.issuer}/oauth2/authorize")
    assert query["code_challenge_method"] == ["S256"]
    assert len(query["code_challenge"][0]) >= 43
    assert len(query["state"][0]) >= 24 and len(query["nonce"][0]) >= 24
    assert query["redirect_uri"] == ["http://127.0.0.1/auth/callback/demo"]
    # The pending login travels in a signed cookie scoped to /auth/, not in server memory.
    assert "tobira_login" in client.cookies


def test_guardian_signs_in_and_is_asked_for_a_code(
    client: TestClient, idp: MockProvider, db: Session, settings: Settings
) -> None:
    idp.set_user("parent-1", email="p1@example.jp", email_verified=True, name="Parent One")
    answer = sign_in_through(client, idp, "demo", "parent-1")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/link?new=1"
    cookie = answer.headers.get_list("set-cookie")
    session_cookie = next(c for c in cookie if c.startswith(SESSION_COOKIE))
    assert "HttpOnly" in session_cookie and "samesite=lax" in session_cookie.lower()

    page = client.get("/link?new=1", headers={"Accept-Language": "en"})
    assert page.status_code == 200
    assert problem_of(page.text) == "not_linked"

    account = db.scalar(select(Account).where(Account.subject == "parent-1"))
    assert account is not None
    assert (account.issuer, account.kind, account.provider_name) == (idp.issuer, "guardian", "demo")
    row = db.scalar(select(UserSession).where(UserSession.account_id == account.id))
    assert row is not None and row.id_token_hint  # kept for RP-initiated logout
    [event] = audit(db, "accounts.signed_in")
    assert event.actor_id == account.id and event.details["method"] == "oidc"
    assert "p1@example.jp" not in str(event.details)


def test_full_journey_with_an_enrolment_code(
    client: TestClient, idp: MockProvider, db: Session, settings: Settings
) -> None:
    from app.domain.accounts.linking import issue_enrolment_code

    board = f.board(db)
    klass = f.school_class(db, f.school(db, board))
    guardian, student, pair = f.family(db, klass, email="roster@example.jp")
    code = issue_enrolment_code(db, pair)
    db.commit()

    idp.set_user("parent-2", email="someone-else@example.jp", email_verified=True)
    sign_in_through(client, idp, "demo", "parent-2")
    # The QR code leads to /link/<code>, which only fills in the form.
    prefilled = client.get(f"/link/{code.lower().replace('-', '')}")
    assert prefilled.status_code == 200 and f'value="{code}"' in prefilled.text
    answer = client.post(
        "/link", data={"code": code.lower(), "csrf_token": _csrf(client, settings)}, follow_redirects=False
    )
    assert answer.status_code == 303 and answer.headers["location"] == "/children"

    account = db.scalar(select(Account).where(Account.subject == "parent-2"))
    assert account is not None
    link = db.scalar(select(AccountGuardian).where(AccountGuardian.account_id == account.id))
    assert link is not None and (link.guardian_id, link.method) == (guardian.id, "enrolment_code")
    [event] = audit(db, "accounts.guardian_linked")
    assert event.board_id == board.id and event.details["student_id"] == student.id

    # Next sign-in goes straight to the children.
    client.cookies.clear()
    again = sign_in_through(client, idp, "demo", "parent-2")
    assert again.headers["location"] == "/children"


def test_next_is_kept_but_only_for_local_paths(client: TestClient, idp: MockProvider) -> None:
    idp.set_user("parent-3", email="p3@example.jp")
    assert sign_in_through(client, idp, "demo", "parent-3", next_url="/link").headers["location"] == "/link"
    client.cookies.clear()
    answer = sign_in_through(client, idp, "demo", "parent-3", next_url="https://evil.example/")
    assert answer.headers["location"] == "/link?new=1"


def test_forged_state_is_refused(client: TestClient, idp: MockProvider, db: Session) -> None:
    idp.set_user("parent-4", email="p4@example.jp")
    authorize_url = start_sign_in(client, "demo")
    location = idp.authorize(authorize_url, "parent-4")
    forged = _with_param(location, "state", "attacker-chosen-state")
    answer = client.get(callback_path(forged), headers={"Accept-Language": "en"})
    assert answer.status_code == 400
    assert problem_of(answer.text) == "state_mismatch"
    assert "This sign-in has expired or was not started here" in answer.text
    assert SESSION_COOKIE not in client.cookies
    assert failure_reasons(db) == ["state_mismatch"]
    assert db.scalar(select(Account)) is None


def test_callback_without_a_pending_login_is_refused(
    client: TestClient, idp: MockProvider, db: Session
) -> None:
    """A callback URL opened in another browser (login CSRF) has no pending-login cookie."""
    idp.set_user("parent-5", email="p5@example.jp")
    location = idp.authorize(start_sign_in(client, "demo"), "parent-5")
    other_browser = TestClient(client.app, base_url="http://127.0.0.1")
    answer = other_browser.get(callback_path(location), headers={"Accept-Language": "ja"})
    assert answer.status_code == 400 and problem_of(answer.text) == "state_mismatch"
    assert "サインイン" in answer.text
    assert failure_reasons(db) == ["state_mismatch"]


def test_replayed_authorization_code_is_refused(client: TestClient, idp: MockProvider, db: Session) -> None:
    idp.set_user("parent-6", email="p6@example.jp")
    location = idp.authorize(start_sign_in(client, "demo"), "parent-6")
    code = parse_qs(urlsplit(location).query)["code"][0]
    assert client.get(callback_path(location), follow_redirects=False).status_code == 303
    client.cookies.clear()

    # The attacker starts their own login and slips in the already used code.
    fresh = start_sign_in(client, "demo")
    state = parse_qs(urlsplit(fresh).query)["state"][0]
    answer = client.get(f"/auth/callback/demo?code={code}&state={state}", headers={"Accept-Language": "en"})
    assert answer.status_code == 400 and problem_of(answer.text) == "provider_error"
    assert SESSION_COOKIE not in client.cookies
    assert failure_reasons(db) == ["token_rejected"]


def test_wrong_nonce_is_refused(client: TestClient, idp: MockProvider, db: Session) -> None:
    idp.set_user("parent-7", email="p7@example.jp")
    authorize_url = _with_param(start_sign_in(client, "demo"), "nonce", "nonce-of-another-login")
    answer = client.get(callback_path(idp.authorize(authorize_url, "parent-7")))
    assert answer.status_code == 400 and problem_of(answer.text) == "provider_error"
    assert failure_reasons(db) == ["wrong_nonce"]
    assert db.scalar(select(UserSession)) is None


def test_wrong_issuer_is_refused(client: TestClient, idp: MockProvider, db: Session) -> None:
    idp.set_user("parent-8", email="p8@example.jp")
    idp.wrong_issuer = True
    answer = sign_in_through(client, idp, "demo", "parent-8")
    assert answer.status_code == 400 and problem_of(answer.text) == "provider_error"
    assert failure_reasons(db) == ["wrong_issuer"]
    assert db.scalar(select(Account)) is None


def test_token_for_another_client_is_refused(client: TestClient, idp: MockProvider, db: Session) -> None:
    """The audience check: a code issued to another client id cannot be used by ours."""
    idp.set_user("parent-9", email="p9@example.jp")
    url = _with_param(start_sign_in(client, "demo"), "client_id", "some-other-client")
    answer = client.get(callback_path(idp.authorize(url, "parent-9")))
    assert answer.status_code == 400 and problem_of(answer.text) == "provider_error"
    assert failure_reasons(db) == ["token_rejected"]


def test_denial_at_the_provider_has_its_own_page(client: TestClient, idp: MockProvider, db: Session) -> None:
    location = idp.authorize(start_sign_in(client, "demo"), None, deny=True)
    answer = client.get(callback_path(location), headers={"Accept-Language": "en"})
    assert answer.status_code == 400 and problem_of(answer.text) == "provider_denied"
    assert "Sign-in was cancelled" in answer.text
    ja = client.get(callback_path(location), headers={"Accept-Language": "ja"})
    assert problem_of(ja.text) == "state_mismatch"  # the pending login was used up
    assert failure_reasons(db)[0] == "access_denied"


def test_unknown_provider_is_404(client: TestClient) -> None:
    assert client.get("/auth/login/nope", follow_redirects=False).status_code == 404
    assert client.get("/auth/callback/nope?state=x&code=y").status_code == 404


def test_session_id_rotates_and_sign_out_uses_end_session(
    client: TestClient, idp: MockProvider, db: Session, settings: Settings
) -> None:
    idp.set_user("parent-10", email="p10@example.jp")
    sign_in_through(client, idp, "demo", "parent-10")
    first = client.cookies[SESSION_COOKIE]
    sign_in_through(client, idp, "demo", "parent-10")
    second = client.cookies[SESSION_COOKIE]
    assert first != second
    stale = TestClient(client.app, base_url="http://127.0.0.1", cookies={SESSION_COOKIE: first})
    assert stale.get("/link", follow_redirects=False).headers["location"].startswith("/signin")

    answer = client.post("/signout", data={"csrf_token": _csrf(client, settings)}, follow_redirects=False)
    assert answer.status_code == 303
    target = answer.headers["location"]
    assert target.startswith(f"{idp.issuer}/oauth2/end_session")
    query = parse_qs(urlsplit(target).query)
    assert query["post_logout_redirect_uri"] == ["http://127.0.0.1/"]
    assert query["id_token_hint"][0].count(".") == 2
    assert client.get("/link", follow_redirects=False).headers["location"].startswith("/signin")
    assert len(audit(db, "accounts.signed_out")) == 1


def test_staff_invitation_is_bound_at_first_sign_in(
    client: TestClient, idp: MockProvider, db: Session, settings: Settings
) -> None:
    from app.domain.accounts.models import StaffRole

    board = f.board(db)
    school = f.school(db, board)
    db.add(
        StaffRole(
            board_id=board.id, school_id=school.id, invited_email="teacher@city.example.jp", role="teacher"
        )
    )
    db.commit()
    idp.set_user("t-1", email="Teacher@City.example.jp", email_verified=True)
    answer = sign_in_through(client, idp, "staffidp", "t-1")
    assert answer.status_code == 303 and answer.headers["location"] == "/staff"
    db.expire_all()
    role = db.scalar(select(StaffRole))
    assert role is not None and role.account_id is not None
    assert len(audit(db, "accounts.staff_invitation_bound")) == 1
    assert audit(db, "accounts.signed_in")[0].board_id == board.id


def test_unverified_email_does_not_bind_an_invitation(
    client: TestClient, idp: MockProvider, db: Session
) -> None:
    from app.domain.accounts.models import StaffRole

    board = f.board(db)
    db.add(StaffRole(board_id=board.id, invited_email="admin@city.example.jp", role="board_admin"))
    db.commit()
    idp.set_user("t-2", email="admin@city.example.jp", email_verified=False)
    answer = sign_in_through(client, idp, "staffidp", "t-2")
    assert answer.status_code == 403 and problem_of(answer.text) == "unknown_account"
    assert SESSION_COOKIE not in client.cookies
    assert failure_reasons(db) == ["no_staff_role"]


def test_group_claim_grants_and_withdraws_a_role(client: TestClient, idp: MockProvider, db: Session) -> None:
    from app.domain.accounts.models import StaffGroupMapping, StaffRole

    board = f.board(db)
    school = f.school(db, board)
    db.add(
        StaffGroupMapping(
            board_id=board.id,
            provider_name="staffidp",
            group_value="sch-admins",
            role="school_admin",
            school_id=school.id,
        )
    )
    db.commit()
    idp.set_user("t-3", email="t3@city.example.jp", groups=["sch-admins", "other"])
    assert sign_in_through(client, idp, "staffidp", "t-3").headers["location"] == "/staff"
    db.expire_all()
    [role] = db.scalars(select(StaffRole)).all()
    assert (role.role, role.school_id, role.revoked_at) == ("school_admin", school.id, None)

    client.cookies.clear()
    idp.set_user("t-3", email="t3@city.example.jp", groups=["other"])
    answer = sign_in_through(client, idp, "staffidp", "t-3")
    assert answer.status_code == 403 and problem_of(answer.text) == "unknown_account"
    db.expire_all()
    assert db.scalar(select(StaffRole)).revoked_at is not None  # type: ignore[union-attr]
    assert len(audit(db, "accounts.staff_role_revoked")) == 1


def test_staff_subject_cannot_sign_in_as_guardian(client: TestClient, idp: MockProvider, db: Session) -> None:
    """Same issuer for both audiences: an account keeps the kind it was created with."""
    from app.domain.accounts.models import StaffRole

    board = f.board(db)
    db.add(StaffRole(board_id=board.id, invited_email="x@city.example.jp", role="auditor"))
    db.commit()
    idp.set_user("both", email="x@city.example.jp", email_verified=True)
    assert sign_in_through(client, idp, "staffidp", "both").status_code == 303
    client.cookies.clear()
    answer = sign_in_through(client, idp, "demo", "both")
    assert answer.status_code == 403 and problem_of(answer.text) == "wrong_kind"


def _csrf(client: TestClient, settings: Settings) -> str:
    from tests.helpers import csrf_token

    return csrf_token(client, settings)


def test_expired_id_token_is_refused(settings: Settings, database: Database, db: Session) -> None:
    with mock_provider(token_max_age=timedelta(minutes=-5)) as stale_idp:
        stale_settings = settings.model_copy(update={"oidc_providers": [stale_idp.config("stale")]})
        with TestClient(create_app(stale_settings, database), base_url="http://127.0.0.1") as browser:
            stale_idp.set_user("late", email="late@example.jp")
            answer = sign_in_through(browser, stale_idp, "stale", "late")
    assert answer.status_code == 400 and problem_of(answer.text) == "provider_error"
    assert failure_reasons(db) == ["id_token_expired"]
    assert db.scalar(select(UserSession)) is None


def test_unreachable_provider_has_its_own_page(settings: Settings, database: Database, db: Session) -> None:
    from tests.helpers import free_port

    down = MockProvider(free_port())  # nothing listens on this port
    down_settings = settings.model_copy(update={"oidc_providers": [down.config("down")]})
    with TestClient(create_app(down_settings, database), base_url="http://127.0.0.1") as browser:
        answer = browser.get("/auth/login/down", headers={"Accept-Language": "en"}, follow_redirects=False)
    assert answer.status_code == 503 and problem_of(answer.text) == "provider_unavailable"
    assert "The sign-in service cannot be reached" in answer.text
    assert failure_reasons(db) == ["discovery_failed"]

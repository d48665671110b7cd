"""Sign-in and sign-out (OIDC, e-mail link) and linking a guardian account by code."""

from __future__ import annotations

import hmac
from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from app.config import Settings
from app.domain.accounts import email_signin
from app.domain.accounts.linking import auto_link_verified_email, redeem_enrolment_code
from app.domain.accounts.models import Account
from app.domain.accounts.service import (
    account_board_ids,
    account_for,
    audit_failed_sign_in,
    audit_sign_in,
    sync_staff_roles,
    update_from_claims,
)
from app.domain.accounts.students import match_student
from app.domain.audit.service import Actor, record
from app.domain.tokens import service as tokens
from app.i18n import LANGUAGES, current_language
from app.surfaces.auth import oidc, pending
from app.surfaces.auth.problems import problem_page
from app.surfaces.dependencies import AppSettings, DbSession
from app.surfaces.middleware import remember_language
from app.surfaces.permissions import CurrentGuardian, OptionalPrincipal
from app.surfaces.sessions import end_session, load_session, start_session
from app.surfaces.web import redirect, render, safe_next

router = APIRouter()

LINK_LIMITS = {"ip": (20, 900), "account": (10, 900), "code": (5, 900)}


def _client_ip(request: Request) -> str:
    return request.client.host if request.client else "-"


def _redirect_uri(settings: Settings, provider_name: str) -> str:
    return f"{settings.base_url.rstrip('/')}/auth/callback/{provider_name}"


@router.get("/signin")
def signin_page(
    request: Request, settings: AppSettings, principal: OptionalPrincipal, next: str = ""
) -> Response:
    providers = settings.oidc_providers
    return render(
        request,
        "accounts/signin.html",
        {
            "guardian_providers": [p for p in providers if p.audience == "guardian"],
            "staff_providers": [p for p in providers if p.audience == "staff"],
            "student_providers": [p for p in providers if p.audience == "student"],
            "next": safe_next(next, ""),
        },
    )


@router.get("/auth/login/{provider_name}")
def login(
    request: Request,
    provider_name: str,
    db: DbSession,
    settings: AppSettings,
    next: str = "",
    step_up: bool = False,
) -> Response:
    provider = settings.provider(provider_name)
    if provider is None:
        raise HTTPException(status_code=404)
    login_state = pending.PendingLogin.new(provider.name, safe_next(next, ""), step_up=step_up)
    try:
        url = oidc.authorization_url(
            provider,
            _redirect_uri(settings, provider.name),
            state=login_state.state,
            nonce=login_state.nonce,
            code_verifier=login_state.code_verifier,
            language=current_language.get(),
            reauthenticate=step_up,
        )
    except oidc.OIDCError as exc:
        audit_failed_sign_in(db, exc.reason, provider=provider.name)
        return problem_page(request, "provider_unavailable")
    response = RedirectResponse(url, status_code=303)
    pending.save(response, settings, login_state)
    return response


@router.get("/auth/callback/{provider_name}")
def callback(
    request: Request,
    provider_name: str,
    db: DbSession,
    settings: AppSettings,
    state: str = "",
    code: str = "",
    error: str = "",
) -> Response:
    provider = settings.provider(provider_name)
    if provider is None:
        raise HTTPException(status_code=404)
    login_state = pending.load(request, settings)

    def fail(reason: str, kind: str) -> Response:
        audit_failed_sign_in(db, reason, provider=provider_name)
        response = problem_page(request, kind)
        pending.clear(response, settings)
        return response

    if login_state is None or login_state.provider != provider_name:
        return fail("state_mismatch", "state_mismatch")
    state_ok = hmac.compare_digest(state.encode(), login_state.state.encode())
    # Some providers leave out `state` on error redirects; an error signs no one in, so
    # it is shown (and the pending login dropped) as long as the state is not a wrong one.
    if error and (state_ok or not state):
        reason = "access_denied" if error == "access_denied" else "provider_error"
        return fail(reason, "provider_denied" if error == "access_denied" else "provider_error")
    if not state_ok:
        return fail("state_mismatch", "state_mismatch")
    if not code:
        return fail("no_code", "provider_error")
    redirect_uri = _redirect_uri(settings, provider_name)
    try:
        token = oidc.exchange_code(provider, redirect_uri, code=code, code_verifier=login_state.code_verifier)
        claims = oidc.validate_id_token(provider, token, nonce=login_state.nonce)
    except oidc.OIDCError as exc:
        return fail(exc.reason, "provider_error")

    if login_state.step_up_since and not _authenticated_since(claims, int(login_state.step_up_since)):
        return fail("reauthentication_missing", "reauthentication_missing")
    if not provider.strong_enough(claims):
        # Before any account is touched: a password alone does not open staff pages where
        # the board asked for a second factor (seed 003).
        return fail("weak_authentication", "weak_authentication")
    issuer = str(provider.issuer).rstrip("/")
    account = account_for(
        db, issuer=issuer, subject=str(claims["sub"]), kind=provider.audience, provider_name=provider.name
    )
    if account.kind != provider.audience:
        audit_failed_sign_in(db, "wrong_kind", provider=provider_name, account=account)
        return problem_page(request, "wrong_kind")
    if account.disabled_at is not None:
        audit_failed_sign_in(db, "account_disabled", provider=provider_name, account=account)
        return problem_page(request, "unknown_account")
    update_from_claims(account, claims)
    account.provider_name = provider.name

    if account.kind == "staff":
        sync_staff_roles(db, account, provider, claims)
        if not account_board_ids(db, account):
            audit_failed_sign_in(db, "no_staff_role", provider=provider_name, account=account)
            refused = problem_page(request, "unknown_account")
            pending.clear(refused, settings)
            return refused
        default_next = "/staff"
    elif account.kind == "student":
        roster_id = claims.get(provider.student_claim)
        if match_student(db, account, board_code=provider.board, roster_id=roster_id) is None:
            # Nothing of any board is shown to a student account the roster does not name.
            audit_failed_sign_in(db, "not_on_roster", provider=provider_name, account=account)
            refused = problem_page(request, "student_not_on_roster")
            pending.clear(refused, settings)
            return refused
        default_next = "/student"
    else:
        auto_link_verified_email(db, account, provider.name, claims)
        default_next = "/children" if account_board_ids(db, account) else "/link?new=1"

    response = RedirectResponse(safe_next(login_state.next, default_next), status_code=303)
    start_session(
        db,
        response,
        settings,
        account,
        id_token_hint=str(token.get("id_token") or "") or None,
        previous=load_session(db, request, settings),
    )
    pending.clear(response, settings)
    _saved_language_in_force(response, settings, account)
    audit_sign_in(db, account, "oidc")
    return response


@router.post("/signout")
def signout(request: Request, db: DbSession, settings: AppSettings, principal: OptionalPrincipal) -> Response:
    target = "/"
    session_row = None
    if principal is not None:
        session_row = principal.session
        account = principal.account
        provider = settings.provider(account.provider_name)
        if provider is not None and account.issuer == str(provider.issuer).rstrip("/"):
            target = (
                oidc.end_session_url(
                    provider,
                    id_token_hint=session_row.id_token_hint,
                    post_logout_redirect_uri=f"{settings.base_url.rstrip('/')}/",
                )
                or "/"
            )
        boards: list[int | None] = [*sorted(account_board_ids(db, account))] or [None]
        for board_id in boards:
            record(
                db,
                "accounts.signed_out",
                actor=Actor.account(account.id),
                board_id=board_id,
                target_type="account",
                target_id=account.id,
            )
    response = redirect(request, target)
    end_session(db, response, settings, session_row)
    return response


# --- e-mail link -------------------------------------------------------------------


@router.post("/signin/email")
def email_link_request(
    request: Request, db: DbSession, settings: AppSettings, email: Annotated[str, Form(max_length=320)] = ""
) -> Response:
    if not email.strip() or "@" not in email:
        providers = settings.oidc_providers
        return render(
            request,
            "accounts/signin.html",
            {
                "guardian_providers": [p for p in providers if p.audience == "guardian"],
                "staff_providers": [p for p in providers if p.audience == "staff"],
                "next": "",
                "email_error": True,
            },
            status_code=400,
        )
    if not email_signin.request_link(db, settings, address=email, client_ip=_client_ip(request)):
        return problem_page(request, "rate_limited")
    return render(request, "accounts/email_sent.html")


@router.get("/signin/email/{secret}")
def email_link_confirm(request: Request, secret: str, db: DbSession) -> Response:
    """Shows a button: mail scanners that fetch links must not use up the link."""
    found = email_signin.check_link(db, secret)
    if not found.ok:
        return _link_problem(request, found.problem.value if found.problem else "unknown")
    return render(request, "accounts/email_confirm.html", {"secret": secret})


@router.post("/signin/email/{secret}")
def email_link_use(request: Request, secret: str, db: DbSession, settings: AppSettings) -> Response:
    result = email_signin.redeem_link(db, secret)
    if result.account is None:
        audit_failed_sign_in(db, f"email_link_{result.reason}", provider="email", board_id=result.board_id)
        return _link_problem(request, result.reason)
    if result.account.disabled_at is not None:
        audit_failed_sign_in(db, "account_disabled", provider="email", account=result.account)
        return problem_page(request, "unknown_account")
    response = RedirectResponse("/children", status_code=303)
    start_session(db, response, settings, result.account, previous=load_session(db, request, settings))
    _saved_language_in_force(response, settings, result.account)
    audit_sign_in(db, result.account, "email_link")
    return response


def _saved_language_in_force(response: Response, settings: Settings, account: Account) -> None:
    """A guardian who saved a language gets it from the first page after sign-in (ADR 0078)."""
    saved = account.preferred_language
    if account.kind == "guardian" and saved is not None and saved in LANGUAGES:
        remember_language(response, settings, saved)


def _authenticated_since(claims: dict[str, Any], asked_at: int) -> bool:
    """Did the provider authenticate the person when asked (`auth_time`, a minute's skew)?"""
    auth_time = claims.get("auth_time")
    return isinstance(auth_time, int | float) and auth_time >= asked_at - 60


def _link_problem(request: Request, reason: str) -> Response:
    kind = {"expired": "link_expired", "used": "link_used", "revoked": "link_used"}.get(
        reason, "link_invalid"
    )
    return problem_page(request, kind)


# --- enrolment codes ---------------------------------------------------------------


@router.get("/link")
def link_page(request: Request, principal: CurrentGuardian, new: str = "") -> Response:
    return render(
        request, "accounts/link.html", {"code": "", "not_linked": bool(new) or not principal.guardian_ids}
    )


@router.get("/link/{code}")
def link_prefilled(request: Request, code: str, principal: CurrentGuardian) -> Response:
    """The QR code's target: fills in the form; redeeming needs the POST."""
    return render(
        request,
        "accounts/link.html",
        {"code": tokens.normalize_code(code)[:24], "not_linked": not principal.guardian_ids},
    )


@router.post("/link")
def link_submit(
    request: Request,
    db: DbSession,
    principal: CurrentGuardian,
    code: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    account = principal.account
    normalized = tokens.normalize_code(code)
    keys = {
        "ip": tokens.rate_key("link-ip", _client_ip(request)),
        "account": tokens.rate_key("link-account", str(account.id)),
        "code": tokens.rate_key("link-code", normalized),
    }
    over = [
        name
        for name, key in keys.items()
        if tokens.rate_limited(
            db, key, limit=LINK_LIMITS[name][0], window=timedelta(seconds=LINK_LIMITS[name][1])
        )
    ]
    if over:
        _audit_link_failure(db, account.id, "rate_limited", None, {"limit": over[0]})
        return problem_page(request, "rate_limited")
    result = redeem_enrolment_code(db, account, code)
    if not result.ok:
        _audit_link_failure(db, account.id, result.reason, result.board_id)
        kind = {
            "expired": "code_expired",
            "used": "code_used",
            "revoked": "code_revoked",
        }.get(result.reason, "code_invalid")
        return problem_page(request, kind)
    return redirect(request, "/children")


def _audit_link_failure(
    db: DbSession, account_id: int, reason: str, board_id: int | None, extra: dict[str, str] | None = None
) -> None:
    record(
        db,
        "accounts.link_failed",
        actor=Actor.account(account_id),
        board_id=board_id,
        target_type="account",
        target_id=account_id,
        outcome="failure",
        details={"reason": reason, **(extra or {})},
    )

"""The login in progress, kept in a short-lived signed cookie (not in server memory).

It carries state, nonce, PKCE code verifier, provider and where to go afterwards, so any
app process can finish a sign-in that another one started.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import asdict, dataclass

from fastapi import Request, Response
from itsdangerous import BadSignature, URLSafeTimedSerializer

from app.config import Settings

PENDING_COOKIE = "tobira_login"
PENDING_MAX_AGE = 600  # seconds a user has at the provider


@dataclass(frozen=True)
class PendingLogin:
    provider: str
    state: str
    nonce: str
    code_verifier: str
    next: str
    # A step-up: the provider was asked to authenticate again; the epoch second it was asked
    # (its `auth_time` must not be older). Empty for an ordinary sign-in.
    step_up_since: str = ""

    @classmethod
    def new(cls, provider: str, next_url: str, *, step_up: bool = False) -> PendingLogin:
        return cls(
            provider=provider,
            state=secrets.token_urlsafe(24),
            nonce=secrets.token_urlsafe(24),
            code_verifier=secrets.token_urlsafe(48),
            next=next_url,
            step_up_since=str(int(time.time())) if step_up else "",
        )


def _serializer(settings: Settings) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(settings.secret_key, salt="tobira.pending-login")


def save(response: Response, settings: Settings, pending: PendingLogin) -> None:
    response.set_cookie(
        PENDING_COOKIE,
        _serializer(settings).dumps(asdict(pending)),
        max_age=PENDING_MAX_AGE,
        httponly=True,
        secure=settings.cookies_secure,
        samesite="lax",
        path="/auth/",
    )


def load(request: Request, settings: Settings) -> PendingLogin | None:
    raw = request.cookies.get(PENDING_COOKIE)
    if not raw:
        return None
    try:
        data = _serializer(settings).loads(raw, max_age=PENDING_MAX_AGE)
    except BadSignature:
        return None
    try:
        return PendingLogin(**{key: str(data[key]) for key in PendingLogin.__dataclass_fields__})
    except (KeyError, TypeError):
        return None


def clear(response: Response, settings: Settings) -> None:
    response.delete_cookie(
        PENDING_COOKIE, path="/auth/", secure=settings.cookies_secure, httponly=True, samesite="lax"
    )

"""Signed-cookie sessions backed by a `user_sessions` row.

The cookie holds a random id signed with SECRET_KEY; the database holds its SHA-256, so
sign-out and timeouts hold on every app process. A new id is issued at every sign-in.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from fastapi import Request, Response
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from app.config import Settings
from app.db import utcnow
from app.domain.accounts.models import Account, AccountGuardian, UserSession

SESSION_COOKIE = "tobira_session"


def _serializer(settings: Settings) -> URLSafeSerializer:
    return URLSafeSerializer(settings.secret_key, salt="tobira.session")


def _hash(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


def start_session(
    db: Session,
    response: Response,
    settings: Settings,
    account: Account,
    *,
    id_token_hint: str | None = None,
    previous: UserSession | None = None,
) -> UserSession:
    """Create a fresh session (ending `previous`) and set its cookie on `response`."""
    now = utcnow()
    if previous is not None and previous.ended_at is None:
        previous.ended_at = now
    session_id = secrets.token_urlsafe(32)
    row = UserSession(
        token_hash=_hash(session_id),
        account_id=account.id,
        created_at=now,
        last_seen_at=now,
        expires_at=now + timedelta(hours=settings.session_absolute_hours),
        id_token_hint=id_token_hint,
    )
    db.add(row)
    account.last_sign_in_at = now
    db.flush()
    response.set_cookie(
        SESSION_COOKIE,
        _serializer(settings).dumps(session_id),
        httponly=True,
        secure=settings.cookies_secure,
        samesite="lax",
        path="/",
    )
    return row


def load_session(db: Session, request: Request, settings: Settings) -> UserSession | None:
    """The live session of this request, or None. Touches `last_seen_at` (idle timeout)."""
    found = load_session_and_guardians(db, request, settings)
    return found[0] if found is not None else None


def load_session_and_guardians(
    db: Session, request: Request, settings: Settings
) -> tuple[UserSession, list[int]] | None:
    """The live session and the roster guardians its account acts for, in one statement."""
    raw = request.cookies.get(SESSION_COOKIE)
    if not raw:
        return None
    try:
        session_id = _serializer(settings).loads(raw)
    except BadSignature:
        return None
    if not isinstance(session_id, str):
        return None
    rows = db.execute(
        select(UserSession, AccountGuardian.guardian_id)
        .options(joinedload(UserSession.account))
        .outerjoin(AccountGuardian, AccountGuardian.account_id == UserSession.account_id)
        .where(UserSession.token_hash == _hash(session_id))
        .order_by(AccountGuardian.guardian_id)
    ).all()
    row = rows[0][0] if rows else None
    now = utcnow()
    if row is None or row.ended_at is not None or row.expires_at <= now:
        return None
    if row.last_seen_at + timedelta(minutes=settings.session_idle_minutes) <= now:
        row.ended_at = now
        return None
    if row.account.disabled_at is not None:
        return None
    # Write at most once a minute so that reads stay cheap.
    if now - row.last_seen_at > timedelta(minutes=1):
        row.last_seen_at = now
    return row, [guardian_id for _row, guardian_id in rows if guardian_id is not None]


def end_session(db: Session, response: Response, settings: Settings, row: UserSession | None) -> None:
    if row is not None and row.ended_at is None:
        row.ended_at = utcnow()
        db.flush()
    response.delete_cookie(
        SESSION_COOKIE, path="/", secure=settings.cookies_secure, httponly=True, samesite="lax"
    )

"""Board-scoped API keys: created by a board admin, shown once, stored as SHA-256."""

from __future__ import annotations

import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db import utcnow
from app.domain.apikeys.models import ApiKey
from app.domain.audit.service import Actor, record
from app.domain.tokens.service import hash_secret

KEY_PREFIX = "tbr_"


def create_key(db: Session, *, board_id: int, name: str, actor: Actor) -> tuple[str, ApiKey]:
    """Return (secret, row). The secret is shown to the admin once and never stored."""
    secret = KEY_PREFIX + secrets.token_urlsafe(32)
    key = ApiKey(
        board_id=board_id,
        name=name,
        prefix=secret[:12],
        key_hash=hash_secret(secret),
        created_by_account_id=actor.id if actor.type == "account" else None,
    )
    db.add(key)
    db.flush()
    record(db, "api_key.created", actor=actor, board_id=board_id, target_type="api_key", target_id=key.id)
    return secret, key


def revoke_key(db: Session, key: ApiKey, *, actor: Actor) -> None:
    if key.revoked_at is None:
        key.revoked_at = utcnow()
        db.flush()
        record(
            db, "api_key.revoked", actor=actor, board_id=key.board_id, target_type="api_key", target_id=key.id
        )


def find_key(db: Session, secret: str) -> ApiKey | None:
    """The key with this secret, revoked or not (None when unknown)."""
    if not secret.startswith(KEY_PREFIX):
        return None
    return db.scalar(select(ApiKey).where(ApiKey.key_hash == hash_secret(secret)))


def board_keys(db: Session, board_id: int) -> list[ApiKey]:
    return list(
        db.scalars(select(ApiKey).where(ApiKey.board_id == board_id).order_by(ApiKey.created_at.desc()))
    )

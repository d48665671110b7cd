"""Issue and redeem single-use secrets; fixed-window rate limits shared across processes."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from app.db import keep_after_rollback, utcnow
from app.domain.tokens.models import OneTimeToken, RateLimitBucket

# Crockford-style alphabet without look-alikes (0/O, 1/I/L) for codes people type.
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def new_link_secret() -> str:
    return secrets.token_urlsafe(32)


def new_human_code(groups: int = 4, group_size: int = 4) -> str:
    """E.g. `7KQ2-M9XD-4RTA-HP3C`: 16 symbols of 31 ≈ 79 bits, not guessable."""
    symbols = "".join(secrets.choice(CODE_ALPHABET) for _ in range(groups * group_size))
    return "-".join(symbols[i : i + group_size] for i in range(0, len(symbols), group_size))


def normalize_code(code: str) -> str:
    """Accept lower case, spaces, full-width characters and missing dashes."""
    import unicodedata

    text = unicodedata.normalize("NFKC", code).upper()
    cleaned = "".join(ch for ch in text if ch in CODE_ALPHABET)
    return "-".join(cleaned[i : i + 4] for i in range(0, len(cleaned), 4))


def issue(
    db: Session, purpose: str, ttl: timedelta, *, secret: str | None = None, **refs: Any
) -> tuple[str, OneTimeToken]:
    """Store the hash of a new secret and return (secret, row). Send the secret, keep nothing."""
    secret = secret or new_link_secret()
    token = OneTimeToken(purpose=purpose, token_hash=hash_secret(secret), expires_at=utcnow() + ttl, **refs)
    db.add(token)
    db.flush()
    return secret, token


class TokenProblem(Enum):
    UNKNOWN = "unknown"
    EXPIRED = "expired"
    USED = "used"
    REVOKED = "revoked"


@dataclass
class Redemption:
    token: OneTimeToken | None
    problem: TokenProblem | None

    @property
    def ok(self) -> bool:
        return self.problem is None


def look_up(db: Session, purpose: str, secret: str) -> Redemption:
    token = db.scalar(
        select(OneTimeToken).where(
            OneTimeToken.purpose == purpose, OneTimeToken.token_hash == hash_secret(secret)
        )
    )
    return judge(token)


def judge(token: OneTimeToken | None) -> Redemption:
    """Whether a token found (by the caller's own query) can still be used."""
    if token is None:
        return Redemption(None, TokenProblem.UNKNOWN)
    if token.revoked_at is not None:
        return Redemption(token, TokenProblem.REVOKED)
    if token.used_at is not None:
        return Redemption(token, TokenProblem.USED)
    if token.expires_at <= utcnow():
        return Redemption(token, TokenProblem.EXPIRED)
    return Redemption(token, None)


def mark_used(db: Session, token: OneTimeToken) -> bool:
    """Mark a token used; False when another request used it first (one conditional UPDATE)."""
    now = utcnow()
    result = db.execute(
        update(OneTimeToken)
        .where(OneTimeToken.id == token.id, OneTimeToken.used_at.is_(None))
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    if getattr(result, "rowcount", 0) != 1:
        return False
    set_committed_value(token, "used_at", now)  # written already: nothing left to flush
    return True


def redeem(db: Session, purpose: str, secret: str) -> Redemption:
    """Mark a valid token used. The conditional UPDATE makes a concurrent second use fail."""
    found = look_up(db, purpose, secret)
    if not found.ok or found.token is None:
        return found
    if not mark_used(db, found.token):
        return Redemption(found.token, TokenProblem.USED)
    return found


def revoke(db: Session, token: OneTimeToken) -> None:
    if token.revoked_at is None and token.used_at is None:
        token.revoked_at = utcnow()
        db.flush()


def rate_limited(db: Session, key: str, *, limit: int, window: timedelta) -> bool:
    """Count one hit for `key` (hash raw identifiers first); True when over the limit.

    The count is a kept write (`keep_after_rollback`): it stands even when the caller goes on
    to refuse the request, so a refusal can simply raise `RateLimited`.
    """
    counted: list[int] = []

    def count_hit(session: Session) -> None:
        counted.append(_count_hit(session, key, window))

    keep_after_rollback(db, count_hit)
    return counted[0] > limit


def _count_hit(db: Session, key: str, window: timedelta) -> int:
    """One upsert, so two requests at the same moment both count instead of one failing on
    the unique (key, window) constraint."""
    now = utcnow()
    seconds = int(window.total_seconds())
    window_start = datetime.fromtimestamp(int(now.timestamp()) // seconds * seconds, tz=now.tzinfo)
    dialect = db.get_bind().dialect.name
    insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    statement = (
        insert(RateLimitBucket)
        .values(key=key, window_start=window_start, count=1)
        .on_conflict_do_update(
            index_elements=["key", "window_start"], set_={"count": RateLimitBucket.count + 1}
        )
        .returning(RateLimitBucket.count)
    )
    count: int = db.execute(statement).scalar_one()
    return count


def rate_key(*parts: str) -> str:
    """A bucket key that never stores the raw address or IP."""
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:64]

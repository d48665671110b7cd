"""Sign-in by a single-use link sent to the address the school has on file.

The request answers the same whether or not the address is known; sending is
rate-limited per IP and per address. The account it signs in to is
(`urn:tobira:email-link`, <guardian id>) and acts for that one guardian only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.config import Settings
from app.domain.accounts.linking import guardians_with_email, link
from app.domain.accounts.models import Account
from app.domain.accounts.service import EMAIL_LINK_ISSUER, account_for
from app.domain.audit.service import ANONYMOUS, Actor, record
from app.domain.notifications.service import queue_email
from app.domain.people.language import language_of
from app.domain.people.models import Guardian
from app.domain.tokens import service as tokens

PURPOSE = "email_signin"
LINK_TTL = timedelta(minutes=20)
PER_ADDRESS = (3, timedelta(minutes=15))
PER_IP = (10, timedelta(hours=1))


def request_link(db: Session, settings: Settings, *, address: str, client_ip: str) -> bool:
    """Queue a link to each guardian with this address. False only when rate-limited."""
    normalized = address.strip().lower()
    over_ip = tokens.rate_limited(
        db, tokens.rate_key("email-signin-ip", client_ip), limit=PER_IP[0], window=PER_IP[1]
    )
    over_address = tokens.rate_limited(
        db, tokens.rate_key("email-signin-address", normalized), limit=PER_ADDRESS[0], window=PER_ADDRESS[1]
    )
    if over_ip or over_address:
        record(
            db,
            "accounts.email_link_rate_limited",
            actor=ANONYMOUS,
            board_id=None,
            outcome="failure",
            details={"limit": "ip" if over_ip else "address"},
        )
        return False
    guardians = guardians_with_email(db, normalized) if "@" in normalized else []
    for guardian in guardians:
        secret, token = tokens.issue(
            db, PURPOSE, LINK_TTL, board_id=guardian.board_id, guardian_id=guardian.id
        )
        queue_email(
            db,
            to=guardian.email or normalized,
            template="email/accounts_email_signin.txt",
            context={
                "url": f"{settings.base_url}/signin/email/{secret}",
                "minutes": int(LINK_TTL.total_seconds() // 60),
            },
            purpose=PURPOSE,
            language=language_of(guardian),
            board_id=guardian.board_id,
        )
        record(
            db,
            "accounts.email_link_sent",
            actor=ANONYMOUS,
            board_id=guardian.board_id,
            target_type="guardian",
            target_id=guardian.id,
            details={"token_id": token.id},
        )
    if not guardians:
        record(db, "accounts.email_link_requested", actor=ANONYMOUS, board_id=None, details={"matched": 0})
    return True


@dataclass
class LinkResult:
    account: Account | None
    reason: str = ""
    board_id: int | None = None


def check_link(db: Session, secret: str) -> tokens.Redemption:
    return tokens.look_up(db, PURPOSE, secret)


def redeem_link(db: Session, secret: str) -> LinkResult:
    """Use the link: the e-mail-link account of that guardian, linked to them only."""
    found = tokens.redeem(db, PURPOSE, secret)
    token = found.token
    if token is None or found.problem is not None:
        reason = found.problem.value if found.problem else "unknown"
        return LinkResult(None, reason, token.board_id if token else None)
    guardian = db.scalar(
        select(Guardian).where(Guardian.id == token.guardian_id, Guardian.status == "active")
    )
    if guardian is None:
        return LinkResult(None, "roster_inactive", token.board_id)
    account = account_for(
        db, issuer=EMAIL_LINK_ISSUER, subject=str(guardian.id), kind="guardian", provider_name="email"
    )
    account.email = guardian.email
    account.email_verified = True
    token.account_id = account.id
    if link(db, account, guardian.id, "email_link"):
        record(
            db,
            "accounts.guardian_linked",
            actor=Actor.account(account.id),
            board_id=guardian.board_id,
            target_type="guardian",
            target_id=guardian.id,
            details={"method": "email_link"},
        )
    return LinkResult(account, board_id=guardian.board_id)

"""Send queued e-mail over SMTP with retries and exponential backoff.

Three short transactions per message, never one across SMTP sessions: claim a batch (SKIP
LOCKED on PostgreSQL, a time-limited claim on each row), send each message outside any
transaction, mark it sent. A dispatcher killed mid-batch leaves its claims to run out; only the
message in flight can be delivered twice. An SMTP outage leaves rows pending; they are
retried, never dropped. The worker (`portal worker`) runs this every round.

No working secret stays at rest: once a message is sent (or given up), the one-time links in
its stored body are cut (`redact_links`), so a backup or a look at the outbox cannot sign
anyone in or confirm anything. Until then the link waits in the outbox for the dispatcher.
"""

from __future__ import annotations

import logging
import re
import smtplib
from collections.abc import Collection
from datetime import timedelta
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session

from app.config import Settings
from app.db import Database, utcnow
from app.domain.notifications.models import OutboxEmail
from app.domain.notifications.service import render_mailing

log = logging.getLogger("tobira.mail")
# The routes whose last path segment is a one-time secret (confirmation, e-mail sign-in).
ONE_TIME_LINK = re.compile(r"(/(?:confirm|signin/email)/)[A-Za-z0-9_\-]{8,}")
REDACTED = "[removed after sending]"


def redact_links(text: str) -> str:
    return ONE_TIME_LINK.sub(lambda match: match.group(1) + REDACTED, text)


MAX_ATTEMPTS = 12
BASE_BACKOFF = timedelta(seconds=30)
MAX_BACKOFF = timedelta(hours=6)


def backoff(attempts: int) -> timedelta:
    delay: timedelta = BASE_BACKOFF * (2 ** max(attempts - 1, 0))
    return min(delay, MAX_BACKOFF)


def build_message(email: OutboxEmail, sender: str, rendered: tuple[str, str] | None = None) -> EmailMessage:
    """The message of an outbox row; `rendered`: (subject, body) of a mailing's message."""
    subject, body = rendered or (email.subject, email.body_text)
    message = EmailMessage()
    message["From"] = sender
    message["To"] = email.to_address
    message["Subject"] = subject
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain="tobira.invalid")
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(body, charset="utf-8")
    message["Content-Language"] = email.language  # after set_content, which drops Content-* headers
    for attachment in email.attachments:
        maintype, _sep, subtype = attachment["content_type"].partition("/")
        message.add_attachment(
            attachment["content"].encode("utf-8"),
            maintype=maintype,
            subtype=subtype,
            filename=attachment["filename"],
        )
    return message


def _send(settings: Settings, message: EmailMessage) -> None:
    with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=20) as smtp:
        if settings.smtp_starttls:
            smtp.starttls()
        if settings.smtp_username:
            smtp.login(settings.smtp_username, settings.smtp_password)
        smtp.send_message(message)


def _claim(database: Database, batch: int, claim: timedelta) -> list[int]:
    """Mark up to `batch` due messages as ours for `claim`; a dispatcher that dies lets them go."""
    now = utcnow()
    due = or_(
        and_(OutboxEmail.status == "pending", OutboxEmail.next_attempt_at <= now),
        and_(OutboxEmail.status == "sending", OutboxEmail.claimed_until < now),
    )
    with database.transaction() as db:
        ids = list(
            db.scalars(
                select(OutboxEmail.id)
                .where(due)
                .order_by(OutboxEmail.id)
                .limit(batch)
                .with_for_update(skip_locked=True)
            )
        )
        if ids:
            db.execute(
                update(OutboxEmail)
                .where(OutboxEmail.id.in_(ids), due)
                .values(status="sending", claimed_until=now + claim, attempts=OutboxEmail.attempts + 1)
                .execution_options(synchronize_session=False)
            )
    return ids


def _send_one(database: Database, settings: Settings, email_id: int, claim: timedelta) -> bool:
    with database.transaction() as db:
        # Renew our claim just before sending; if it ran out, another dispatcher may hold it.
        now = utcnow()
        renewed = db.execute(
            update(OutboxEmail)
            .where(
                OutboxEmail.id == email_id,
                OutboxEmail.status == "sending",
                OutboxEmail.claimed_until >= now,
            )
            .values(claimed_until=now + claim)
            .execution_options(synchronize_session=False)
        )
        email = db.get(OutboxEmail, email_id) if renewed.rowcount == 1 else None  # type: ignore[attr-defined]
        if email is None:
            return False
        rendered = None
        if email.mailing_id is not None and email.sent_at is None:
            try:  # a mailing's message gets its text now; it is stored only once sent
                rendered = render_mailing(db, email)
            except LookupError:  # this process does not know the template: try again later
                log.error("mail %s: no template registered for its mailing", email_id)
                email.status, email.claimed_until = "pending", None
                email.last_error, email.next_attempt_at = "LookupError", utcnow() + backoff(email.attempts)
                return False
            if rendered is None:  # no longer applies (its guardian or children are gone)
                email.status, email.claimed_until = "cancelled", None
                return False
        message = build_message(email, settings.smtp_sender, rendered)
        attempts = email.attempts
        subject = rendered[0] if rendered else email.subject
        redacted = redact_links(rendered[1] if rendered else email.body_text)
    try:
        _send(settings, message)  # outside any transaction: no lock is held while SMTP talks
    except (OSError, smtplib.SMTPException) as exc:
        log.warning("mail %s attempt %s failed: %s", email_id, attempts, type(exc).__name__)
        with database.transaction() as db:
            db.execute(
                update(OutboxEmail)
                .where(OutboxEmail.id == email_id, OutboxEmail.status == "sending")
                .values(
                    status="failed" if attempts >= MAX_ATTEMPTS else "pending",
                    last_error=type(exc).__name__,
                    next_attempt_at=utcnow() + backoff(attempts),
                    claimed_until=None,
                    **({"body_text": redacted} if attempts >= MAX_ATTEMPTS else {}),
                )
            )
        return False
    with database.transaction() as db:
        db.execute(
            update(OutboxEmail)
            .where(OutboxEmail.id == email_id)
            .values(
                status="sent",
                sent_at=utcnow(),
                last_error="",
                claimed_until=None,
                subject=subject,
                body_text=redacted,
            )
        )
    return True


def dispatch_pending(database: Database, settings: Settings, batch: int = 50) -> int:
    """Send what is due; return how many were sent. Each message: claimed, sent, marked."""
    sent = 0
    claim = timedelta(seconds=settings.mail_claim_seconds)
    while True:
        ids = _claim(database, batch, claim)
        for email_id in ids:
            sent += _send_one(database, settings, email_id, claim)
        if len(ids) < batch:
            return sent


PURGE = "notifications.purge_sent"
PURGE_EVERY = timedelta(days=1)
PURGED = "[deleted after the retention period]"


def purge_sent_bodies(
    db: Session, retention: timedelta, *, board_id: int | None = None, skip_boards: Collection[int] = ()
) -> int:
    """Empty the bodies and attachments of mail sent (or given up) longer ago than
    `retention`; who was mailed what and when stays. Returns how many were emptied (the
    caller audits it in the same transaction). `board_id`: only that board's mail;
    `skip_boards`: not those boards' (they keep a period of their own, ADR 0087)."""
    cutoff = utcnow() - retention
    scope = [OutboxEmail.board_id == board_id] if board_id is not None else []
    if skip_boards:
        scope.append(or_(OutboxEmail.board_id.is_(None), OutboxEmail.board_id.not_in(sorted(skip_boards))))
    result = db.execute(
        update(OutboxEmail)
        .where(
            *scope,
            OutboxEmail.status.in_(("sent", "failed", "cancelled")),
            OutboxEmail.body_text != PURGED,
            or_(
                OutboxEmail.sent_at <= cutoff,
                and_(OutboxEmail.sent_at.is_(None), OutboxEmail.created_at <= cutoff),
            ),
        )
        .values(body_text=PURGED, attachments=[])
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]

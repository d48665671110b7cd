"""Send queued e-mail over SMTP with retries and exponential backoff.

Safe with several dispatchers: on PostgreSQL rows are claimed with SKIP LOCKED.
An SMTP outage leaves rows pending; they are retried, never dropped.
"""

from __future__ import annotations

import logging
import smtplib
import threading
from datetime import timedelta
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from sqlalchemy import select

from app.config import Settings
from app.db import Database, utcnow
from app.domain.notifications.models import OutboxEmail

log = logging.getLogger("tobira.mail")
MAX_ATTEMPTS = 12
BASE_BACKOFF = timedelta(seconds=30)
MAX_BACKOFF = timedelta(hours=6)


def backoff(attempts: int) -> timedelta:
    delay: timedelta = BASE_BACKOFF * (2 ** max(attempts - 1, 0))
    return min(delay, MAX_BACKOFF)


def build_message(email: OutboxEmail, sender: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = email.to_address
    message["Subject"] = email.subject
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain="tobira.invalid")
    message["Auto-Submitted"] = "auto-generated"
    message["Content-Language"] = email.language
    message.set_content(email.body_text, charset="utf-8")
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


def dispatch_pending(database: Database, settings: Settings, batch: int = 50) -> int:
    """Send what is due; return how many were sent."""
    sent = 0
    with database.transaction() as db:
        query = (
            select(OutboxEmail)
            .where(OutboxEmail.status == "pending", OutboxEmail.next_attempt_at <= utcnow())
            .order_by(OutboxEmail.id)
            .limit(batch)
        )
        if db.get_bind().dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        for email in db.scalars(query):
            email.attempts += 1
            try:
                _send(settings, build_message(email, settings.smtp_sender))
            except (OSError, smtplib.SMTPException) as exc:
                email.last_error = type(exc).__name__
                if email.attempts >= MAX_ATTEMPTS:
                    email.status = "failed"
                email.next_attempt_at = utcnow() + backoff(email.attempts)
                log.warning("mail %s attempt %s failed: %s", email.id, email.attempts, type(exc).__name__)
                continue
            email.status = "sent"
            email.sent_at = utcnow()
            email.last_error = ""
            sent += 1
    return sent


def run_forever(database: Database, settings: Settings, stop: threading.Event, interval: float = 2.0) -> None:
    while not stop.is_set():
        try:
            dispatch_pending(database, settings)
        except Exception:
            log.exception("mail dispatch round failed")
        stop.wait(interval)

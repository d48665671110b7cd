"""Write e-mails to the outbox; they leave only when the surrounding transaction commits.

Two ways in: `queue_email` renders one message now; a mailing (`mailing`, `queue_mailing`)
writes one message per recipient with one INSERT … SELECT and leaves the text to be rendered
when each is sent (`render_mailing`), in the recipient's language, from the template its domain
registered (`register_mailing_template`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import JSON, Integer, Select, String, Text, insert, literal, select
from sqlalchemy.orm import Session

from app.db import UTCDateTime, utcnow
from app.domain.notifications.models import Mailing, OutboxEmail
from app.domain.translations import service as translations
from app.i18n import content_scope, current_language
from app.templating import render_text

# template → the context of one message of a mailing, built when it is sent (None: the message
# no longer applies, e.g. its guardian was erased meanwhile; it is then cancelled).
MailingContext = Callable[[Session, Mailing, OutboxEmail], dict[str, Any] | None]
_CONTEXTS: dict[str, MailingContext] = {}


def render_email(
    template: str,
    context: dict[str, Any],
    language: str,
    *,
    db: Session | None = None,
    board_id: int | None = None,
) -> tuple[str, str]:
    """(subject, body) of `templates/<template>` (first line `Subject: …`) in `language`."""
    token = current_language.set(language)
    try:
        scope = content_scope.get()
        if db is not None and board_id is not None and (scope is None or scope.loader is None):
            # Outside a request (a job, the dispatcher): the board's content in the reader's language.
            with translations.translations_for(db, [board_id]):
                rendered = render_text(template, {"lang": language, **context})
        else:
            rendered = render_text(template, {"lang": language, **context})
    finally:
        current_language.reset(token)
    first_line, _sep, body = rendered.lstrip().partition("\n")
    if not first_line.startswith("Subject:"):
        raise ValueError(f"e-mail template {template} must start with 'Subject:'")
    return first_line.removeprefix("Subject:").strip(), body.lstrip("\n")


def queue_email(
    db: Session,
    *,
    to: str,
    template: str,
    context: dict[str, Any],
    purpose: str,
    language: str,
    board_id: int | None,
    attachments: list[dict[str, Any]] | None = None,
) -> OutboxEmail:
    """Render `templates/<template>` (first line `Subject: …`) in `language` and queue it."""
    email = OutboxEmail(
        **compose_email(
            db,
            to=to,
            template=template,
            context=context,
            purpose=purpose,
            language=language,
            board_id=board_id,
            attachments=attachments,
        )
    )
    db.add(email)
    db.flush()
    return email


def register_mailing_template(template: str, context: MailingContext) -> None:
    """Say how to build the context of a message of a mailing of `template` when it is sent."""
    _CONTEXTS[template] = context


def mailing(
    db: Session, *, board_id: int, key: str, template: str, purpose: str, params: dict[str, Any]
) -> Mailing:
    """The mailing named `key`, written the first time (a job that runs again finds it)."""
    found = db.scalar(select(Mailing).where(Mailing.key == key))
    if found is None:
        found = Mailing(board_id=board_id, key=key, template=template, purpose=purpose, params=params)
        db.add(found)
        db.flush()
    return found


def queue_mailing(db: Session, mailing: Mailing, recipients: Select[Any]) -> int:
    """One message per row of `recipients` — columns `guardian_id`, `to_address`, `language`,
    `student_ids` (a JSON array) — in one INSERT … SELECT, and the mailing marked as queued in
    the same transaction; a mailing queued before gets none. Returns how many were written."""
    if mailing.queued_at is not None:
        return 0
    now = utcnow()
    rows = recipients.subquery("recipients")
    columns = {
        "board_id": literal(mailing.board_id, Integer),
        "to_address": rows.c.to_address,
        "subject": literal("", String),
        "body_text": literal("", Text),
        "language": rows.c.language,
        "purpose": literal(mailing.purpose, String),
        "attachments": literal([], JSON),
        "status": literal("pending", String),
        "attempts": literal(0, Integer),
        "next_attempt_at": literal(now, UTCDateTime),
        "last_error": literal("", Text),
        "created_at": literal(now, UTCDateTime),
        "mailing_id": literal(mailing.id, Integer),
        "guardian_id": rows.c.guardian_id,
        "student_ids": rows.c.student_ids,
    }
    statement = insert(OutboxEmail).from_select(list(columns), select(*columns.values()).select_from(rows))
    # Core, not the ORM, and asked for: only then does the result say how many rows it wrote.
    result = db.connection().execute(statement.execution_options(preserve_rowcount=True))
    mailing.queued_at = now
    db.flush()
    return int(result.rowcount)


def render_mailing(db: Session, email: OutboxEmail) -> tuple[str, str] | None:
    """(subject, body) of a message of a mailing, rendered now in its language; None when it no
    longer applies. Raises LookupError when no domain registered the mailing's template."""
    found = db.get(Mailing, email.mailing_id) if email.mailing_id is not None else None
    if found is None:
        return None
    context = _CONTEXTS[found.template](db, found, email)
    if context is None:
        return None
    return render_email(found.template, context, email.language, db=db, board_id=email.board_id)


def compose_email(
    db: Session,
    *,
    to: str,
    template: str,
    context: dict[str, Any],
    purpose: str,
    language: str,
    board_id: int | None,
    attachments: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """The outbox row of a mail (its columns), rendered now, for `queue_emails`."""
    subject, body = render_email(template, context, language, db=db, board_id=board_id)
    return {
        "board_id": board_id,
        "to_address": to,
        "subject": subject,
        "body_text": body,
        "language": language,
        "purpose": purpose,
        "attachments": attachments or [],
    }


def queue_emails(db: Session, rows: list[dict[str, Any]]) -> None:
    """Queue composed mails in one statement (a multi-row INSERT on every database)."""
    if rows:
        db.execute(insert(OutboxEmail), rows)

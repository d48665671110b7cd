"""Write e-mails to the outbox; they leave only when the surrounding transaction commits."""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert
from sqlalchemy.orm import Session

from app.domain.notifications.models import OutboxEmail
from app.domain.translations import service as translations
from app.i18n import content_scope, current_language
from app.templating import render_text


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
    token = current_language.set(language)
    try:
        scope = content_scope.get()
        if (scope is None or scope.loader is None) and board_id is not None:
            # Outside a request (a job): the board's content in the reader's language.
            with translations.translations_for(db, [board_id]):
                rendered = render_text(template, {"lang": language, **context})
        else:
            rendered = render_text(template, {"lang": language, **context})
    finally:
        current_language.reset(token)
    first_line, _sep, body = rendered.lstrip().partition("\n")
    if not first_line.startswith("Subject:"):
        raise ValueError(f"e-mail template {template} must start with 'Subject:'")
    return {
        "board_id": board_id,
        "to_address": to,
        "subject": first_line.removeprefix("Subject:").strip(),
        "body_text": body.lstrip("\n"),
        "language": language,
        "purpose": purpose,
        "attachments": attachments or [],
    }


def queue_emails(db: Session, rows: list[dict[str, Any]]) -> None:
    """Queue composed mails in one statement (a multi-row INSERT on every database)."""
    if rows:
        db.execute(insert(OutboxEmail), rows)

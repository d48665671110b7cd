from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.domain.audit.models import AuditEvent


def audit(db: Session, action: str) -> list[AuditEvent]:
    db.expire_all()
    return list(db.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)))


def failure_reasons(db: Session) -> list[Any]:
    return [event.details.get("reason") for event in audit(db, "accounts.sign_in_failed")]


def problem_of(html: str) -> str | None:
    """The `data-problem` marker of a problem page (the kind, independent of language)."""
    marker = 'data-problem="'
    if marker not in html:
        return None
    return html.split(marker, 1)[1].split('"', 1)[0]

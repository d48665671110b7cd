"""Who looked at a child's record: what a guardian is shown of the audit log.

Staff views of the child's record (and of the form that records a choice for the child) are
listed with the viewer's role and whether it was at the child's school or the board — never a
staff member's name. Choices the school recorded are in the history above it already.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.domain.accounts.models import StaffRole
from app.domain.audit.models import AuditEvent
from app.domain.people.models import Student

SHOWN = 50
# The most specific role an account holds says in what capacity it looked.
ROLE_ORDER = ("teacher", "school_admin", "board_admin", "auditor")


@dataclass(frozen=True)
class Access:
    at: datetime
    page: str  # "record" (the child's record) | "record_form" (recording a choice)
    role: str  # a staff role code, or "" when the account holds none any more
    at_school: bool  # the role is at the child's school (False: board-wide)


def access_history(db: Session, student: Student) -> list[Access]:
    """The latest staff views of this child's record, newest first (one statement)."""
    rows = db.execute(
        select(AuditEvent.id, AuditEvent.occurred_at, AuditEvent.details, StaffRole.role, StaffRole.school_id)
        .outerjoin(
            StaffRole,
            (StaffRole.account_id == AuditEvent.actor_id) & (StaffRole.board_id == student.board_id),
        )
        .where(
            AuditEvent.board_id == student.board_id,
            AuditEvent.action == "student.viewed",
            AuditEvent.actor_type == "account",
            AuditEvent.target_type == "student",
            AuditEvent.target_id == str(student.id),
        )
        .order_by(AuditEvent.occurred_at.desc(), AuditEvent.id.desc())
        .limit(SHOWN * len(ROLE_ORDER))
    ).all()
    chosen: dict[int, Access] = {}
    for event_id, at, details, role, school_id in rows:
        here = school_id == student.school_id
        candidate = Access(at, str((details or {}).get("page", "record")), role or "", here)
        current = chosen.get(event_id)
        if current is None or _rank(candidate, student) < _rank(current, student):
            chosen[event_id] = candidate
    return sorted(chosen.values(), key=lambda access: access.at, reverse=True)[:SHOWN]


def _rank(access: Access, student: Student) -> tuple[int, int]:
    order = ROLE_ORDER.index(access.role) if access.role in ROLE_ORDER else len(ROLE_ORDER)
    return (0 if access.at_school else 1, order)

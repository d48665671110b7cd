"""A board's retention policy: defaults from seed 003, changed by a board administrator."""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.domain.retention.models import RetentionPolicy
from app.errors import Invalid
from app.i18n import N_


@dataclass(frozen=True)
class Policy:
    student_years: int = 5
    audit_years: int = 5
    mail_body_days: int | None = None  # None: MAIL_BODY_RETENTION_DAYS
    upload_days: int = 7
    certificate_due_days: int = 90


DEFAULTS = Policy()
# What each setting may be: (lowest, highest).
LIMITS = {
    "student_years": (1, 30),
    "audit_years": (1, 30),
    "mail_body_days": (0, 3650),
    "upload_days": (1, 90),
    "certificate_due_days": (1, 3650),
}
PROBLEMS = {
    "student_years": N_("Enter a whole number of years from 1 to 30."),
    "audit_years": N_("Enter a whole number of years from 1 to 30."),
    "mail_body_days": N_("Enter a whole number of days from 0 to 3650, or leave it empty."),
    "upload_days": N_("Enter a whole number of days from 1 to 90."),
    "certificate_due_days": N_("Enter a whole number of days from 1 to 3650."),
}
SETTINGS = tuple(field.name for field in fields(Policy))


def _of(row: RetentionPolicy | None) -> Policy:
    if row is None:
        return DEFAULTS
    return Policy(**{name: getattr(row, name) for name in SETTINGS})


def policy_for(db: Session, board_id: int) -> Policy:
    return _of(db.get(RetentionPolicy, board_id))


def all_policies(db: Session) -> dict[int, Policy]:
    """Boards that changed their policy (the others keep DEFAULTS)."""
    return {row.board_id: _of(row) for row in db.scalars(select(RetentionPolicy))}


def boards_with_own_mail_period(db: Session) -> list[int]:
    """Boards whose mail bodies follow their own period, not MAIL_BODY_RETENTION_DAYS."""
    return list(
        db.scalars(select(RetentionPolicy.board_id).where(RetentionPolicy.mail_body_days.is_not(None)))
    )


def parse(values: dict[str, str]) -> dict[str, int | None]:
    """Form or command-line text to settings; only the keys given. Raises Invalid naming
    every field that is not a whole number in range (nothing is changed then)."""
    parsed: dict[str, int | None] = {}
    problems: dict[str, str] = {}
    for name, text in values.items():
        if name not in LIMITS:
            continue
        text = text.strip()
        if name == "mail_body_days" and text == "":
            parsed[name] = None
            continue
        low, high = LIMITS[name]
        if not text.isascii() or not text.isdigit() or not low <= int(text) <= high:
            problems[name] = PROBLEMS[name]
            continue
        parsed[name] = int(text)
    if problems:
        raise Invalid(fields=problems)
    return parsed


def set_policy(db: Session, board_id: int, changes: dict[str, int | None]) -> dict[str, int | None]:
    """Store the changes (already parsed); returns what changed — the caller audits it."""
    current = policy_for(db, board_id)
    wanted = replace(current, **changes)  # type: ignore[arg-type]
    changed = {
        name: getattr(wanted, name) for name in SETTINGS if getattr(wanted, name) != getattr(current, name)
    }
    if not changed:
        return {}
    row = db.get(RetentionPolicy, board_id)
    if row is None:
        row = RetentionPolicy(board_id=board_id, **{name: getattr(DEFAULTS, name) for name in SETTINGS})
        db.add(row)
    for name, value in changed.items():
        setattr(row, name, value)
    db.flush()
    return changed


def years_before(moment: datetime, years: int) -> datetime:
    """The same day and time `years` earlier (29 February becomes 28 February)."""
    try:
        return moment.replace(year=moment.year - years)
    except ValueError:
        return moment.replace(year=moment.year - years, day=28)

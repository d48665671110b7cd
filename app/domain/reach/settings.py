"""A board's reminder setting: after how many days, and at most how many reminders."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.orm import Session

from app.domain.audit.service import Actor, record
from app.domain.choices.requests import CONFIRMATION_TTL
from app.domain.reach.models import DEFAULT_DELAY_DAYS, DEFAULT_MAX_REMINDERS, ReminderSetting
from app.errors import Invalid
from app.i18n import N_

MAX_DELAY_DAYS = 30
MAX_REMINDERS = 5


@dataclass(frozen=True)
class Reminders:
    delay_days: int
    max_reminders: int

    @property
    def delay(self) -> timedelta:
        return timedelta(days=self.delay_days)

    @property
    def confirmation_delay(self) -> timedelta:
        """A confirmation link lives 72 hours and an unconfirmed request then expires, so a
        reminder about it goes after the delay but no later than a day before that."""
        return min(self.delay, CONFIRMATION_TTL - timedelta(days=1))


def reminders_of(db: Session, board_id: int) -> Reminders:
    row = db.get(ReminderSetting, board_id)
    if row is None:
        return Reminders(DEFAULT_DELAY_DAYS, DEFAULT_MAX_REMINDERS)
    return Reminders(row.delay_days, row.max_reminders)


def set_reminders(db: Session, board_id: int, *, delay_days: int, max_reminders: int, actor: Actor) -> bool:
    """Store the board's setting (audited); True when it changed. 0 reminders turns them off."""
    problems = {}
    if not 1 <= delay_days <= MAX_DELAY_DAYS:
        problems["delay_days"] = N_("Enter a number of days from 1 to 30.")
    if not 0 <= max_reminders <= MAX_REMINDERS:
        problems["max_reminders"] = N_("Enter a number of reminders from 0 to 5.")
    if problems:
        raise Invalid(fields=problems)
    before = reminders_of(db, board_id)
    if before == Reminders(delay_days, max_reminders):
        return False
    row = db.get(ReminderSetting, board_id)
    if row is None:
        row = ReminderSetting(board_id=board_id)
        db.add(row)
    row.delay_days, row.max_reminders = delay_days, max_reminders
    db.flush()
    record(
        db,
        "reach.reminder_setting_changed",
        actor=actor,
        board_id=board_id,
        details={"delay_days": delay_days, "max_reminders": max_reminders},
    )
    return True

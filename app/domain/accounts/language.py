"""The language a guardian chose for the portal's pages and e-mails (ADR 0078).

It is saved on the account (pages: put in force at every sign-in) and on every roster
guardian the account acts for (e-mails: `app.domain.people.language.language_of`). A
guardian linked later takes the account's setting when the link is made.
"""

from __future__ import annotations

from collections import Counter

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.domain.accounts.models import Account, AccountGuardian
from app.domain.audit.service import Actor, record
from app.domain.people.language import language_of
from app.domain.people.models import Guardian
from app.errors import Invalid
from app.i18n import LANGUAGES, N_


def linked_guardians(db: Session, account: Account) -> list[Guardian]:
    return list(
        db.scalars(
            select(Guardian)
            .join(AccountGuardian, AccountGuardian.guardian_id == Guardian.id)
            .where(AccountGuardian.account_id == account.id)
            .order_by(Guardian.id)
        )
    )


def current_setting(db: Session, account: Account) -> str:
    """The account's saved language, else the one its e-mails go out in today."""
    saved = account.preferred_language
    if saved is not None and saved in LANGUAGES:
        return saved
    guardians = linked_guardians(db, account)
    return language_of(guardians[0] if guardians else None)


def save_language(db: Session, account: Account, lang: str) -> None:
    """Save `lang` on the account and its guardians; one audit event per board."""
    if lang not in LANGUAGES:
        raise Invalid(fields={"lang": N_("Choose one of the languages offered.")})
    previous = account.preferred_language
    account.preferred_language = lang
    per_board: Counter[int] = Counter()
    for guardian in linked_guardians(db, account):
        guardian.preferred_language = lang
        per_board[guardian.board_id] += 1
    db.flush()
    boards: list[int | None] = [*sorted(per_board)] or [None]
    for board_id in boards:
        record(
            db,
            "accounts.language_saved",
            actor=Actor.account(account.id),
            board_id=board_id,
            target_type="account",
            target_id=account.id,
            details={
                "language": lang,
                "previous": previous,
                "guardians": per_board[board_id] if board_id is not None else 0,
            },
        )


def carry_to_guardian(db: Session, account: Account, guardian_id: int) -> None:
    """A guardian newly linked to the account takes the account's saved language."""
    saved = account.preferred_language
    if saved is None or saved not in LANGUAGES:
        return
    guardian = db.get(Guardian, guardian_id)
    if guardian is not None:
        guardian.preferred_language = saved

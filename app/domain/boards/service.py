"""Board-level settings: which providers a board trusts; its contact and jurisdiction."""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.domain.boards.models import Board, BoardProviderSetting
from app.domain.translations import service as translations
from app.errors import Invalid
from app.i18n import N_


def trusted_board_ids(db: Session, provider_name: str) -> set[int]:
    """Boards that accept this provider's verified e-mail for automatic guardian linking."""
    return set(
        db.scalars(
            select(BoardProviderSetting.board_id).where(
                BoardProviderSetting.provider_name == provider_name,
                BoardProviderSetting.trust_verified_email.is_(True),
            )
        )
    )


def provider_trust(db: Session, board_id: int) -> dict[str, bool]:
    rows = db.scalars(select(BoardProviderSetting).where(BoardProviderSetting.board_id == board_id))
    return {row.provider_name: row.trust_verified_email for row in rows}


def set_provider_trust(db: Session, board_id: int, provider_name: str, trusted: bool) -> bool:
    """Store the setting; True when it changed."""
    row = db.scalar(
        select(BoardProviderSetting).where(
            BoardProviderSetting.board_id == board_id, BoardProviderSetting.provider_name == provider_name
        )
    )
    if row is None:
        if not trusted:
            return False
        db.add(
            BoardProviderSetting(board_id=board_id, provider_name=provider_name, trust_verified_email=True)
        )
        db.flush()
        return True
    if row.trust_verified_email == trusted:
        return False
    row.trust_verified_email = trusted
    db.flush()
    return True


JURISDICTION = re.compile(r"^[A-Z]{2}(-[0-9A-Z]{1,3})?$")


def set_contact(
    db: Session,
    board: Board,
    *,
    email: str | None = None,
    phone: str | None = None,
    jurisdiction: str | None = None,
    name: str | None = None,
    name_en: str | None = None,
) -> dict[str, str]:
    """The board's data-protection contact, jurisdiction and name (the controller on receipts),
    as receipts and the daily audit anchor state them; returns what changed (the caller audits it)."""
    wanted = {
        "contact_email": email,
        "contact_phone": phone,
        "jurisdiction": jurisdiction,
        "name": name,
    }
    problems = {}
    if name is not None and not 0 < len(name.strip()) <= 200:
        problems["name"] = N_("Enter the board's name (at most 200 characters).")
    if name_en is not None and len(name_en) > 200:
        problems["name_en"] = N_("The English name is too long (200 characters at most).")
    if email is not None and email and ("@" not in email or len(email) > 320):
        problems["email"] = N_("Enter an e-mail address (at most 320 characters).")
    if phone is not None and len(phone) > 40:
        problems["phone"] = N_("The telephone number is too long (40 characters at most).")
    if jurisdiction is not None and not JURISDICTION.match(jurisdiction):
        problems["jurisdiction"] = N_("Use an ISO 3166 code such as JP or JP-11.")
    if problems:
        raise Invalid(fields=problems)
    changed = {}
    for column, value in wanted.items():
        if value is not None and getattr(board, column) != value.strip():
            setattr(board, column, value.strip())
            changed[column] = value.strip()
    db.flush()
    if name_en is not None and translations.save(db, board.id, "boards", board.id, {"en": {"name": name_en}}):
        changed["name_en"] = name_en.strip()
    return changed

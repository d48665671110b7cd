"""Board-level settings owned by the sign-in domain: which providers a board trusts."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.domain.boards.models import BoardProviderSetting


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

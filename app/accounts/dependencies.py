"""Who is asking: the signed-in principal and the guards every router uses.

Access rules: a guardian sees only students linked (roster) to a guardian their account
acts for; staff see what their roles' scope covers. Anything else answers 404 — never
403 — so that ids of other families and boards reveal nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.accounts.models import Account, AccountGuardian, StaffRole, UserSession
from app.accounts.sessions import load_session
from app.dependencies import AppSettings, DbSession


@dataclass
class Principal:
    account: Account
    session: UserSession
    guardian_ids: list[int] = field(default_factory=list)
    roles: list[StaffRole] = field(default_factory=list)

    @property
    def is_guardian(self) -> bool:
        return self.account.kind == "guardian"

    @property
    def is_staff(self) -> bool:
        return self.account.kind == "staff" and bool(self.roles)

    @property
    def board_ids(self) -> set[int]:
        return {role.board_id for role in self.roles}

    def has_role(self, *roles: str, board_id: int | None = None) -> bool:
        return any(
            role.role in roles and (board_id is None or role.board_id == board_id) for role in self.roles
        )

    def school_scope(self, board_id: int) -> set[int] | None:
        """School ids this principal may see in `board_id`; None means every school."""
        schools: set[int] = set()
        for role in self.roles:
            if role.board_id != board_id:
                continue
            if role.school_id is None:
                return None
            schools.add(role.school_id)
        return schools

    def can_see_school(self, board_id: int, school_id: int) -> bool:
        if board_id not in self.board_ids:
            return False
        scope = self.school_scope(board_id)
        return scope is None or school_id in scope


class NotSignedIn(Exception):
    """Raised by guards; the app answers with a redirect to the sign-in page."""


def load_principal(db: Session, request: Request, settings: AppSettings) -> Principal | None:
    row = load_session(db, request, settings)
    if row is None:
        return None
    account = row.account
    principal = Principal(account=account, session=row)
    if account.kind == "guardian":
        principal.guardian_ids = list(
            db.scalars(select(AccountGuardian.guardian_id).where(AccountGuardian.account_id == account.id))
        )
    else:
        principal.roles = list(
            db.scalars(
                select(StaffRole).where(StaffRole.account_id == account.id, StaffRole.revoked_at.is_(None))
            )
        )
    request.state.principal = principal
    return principal


def optional_principal(request: Request, db: DbSession, settings: AppSettings) -> Principal | None:
    return load_principal(db, request, settings)


def require_principal(
    principal: Annotated[Principal | None, Depends(optional_principal)],
) -> Principal:
    if principal is None:
        raise NotSignedIn()
    return principal


def require_guardian(principal: Annotated[Principal, Depends(require_principal)]) -> Principal:
    if not principal.is_guardian:
        raise HTTPException(status_code=404)
    return principal


def require_staff(principal: Annotated[Principal, Depends(require_principal)]) -> Principal:
    if not principal.is_staff:
        raise HTTPException(status_code=404)
    return principal


OptionalPrincipal = Annotated[Principal | None, Depends(optional_principal)]
CurrentPrincipal = Annotated[Principal, Depends(require_principal)]
CurrentGuardian = Annotated[Principal, Depends(require_guardian)]
CurrentStaff = Annotated[Principal, Depends(require_staff)]

"""Who is asking: the signed-in principal and the guards every router uses.

Access rules: a guardian sees only students linked (roster) to a guardian their account
acts for; staff see what their roles' scope covers. Anything else answers 404 — never
403 — so that ids of other families and boards reveal nothing.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Request
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.domain.accounts.models import AccountGuardian, StaffRole
from app.domain.accounts.principal import Principal
from app.surfaces.dependencies import AppSettings, DbSession
from app.surfaces.sessions import load_session


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

"""Accounts after a provider has vouched for someone: find or create, staff roles, audit."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.config import OIDCProvider
from app.db import utcnow
from app.domain.accounts.linking import claims_email_verified
from app.domain.accounts.models import Account, AccountGuardian, StaffGroupMapping, StaffRole
from app.domain.accounts.students import student_board_ids
from app.domain.audit.service import ANONYMOUS, Actor, record
from app.domain.people.models import Guardian

EMAIL_LINK_ISSUER = "urn:tobira:email-link"


def account_for(db: Session, *, issuer: str, subject: str, kind: str, provider_name: str) -> Account:
    """The account for (issuer, subject), created on first sign-in. Never matched by e-mail."""
    account = db.scalar(select(Account).where(Account.issuer == issuer, Account.subject == subject))
    if account is None:
        account = Account(issuer=issuer, subject=subject, kind=kind, provider_name=provider_name)
        db.add(account)
        db.flush()
    return account


def update_from_claims(account: Account, claims: dict[str, object]) -> None:
    email = claims.get("email")
    account.email = email.strip() if isinstance(email, str) and email.strip() else None
    account.email_verified = account.email is not None and claims_email_verified(claims)
    name = claims.get("name")
    if isinstance(name, str):
        account.display_name = name[:200]


def _groups(claims: dict[str, object], claim_name: str) -> set[str]:
    value = claims.get(claim_name)
    if isinstance(value, str):
        return {value}
    if isinstance(value, list):
        return {str(item) for item in value}
    return set()


def sync_staff_roles(
    db: Session, account: Account, provider: OIDCProvider, claims: dict[str, object]
) -> None:
    """Bind invitations to a verified e-mail; grant and withdraw roles from group mappings."""
    if account.email and account.email_verified:
        for role in db.scalars(
            select(StaffRole).where(
                StaffRole.invited_email == account.email.lower(),
                StaffRole.account_id.is_(None),
                StaffRole.revoked_at.is_(None),
            )
        ):
            role.account_id = account.id
            record(
                db,
                "accounts.staff_invitation_bound",
                actor=Actor.account(account.id),
                board_id=role.board_id,
                target_type="staff_role",
                target_id=role.id,
                details={"role": role.role, "school_id": role.school_id},
            )

    groups = _groups(claims, provider.groups_claim)
    mappings = list(
        db.scalars(select(StaffGroupMapping).where(StaffGroupMapping.provider_name == provider.name))
    )
    wanted = {f"group:{m.id}": m for m in mappings if m.group_value in groups}
    current = {
        role.source: role
        for role in db.scalars(
            select(StaffRole).where(
                StaffRole.account_id == account.id,
                StaffRole.source.like("group:%"),
                StaffRole.revoked_at.is_(None),
            )
        )
    }
    for source, mapping in wanted.items():
        if source in current:
            continue
        role = StaffRole(
            board_id=mapping.board_id,
            school_id=mapping.school_id,
            account_id=account.id,
            role=mapping.role,
            source=source,
        )
        db.add(role)
        db.flush()
        record(
            db,
            "accounts.staff_role_granted",
            actor=Actor.account(account.id),
            board_id=mapping.board_id,
            target_type="staff_role",
            target_id=role.id,
            details={
                "role": role.role,
                "school_id": role.school_id,
                "source": "group",
                "mapping_id": mapping.id,
            },
        )
    for source, role in current.items():
        if source not in wanted:
            role.revoked_at = utcnow()
            record(
                db,
                "accounts.staff_role_revoked",
                actor=Actor.account(account.id),
                board_id=role.board_id,
                target_type="staff_role",
                target_id=role.id,
                details={"role": role.role, "school_id": role.school_id, "source": "group"},
            )
    db.flush()


def account_board_ids(db: Session, account: Account) -> set[int]:
    if account.kind == "staff":
        return set(
            db.scalars(
                select(StaffRole.board_id).where(
                    StaffRole.account_id == account.id, StaffRole.revoked_at.is_(None)
                )
            )
        )
    if account.kind == "student":
        return student_board_ids(db, account.id)
    return set(
        db.scalars(
            select(Guardian.board_id)
            .join(AccountGuardian, AccountGuardian.guardian_id == Guardian.id)
            .where(AccountGuardian.account_id == account.id)
        )
    )


def audit_sign_in(db: Session, account: Account, method: str) -> None:
    """One event per board the account belongs to (or one without a board)."""
    boards: list[int | None] = [*sorted(account_board_ids(db, account))] or [None]
    for board_id in boards:
        record(
            db,
            "accounts.signed_in",
            actor=Actor.account(account.id),
            board_id=board_id,
            target_type="account",
            target_id=account.id,
            details={"method": method, "provider": account.provider_name, "kind": account.kind},
        )


def audit_failed_sign_in(
    db: Session,
    reason: str,
    *,
    provider: str = "",
    account: Account | None = None,
    board_id: int | None = None,
) -> None:
    record(
        db,
        "accounts.sign_in_failed",
        actor=Actor.account(account.id) if account is not None else ANONYMOUS,
        board_id=board_id,
        target_type="account" if account is not None else "",
        target_id=account.id if account is not None else "",
        outcome="failure",
        details={"reason": reason, "provider": provider},
    )

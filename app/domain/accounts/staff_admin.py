"""Board administration of staff access: invitations, group mappings, revocation, letters."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session, joinedload

from app.db import utcnow
from app.domain.accounts.linking import issue_enrolment_code
from app.domain.accounts.models import STAFF_ROLES, Account, StaffGroupMapping, StaffRole, UserSession
from app.domain.accounts.principal import Principal
from app.domain.audit.service import CLI, Actor, record
from app.domain.boards import service as boards
from app.domain.people.models import Guardian, GuardianStudent, School, SchoolClass, Student
from app.errors import Invalid, NotFound

BOARD_WIDE_ROLES = ("board_admin", "auditor")
SCHOOL_ROLES = ("school_admin", "teacher")


def admin_board_ids(principal: Principal) -> list[int]:
    return sorted({role.board_id for role in principal.roles if role.role == "board_admin"})


def check_role_scope(db: Session, board_id: int, role: str, school_id: int | None) -> None:
    if role not in STAFF_ROLES:
        raise Invalid("Choose a role.")
    if role in SCHOOL_ROLES and school_id is None:
        raise Invalid("School admins and teachers need a school.")
    if role in BOARD_WIDE_ROLES and school_id is not None:
        raise Invalid("Board admins and auditors cover the whole board; leave the school empty.")
    if (
        school_id is not None
        and db.scalar(select(School.id).where(School.id == school_id, School.board_id == board_id)) is None
    ):
        raise Invalid("Choose a school of this board.")


def invite(
    db: Session, board_id: int, email: str, role: str, school_id: int | None, *, granted_by: int | None
) -> StaffRole:
    """An invitation bound at the first sign-in with this verified e-mail (`granted_by` None: CLI)."""
    address = email.strip().lower()
    if "@" not in address or len(address) > 320 or " " in address:
        raise Invalid("Enter a valid e-mail address.")
    check_role_scope(db, board_id, role, school_id)
    row = StaffRole(
        board_id=board_id,
        school_id=school_id,
        invited_email=address,
        role=role,
        source="invitation",
        granted_by_account_id=granted_by,
    )
    db.add(row)
    db.flush()
    record(
        db,
        "accounts.staff_role_granted",
        actor=Actor.account(granted_by) if granted_by is not None else CLI,
        board_id=board_id,
        target_type="staff_role",
        target_id=row.id,
        details={"role": role, "school_id": school_id, "source": "invitation"},
    )
    return row


def revoke_role(db: Session, principal: Principal, board_id: int, role_id: int) -> StaffRole | None:
    row = db.scalar(
        select(StaffRole).where(
            StaffRole.id == role_id, StaffRole.board_id == board_id, StaffRole.revoked_at.is_(None)
        )
    )
    if row is None:
        return None
    if row.account_id == principal.account.id and row.role == "board_admin":
        raise Invalid("You cannot revoke your own board admin role.")
    if row.source.startswith("group:"):
        # Sign-in grants it again while the mapping exists: the mapping is what to remove.
        raise Invalid("This role comes from a group mapping. Remove the mapping instead.")
    row.revoked_at = utcnow()
    record(
        db,
        "accounts.staff_role_revoked",
        actor=Actor.account(principal.account.id),
        board_id=board_id,
        target_type="staff_role",
        target_id=row.id,
        details={"role": row.role, "school_id": row.school_id, "source": row.source},
    )
    db.flush()
    return row


def disable_account(db: Session, principal: Principal, board_id: int, account_id: int) -> Account:
    """Disable a staff account that holds a role on this board: its sessions end now, and no
    sign-in (OIDC or e-mail link) starts a new one. Not one's own account."""
    holds_role = select(StaffRole.id).where(
        StaffRole.account_id == account_id, StaffRole.board_id == board_id, StaffRole.revoked_at.is_(None)
    )
    account = db.get(Account, account_id) if db.scalar(holds_role.limit(1)) is not None else None
    if account is None or account.kind != "staff":
        raise NotFound()
    if account.id == principal.account.id:
        raise Invalid("You cannot disable your own account.")
    if account.disabled_at is None:
        now = utcnow()
        account.disabled_at = now
        db.execute(
            update(UserSession)
            .where(UserSession.account_id == account.id, UserSession.ended_at.is_(None))
            .values(ended_at=now)
        )
        record(
            db,
            "accounts.disabled",
            actor=Actor.account(principal.account.id),
            board_id=board_id,
            target_type="account",
            target_id=account.id,
        )
        db.flush()
    return account


def add_mapping(
    db: Session,
    principal: Principal,
    board_id: int,
    provider_name: str,
    group: str,
    role: str,
    school_id: int | None,
) -> StaffGroupMapping:
    group = group.strip()
    if not group or len(group) > 255:
        raise Invalid("Enter the group value the provider sends.")
    check_role_scope(db, board_id, role, school_id)
    exists = db.scalar(
        select(StaffGroupMapping.id).where(
            StaffGroupMapping.board_id == board_id,
            StaffGroupMapping.provider_name == provider_name,
            StaffGroupMapping.group_value == group,
            StaffGroupMapping.role == role,
            StaffGroupMapping.school_id.is_(None)
            if school_id is None
            else StaffGroupMapping.school_id == school_id,
        )
    )
    if exists is not None:
        raise Invalid("This mapping exists already.")
    row = StaffGroupMapping(
        board_id=board_id, provider_name=provider_name, group_value=group, role=role, school_id=school_id
    )
    db.add(row)
    db.flush()
    record(
        db,
        "accounts.staff_group_mapping_added",
        actor=Actor.account(principal.account.id),
        board_id=board_id,
        target_type="staff_group_mapping",
        target_id=row.id,
        details={"provider": provider_name, "role": role, "school_id": school_id},
    )
    return row


def remove_mapping(db: Session, principal: Principal, board_id: int, mapping_id: int) -> bool:
    """Delete the mapping and revoke the roles it granted."""
    row = db.scalar(
        select(StaffGroupMapping).where(
            StaffGroupMapping.id == mapping_id, StaffGroupMapping.board_id == board_id
        )
    )
    if row is None:
        return False
    revoked = 0
    for role in db.scalars(
        select(StaffRole).where(StaffRole.source == f"group:{row.id}", StaffRole.revoked_at.is_(None))
    ):
        role.revoked_at = utcnow()
        revoked += 1
    record(
        db,
        "accounts.staff_group_mapping_removed",
        actor=Actor.account(principal.account.id),
        board_id=board_id,
        target_type="staff_group_mapping",
        target_id=row.id,
        details={"provider": row.provider_name, "role": row.role, "roles_revoked": revoked},
    )
    db.delete(row)
    db.flush()
    return True


# --- enrolment letters -------------------------------------------------------------


def may_print_letters(principal: Principal, school_class: SchoolClass) -> bool:
    return any(
        role.board_id == school_class.board_id
        and (
            role.role == "board_admin"
            or (role.role == "school_admin" and role.school_id == school_class.school_id)
        )
        for role in principal.roles
    )


def letter_classes(db: Session, principal: Principal) -> list[SchoolClass]:
    """Classes whose letters this principal may print, by school and title."""
    board_wide = {r.board_id for r in principal.roles if r.role == "board_admin"}
    schools = {r.school_id for r in principal.roles if r.role == "school_admin" and r.school_id is not None}
    if not board_wide and not schools:
        return []
    scope = []
    if board_wide:
        scope.append(SchoolClass.board_id.in_(board_wide))
    if schools:
        scope.append(SchoolClass.school_id.in_(schools))
    return list(
        db.scalars(
            select(SchoolClass)
            .options(joinedload(SchoolClass.school))
            .join(School, School.id == SchoolClass.school_id)
            .where(or_(*scope), SchoolClass.status == "active")
            .order_by(School.code, SchoolClass.grade, SchoolClass.title)
        )
    )


def class_for_letters(db: Session, principal: Principal, class_id: int) -> SchoolClass | None:
    school_class = db.scalar(
        select(SchoolClass).options(joinedload(SchoolClass.school)).where(SchoolClass.id == class_id)
    )
    if school_class is None or not may_print_letters(principal, school_class):
        return None
    return school_class


def class_pairs(db: Session, school_class: SchoolClass) -> list[GuardianStudent]:
    return list(
        db.scalars(
            select(GuardianStudent)
            .options(joinedload(GuardianStudent.guardian), joinedload(GuardianStudent.student))
            .join(Student, Student.id == GuardianStudent.student_id)
            .join(Guardian, Guardian.id == GuardianStudent.guardian_id)
            .where(
                Student.class_id == school_class.id,
                Student.board_id == school_class.board_id,
                Student.status == "active",
                Guardian.status == "active",
                GuardianStudent.status == "active",
            )
            .order_by(Student.attendance_number, Student.id, Guardian.id)
        )
    )


@dataclass
class Letter:
    guardian: Guardian
    student: Student
    code: str


def may_print_letters_at(principal: Principal, board_id: int, school_id: int) -> bool:
    return any(
        role.board_id == board_id
        and (role.role == "board_admin" or (role.role == "school_admin" and role.school_id == school_id))
        for role in principal.roles
    )


def issue_letters_for(
    db: Session, principal: Principal, pairs: list[GuardianStudent], *, board_id: int, details: dict[str, Any]
) -> list[Letter]:
    """New codes for exactly these guardian–student pairs (guardian and student loaded; the
    caller checked `may_print_letters_at` for each), audited as one issue of letters."""
    letters = [Letter(pair.guardian, pair.student, issue_enrolment_code(db, pair)) for pair in pairs]
    record(
        db,
        "accounts.enrolment_letters_issued",
        actor=Actor.account(principal.account.id),
        board_id=board_id,
        details={**details, "letters": len(letters)},
    )
    return letters


def issue_letters(db: Session, principal: Principal, school_class: SchoolClass) -> list[Letter]:
    """New codes for every guardian–student pair of the class (older unused ones revoked)."""
    letters = [
        Letter(pair.guardian, pair.student, issue_enrolment_code(db, pair))
        for pair in class_pairs(db, school_class)
    ]
    record(
        db,
        "accounts.enrolment_letters_issued",
        actor=Actor.account(principal.account.id),
        board_id=school_class.board_id,
        target_type="class",
        target_id=school_class.id,
        details={"school_id": school_class.school_id, "letters": len(letters)},
    )
    return letters


def set_provider_trust(
    db: Session, board_id: int, provider_name: str, trusted: bool, *, actor: Actor
) -> None:
    """May this guardian provider's verified e-mail link accounts automatically? Audited when changed."""
    if boards.set_provider_trust(db, board_id, provider_name, trusted):
        record(
            db,
            "accounts.provider_trust_changed",
            actor=actor,
            board_id=board_id,
            target_type="provider",
            target_id=provider_name,
            details={"trust_verified_email": trusted},
        )

"""Linking a guardian account to roster guardians (and so to their children).

Three ways, recorded in `AccountGuardian.method`:
- `enrolment_code`: the one-time code from the letter the school printed;
- `verified_email`: the provider asserts `email_verified` and the e-mail equals the
  guardian's address on file — only for providers the guardian's board trusts;
- `email_link`: the account created by e-mail-link sign-in for exactly one guardian.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.domain.accounts.language import carry_to_guardian
from app.domain.accounts.models import Account, AccountGuardian
from app.domain.audit.service import Actor, record
from app.domain.boards.service import trusted_board_ids
from app.domain.people.models import Guardian, GuardianStudent, Student
from app.domain.tokens import service as tokens
from app.domain.tokens.models import OneTimeToken

ENROLMENT_PURPOSE = "enrolment_code"
ENROLMENT_CODE_TTL = timedelta(days=120)
CODE_LENGTH = 16  # symbols, without dashes


def issue_enrolment_code(
    db: Session,
    guardian_student: GuardianStudent,
    *,
    ttl: timedelta = ENROLMENT_CODE_TTL,
    revoke_previous: bool = True,
) -> str:
    """A new code for this guardian–student pair (older unused ones revoked). Returns the code."""
    board_id = db.scalar(select(Guardian.board_id).where(Guardian.id == guardian_student.guardian_id))
    if revoke_previous:
        for old in db.scalars(
            select(OneTimeToken).where(
                OneTimeToken.purpose == ENROLMENT_PURPOSE,
                OneTimeToken.guardian_id == guardian_student.guardian_id,
                OneTimeToken.student_id == guardian_student.student_id,
                OneTimeToken.used_at.is_(None),
                OneTimeToken.revoked_at.is_(None),
            )
        ):
            tokens.revoke(db, old)
    code, _row = tokens.issue(
        db,
        ENROLMENT_PURPOSE,
        ttl,
        secret=tokens.new_human_code(),
        board_id=board_id,
        guardian_id=guardian_student.guardian_id,
        student_id=guardian_student.student_id,
    )
    return code


def link(db: Session, account: Account, guardian_id: int, method: str) -> bool:
    """Let `account` act for the guardian (who takes the account's saved language); True when
    the link is new."""
    existing = db.scalar(
        select(AccountGuardian).where(
            AccountGuardian.account_id == account.id, AccountGuardian.guardian_id == guardian_id
        )
    )
    if existing is not None:
        return False
    db.add(AccountGuardian(account_id=account.id, guardian_id=guardian_id, method=method))
    carry_to_guardian(db, account, guardian_id)
    db.flush()
    return True


@dataclass
class CodeResult:
    ok: bool
    reason: str = ""  # audit reason code when not ok
    board_id: int | None = None
    student_id: int | None = None


def redeem_enrolment_code(db: Session, account: Account, raw_code: str) -> CodeResult:
    """Check and use a code; on success the account acts for the code's guardian."""
    code = tokens.normalize_code(raw_code)
    if len(code.replace("-", "")) != CODE_LENGTH:
        return CodeResult(False, "malformed")
    found = tokens.look_up(db, ENROLMENT_PURPOSE, code)
    token = found.token
    if token is None or found.problem is not None:
        reason = found.problem.value if found.problem else "unknown"
        return CodeResult(False, reason, token.board_id if token else None)
    pair = db.execute(
        select(GuardianStudent.id)
        .join(Guardian, Guardian.id == GuardianStudent.guardian_id)
        .join(Student, Student.id == GuardianStudent.student_id)
        .where(
            GuardianStudent.guardian_id == token.guardian_id,
            GuardianStudent.student_id == token.student_id,
            GuardianStudent.status == "active",
            Guardian.status == "active",
            Student.status == "active",
        )
    ).first()
    if pair is None or token.guardian_id is None:
        return CodeResult(False, "roster_inactive", token.board_id)
    if not tokens.redeem(db, ENROLMENT_PURPOSE, code).ok:
        return CodeResult(False, "used", token.board_id)
    token.account_id = account.id
    link(db, account, token.guardian_id, "enrolment_code")
    record(
        db,
        "accounts.guardian_linked",
        actor=Actor.account(account.id),
        board_id=token.board_id,
        target_type="guardian",
        target_id=token.guardian_id,
        details={"method": "enrolment_code", "student_id": token.student_id, "token_id": token.id},
    )
    return CodeResult(True, board_id=token.board_id, student_id=token.student_id)


def _normalize_email(address: str) -> str:
    return address.strip().lower()


def guardians_with_email(db: Session, address: str, board_ids: set[int] | None = None) -> list[Guardian]:
    """Active roster guardians whose address on file equals `address` (case-insensitive)."""
    query = select(Guardian).where(
        func.lower(Guardian.email) == _normalize_email(address), Guardian.status == "active"
    )
    if board_ids is not None:
        if not board_ids:
            return []
        query = query.where(Guardian.board_id.in_(board_ids))
    return list(db.scalars(query.order_by(Guardian.id)))


def claims_email_verified(claims: dict[str, object]) -> bool:
    value = claims.get("email_verified")
    return value is True or (isinstance(value, str) and value.lower() == "true")


def auto_link_verified_email(
    db: Session, account: Account, provider_name: str, claims: dict[str, object]
) -> int:
    """Link guardians whose roster e-mail equals a verified e-mail from a trusted provider."""
    email = claims.get("email")
    if not isinstance(email, str) or not email or not claims_email_verified(claims):
        return 0
    boards = trusted_board_ids(db, provider_name)
    linked = 0
    for guardian in guardians_with_email(db, email, boards):
        if link(db, account, guardian.id, "verified_email"):
            linked += 1
            record(
                db,
                "accounts.guardian_linked",
                actor=Actor.account(account.id),
                board_id=guardian.board_id,
                target_type="guardian",
                target_id=guardian.id,
                details={"method": "verified_email", "provider": provider_name},
            )
    return linked

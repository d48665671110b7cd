"""Student accounts: a student provider's sign-in is matched to one roster student (ADR 0085).

The board's student provider names the board (`board`) and the claim that carries the
student's OneRoster sourcedId (`student_claim`). The match is made again at every sign-in,
so a student who left the roster (or moved to another board) stops seeing anything.
"""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from app.db import utcnow
from app.domain.accounts.models import Account, StudentAccount
from app.domain.boards.models import Board
from app.domain.people.models import Student


def match_student(db: Session, account: Account, *, board_code: str, roster_id: object) -> Student | None:
    """The active student of `board_code` whose sourcedId is `roster_id`, bound to `account`;
    None (and any earlier binding dropped) when there is no such student."""
    student = None
    if isinstance(roster_id, str) and roster_id.strip():
        student = db.scalar(
            select(Student)
            .join(Board, Board.id == Student.board_id)
            .where(
                Board.code == board_code,
                Student.sourced_id == roster_id.strip(),
                Student.status == "active",
            )
        )
    row = db.scalar(select(StudentAccount).where(StudentAccount.account_id == account.id))
    if student is None:
        if row is not None:
            db.execute(delete(StudentAccount).where(StudentAccount.id == row.id))
        db.flush()
        return None
    if row is None:
        db.add(StudentAccount(account_id=account.id, board_id=student.board_id, student_id=student.id))
    else:
        row.board_id, row.student_id, row.matched_at = student.board_id, student.id, utcnow()
    db.flush()
    return student


def student_id_for(db: Session, account_id: int) -> int | None:
    """The active roster student this account is, or None."""
    return db.scalar(
        select(StudentAccount.student_id)
        .join(Student, Student.id == StudentAccount.student_id)
        .where(StudentAccount.account_id == account_id, Student.status == "active")
    )


def student_board_ids(db: Session, account_id: int) -> set[int]:
    return set(db.scalars(select(StudentAccount.board_id).where(StudentAccount.account_id == account_id)))

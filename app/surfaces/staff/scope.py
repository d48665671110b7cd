"""Which board and schools a signed-in staff member may see, and what they may do.

Teachers and school admins see their school(s); board admins and auditors the whole
board. Auditors read only and never see student data. Anything out of scope answers
404 (never 403) so that ids reveal nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import HTTPException, Request
from sqlalchemy import ColumnElement

from app.domain.accounts.principal import Principal
from app.domain.people.models import Student

STUDENT_ROLES = ("board_admin", "school_admin", "teacher")


@dataclass(frozen=True)
class StaffScope:
    board_id: int
    account_id: int
    roles: frozenset[str]
    # None: every school of the board.
    school_ids: frozenset[int] | None
    # Schools where this person may record choices for guardians: only those where they are
    # an administrator (None: every school, for a board-wide administrator).
    recording_school_ids: frozenset[int] | None = frozenset()

    @property
    def is_board_admin(self) -> bool:
        return "board_admin" in self.roles

    @property
    def is_auditor(self) -> bool:
        return "auditor" in self.roles

    @property
    def sees_students(self) -> bool:
        return bool(self.roles & set(STUDENT_ROLES))

    @property
    def records_choices(self) -> bool:
        return self.recording_school_ids is None or bool(self.recording_school_ids)

    def records_choices_at(self, school_id: int) -> bool:
        return self.recording_school_ids is None or school_id in self.recording_school_ids

    @property
    def reads_audit_log(self) -> bool:
        return bool(self.roles & {"board_admin", "auditor"})

    def student_filter(self) -> ColumnElement[bool]:
        """A WHERE clause limiting students to this scope (board and schools)."""
        clause = Student.board_id == self.board_id
        if self.school_ids is not None:
            clause = clause & Student.school_id.in_(sorted(self.school_ids))
        return clause

    def covers_school(self, school_id: int) -> bool:
        return self.school_ids is None or school_id in self.school_ids


def scope_for(principal: Principal, request: Request | None = None) -> StaffScope:
    """The staff scope of `principal` in one board (`?board=` picks among several)."""
    boards = sorted(principal.board_ids)
    if not boards:
        raise HTTPException(status_code=404)
    board_id = boards[0]
    wanted = request.query_params.get("board") if request is not None else None
    if wanted and wanted.isdigit() and int(wanted) in boards:
        board_id = int(wanted)
    roles = frozenset(role.role for role in principal.roles if role.board_id == board_id)
    # Student-facing scope: board-wide only for board admins; auditors get no schools.
    student_roles = [r for r in principal.roles if r.board_id == board_id and r.role != "auditor"]
    board_wide = any(role.school_id is None for role in student_roles)
    schools = frozenset(role.school_id for role in student_roles if role.school_id is not None)
    admin_roles = [r for r in student_roles if r.role in ("board_admin", "school_admin")]
    recording_board_wide = any(role.school_id is None for role in admin_roles)
    recording_schools = frozenset(role.school_id for role in admin_roles if role.school_id is not None)
    return StaffScope(
        board_id=board_id,
        account_id=principal.account.id,
        roles=roles,
        school_ids=None if board_wide else schools,
        recording_school_ids=None if recording_board_wide else recording_schools,
    )


MAX_ID = 2**63 - 1


def bounded_int(text: str, maximum: int = MAX_ID) -> int | None:
    """A query-string number within 0..maximum, or None (never an overflow in the database)."""
    text = text.strip()
    if not text or len(text) > 19 or not (text.isascii() and text.isdigit()):
        return None
    value = int(text)
    return value if value <= maximum else None


def require(condition: bool) -> None:
    """Out of scope or not permitted: 404, never 403."""
    if not condition:
        raise HTTPException(status_code=404)

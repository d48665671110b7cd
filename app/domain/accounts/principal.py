"""Who is acting: a signed-in account, the guardians it acts for and its staff roles."""

from __future__ import annotations

from dataclasses import dataclass, field

from app.domain.accounts.models import Account, StaffRole, UserSession


@dataclass
class Principal:
    account: Account
    session: UserSession
    guardian_ids: list[int] = field(default_factory=list)
    roles: list[StaffRole] = field(default_factory=list)
    # A student account: the roster student it is (None when no longer on the roster).
    student_id: int | None = None

    @property
    def is_guardian(self) -> bool:
        return self.account.kind == "guardian"

    @property
    def is_student(self) -> bool:
        return self.account.kind == "student" and self.student_id is not None

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

"""Who is asking: the signed-in principal and the guards every router uses.

Access rules: a guardian sees only students linked (roster) to a guardian their account
acts for; staff see what their roles' scope covers. Anything else answers 404 — never
403 — so that ids of other families and boards reveal nothing.

Routes ask for what they need by type, and handler bodies check nothing themselves:

| dependency | who passes |
|---|---|
| `CurrentGuardian` | a signed-in guardian |
| `CurrentStudent` | a signed-in student matched to an active roster student (ADR 0085) |
| `AnyStaff` | anyone with a staff role at the board (catalogue reading, the console home) |
| `SchoolStaff` | teachers, school admins and board admins: student data of their schools |
| `ChoiceRecorder` | school admins and board admins: record a guardian's choice |
| `BoardReader` | board admins and auditors: API keys list, audit log |
| `BoardAdmin` | board admins: catalogue editing, API keys, roster, exports of the whole board |

"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request
from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from app.db import utcnow
from app.domain.accounts.models import StaffRole
from app.domain.accounts.principal import Principal
from app.domain.accounts.students import student_id_for
from app.domain.people.models import Guardian, Student
from app.domain.translations import service as translations
from app.errors import NotFound
from app.surfaces.dependencies import AppSettings, DbSession
from app.surfaces.sessions import load_session_and_guardians


def _use_translations(db: Session, principal: Principal) -> None:
    """The board content this request may show is read in the reader's language from the
    translations of the principal's boards (one statement, when first needed)."""
    boards: Any
    if principal.account.kind == "guardian":
        boards = select(Guardian.board_id).where(Guardian.id.in_(principal.guardian_ids or [0]))
    elif principal.account.kind == "student":
        boards = select(Student.board_id).where(Student.id == (principal.student_id or 0))
    else:
        boards = sorted({role.board_id for role in principal.roles})
    translations.use_for_boards(db, boards)


class NotSignedIn(Exception):
    """Raised by guards; the app answers with a redirect to the sign-in page."""


class StepUpRequired(Exception):
    """Raised by `RecentSignIn`; the app sends the person to their provider to authenticate
    again (`prompt=login`) and back to `next`."""

    def __init__(self, provider: str, next_path: str) -> None:
        super().__init__(provider)
        self.provider, self.next_path = provider, next_path


def load_principal(db: Session, request: Request, settings: AppSettings) -> Principal | None:
    found = load_session_and_guardians(db, request, settings)
    if found is None:
        return None
    row, guardian_ids = found
    account = row.account
    principal = Principal(account=account, session=row)
    if account.kind == "guardian":
        principal.guardian_ids = guardian_ids
    elif account.kind == "student":
        principal.student_id = student_id_for(db, account.id)
    else:
        principal.roles = list(
            db.scalars(
                select(StaffRole).where(StaffRole.account_id == account.id, StaffRole.revoked_at.is_(None))
            )
        )
        recheck = timedelta(minutes=settings.staff_group_recheck_minutes)
        if (
            any(r.source.startswith("group:") for r in principal.roles)
            and row.created_at + recheck <= utcnow()
        ):
            row.ended_at = utcnow()  # signing in again re-reads the provider's groups
            return None
    request.state.principal = principal
    _use_translations(db, principal)
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


def require_student(principal: Annotated[Principal, Depends(require_principal)]) -> Principal:
    if not principal.is_student:
        raise HTTPException(status_code=404)
    return principal


def require_staff(principal: Annotated[Principal, Depends(require_principal)]) -> Principal:
    if not principal.is_staff:
        raise HTTPException(status_code=404)
    return principal


def require_recent_sign_in(
    request: Request, principal: Annotated[Principal, Depends(require_staff)], settings: AppSettings
) -> Principal:
    """Student records and exports need a sign-in younger than STAFF_STEP_UP_MINUTES: an
    unattended, signed-in screen does not open them (seed 003: two factors per data item)."""
    provider = principal.account.provider_name
    fresh_for = timedelta(minutes=settings.staff_step_up_minutes)
    if settings.staff_step_up_minutes <= 0 or principal.session.created_at + fresh_for > utcnow():
        return principal
    if provider is None or settings.provider(provider) is None:
        raise NotSignedIn()
    raise StepUpRequired(provider, request.url.path)  # a POST comes back to its form


OptionalPrincipal = Annotated[Principal | None, Depends(optional_principal)]
RecentSignIn = Annotated[Principal, Depends(require_recent_sign_in)]
CurrentPrincipal = Annotated[Principal, Depends(require_principal)]
CurrentGuardian = Annotated[Principal, Depends(require_guardian)]
CurrentStaff = Annotated[Principal, Depends(require_staff)]
CurrentStudent = Annotated[Principal, Depends(require_student)]


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
        raise NotFound()
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


def _staff_scope(request: Request, principal: Annotated[Principal, Depends(require_staff)]) -> StaffScope:
    return scope_for(principal, request)


def _needs(allowed: Callable[[StaffScope], bool]) -> Callable[[StaffScope], StaffScope]:
    def dependency(scope: Annotated[StaffScope, Depends(_staff_scope)]) -> StaffScope:
        if not allowed(scope):
            raise NotFound()
        return scope

    return dependency


AnyStaff = Annotated[StaffScope, Depends(_staff_scope)]
SchoolStaff = Annotated[StaffScope, Depends(_needs(lambda scope: scope.sees_students))]
ChoiceRecorder = Annotated[
    StaffScope, Depends(_needs(lambda scope: scope.sees_students and scope.records_choices))
]
BoardReader = Annotated[StaffScope, Depends(_needs(lambda scope: scope.reads_audit_log))]
BoardAdmin = Annotated[StaffScope, Depends(_needs(lambda scope: scope.is_board_admin))]

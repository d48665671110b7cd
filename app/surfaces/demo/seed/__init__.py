"""`seed_demo(db)`: the demo board, modelled on the Saitama notice (seed 000).

Idempotent: the first call writes the board and everything under it; later calls find
the board (code "demo") and write nothing but a fresh enrolment code for the story
pair, because only the hash of a code is stored and the runner must print one
(ADR 0052). Flushes, never commits: the caller owns the transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.domain.accounts.models import StaffGroupMapping, StaffRole
from app.domain.audit import service as audit
from app.domain.boards.models import Board, BoardProviderSetting
from app.domain.catalog import catalogue_file, catalogue_import
from app.domain.catalog.models import ChoiceDefinition, Service
from app.domain.choices.models import CurrentChoice
from app.domain.people.models import Guardian, GuardianStudent, School, SchoolClass, SchoolYear, Student
from app.domain.tokens import service as tokens
from app.domain.tokens.models import OneTimeToken
from app.domain.translations import service as translations
from app.resources import DEMO_DIR
from app.surfaces.demo import identities as ids
from app.surfaces.demo.seed import texts
from app.surfaces.demo.seed.paper_choices import seed_paper_choices
from app.surfaces.demo.seed.roster import FamilySpec, build_families

ENROLMENT_CODE_TTL = timedelta(days=90)
STORY_GUARDIAN_SOURCED_ID = "demo-g-0001"
# Families whose children start with no choices (the code, verified-e-mail, e-mail-link
# and unverified stories).
STORY_GUARDIAN_SOURCED_IDS = ("demo-g-0001", "demo-g-0002", "demo-g-0003", "demo-g-0004")
STORY_STUDENT_SOURCED_ID = "demo-s-0001"
SCHOOL_YEAR = 2026


@dataclass(frozen=True)
class DemoSummary:
    board_id: int
    created: bool
    schools: int
    classes: int
    students: int
    guardians: int
    guardian_links: int
    services: int
    choice_definitions: int
    effective_choices: int
    staff_invitations: int
    # The code story: this guardian–student pair's one valid enrolment code.
    enrolment_code: str
    code_guardian_id: int
    code_student_id: int
    code_student_name: str
    code_student_class: str


def seed_demo(db: Session) -> DemoSummary:
    board = db.scalar(select(Board).where(Board.code == ids.BOARD_CODE))
    created = board is None
    if board is None:
        board = _create_board(db)
    summary = _summarize(db, board, created)
    audit.record(
        db,
        "demo.seeded" if created else "demo.enrolment_code_reissued",
        actor=audit.CLI,
        board_id=board.id,
        target_type="board",
        target_id=board.id,
        details={"students": summary.students, "guardians": summary.guardians, "services": summary.services},
    )
    return summary


def _create_board(db: Session) -> Board:
    board = Board(code=ids.BOARD_CODE, **{k: v for k, v in texts.BOARD.items() if k != "name_en"})
    db.add(board)
    db.flush()
    translations.save(db, board.id, "boards", board.id, {"en": {"name": texts.BOARD["name_en"]}})
    db.add(
        BoardProviderSetting(
            board_id=board.id, provider_name=ids.GUARDIAN_PROVIDER, trust_verified_email=True
        )
    )
    schools = _create_schools(db, board)
    _create_roster(db, board, schools)
    _create_catalogue(db, board)
    story = db.scalars(
        select(GuardianStudent.student_id)
        .join(Guardian, Guardian.id == GuardianStudent.guardian_id)
        .where(Guardian.board_id == board.id, Guardian.sourced_id.in_(STORY_GUARDIAN_SOURCED_IDS))
    )
    seed_paper_choices(db, board.id, set(story))
    _create_staff(db, board, schools)
    return board


def _create_schools(db: Session, board: Board) -> dict[str, School]:
    schools = {
        kind: School(board_id=board.id, **{k: v for k, v in spec.items() if k != "name_en"})
        for kind, spec in texts.SCHOOLS.items()
    }
    db.add_all(schools.values())
    db.flush()
    for kind, school in schools.items():
        translations.save(
            db, board.id, "schools", school.id, {"en": {"name": texts.SCHOOLS[kind]["name_en"]}}
        )
    return schools


def _create_roster(db: Session, board: Board, schools: dict[str, School]) -> None:
    year = SchoolYear(
        board_id=board.id,
        sourced_id=f"demo-year-{SCHOOL_YEAR}",
        title=f"{SCHOOL_YEAR}年度",
        year=SCHOOL_YEAR,
        start_date=date(SCHOOL_YEAR, 4, 1),
        end_date=date(SCHOOL_YEAR + 1, 3, 31),
    )
    db.add(year)
    db.flush()
    families = build_families()
    classes: dict[tuple[str, str, int], SchoolClass] = {}
    for family in families:
        for child in family.children:
            key = (child.slot.school, child.slot.grade, child.slot.homeroom)
            if key not in classes:
                classes[key] = SchoolClass(
                    board_id=board.id,
                    school_id=schools[child.slot.school].id,
                    school_year_id=year.id,
                    sourced_id=f"demo-c-{child.slot.grade}-{child.slot.homeroom}",
                    title=f"{int(child.slot.grade[1:])}年{child.slot.homeroom}組",
                    grade=child.slot.grade,
                )
    db.add_all(classes.values())
    db.flush()
    students, guardians = _people(board, schools, classes, families)
    db.add_all([*students.values(), *guardians.values()])
    db.flush()
    for family in families:
        for guardian in family.guardians:
            for child in family.children:
                db.add(
                    GuardianStudent(
                        guardian_id=guardians[guardian.number].id, student_id=students[child.number].id
                    )
                )
    db.flush()


def _people(
    board: Board,
    schools: dict[str, School],
    classes: dict[tuple[str, str, int], SchoolClass],
    families: list[FamilySpec],
) -> tuple[dict[int, Student], dict[int, Guardian]]:
    students: dict[int, Student] = {}
    guardians: dict[int, Guardian] = {}
    for family in families:
        for child in family.children:
            school_class = classes[(child.slot.school, child.slot.grade, child.slot.homeroom)]
            students[child.number] = Student(
                board_id=board.id,
                school_id=schools[child.slot.school].id,
                class_id=school_class.id,
                sourced_id=f"demo-s-{child.number:04d}",
                family_name=child.family_name[0],
                given_name=child.given_name[0],
                family_name_kana=child.family_name[1],
                given_name_kana=child.given_name[1],
                grade=child.slot.grade,
            )
        for spec in family.guardians:
            guardians[spec.number] = Guardian(
                board_id=board.id,
                sourced_id=f"demo-g-{spec.number:04d}",
                family_name=spec.family_name[0],
                given_name=spec.given_name[0],
                family_name_kana=spec.family_name[1],
                given_name_kana=spec.given_name[1],
                email=spec.email,
                preferred_language=spec.language,
            )
    # 出席番号: in kana order within each homeroom, as schools number them.
    by_class: dict[int, list[Student]] = {}
    for student in students.values():
        by_class.setdefault(student.class_id or 0, []).append(student)
    for members in by_class.values():
        members.sort(key=lambda s: (s.family_name_kana, s.given_name_kana, s.sourced_id))
        for number, student in enumerate(members, start=1):
            student.attendance_number = number
    return students, guardians


def _create_catalogue(db: Session, board: Board) -> None:
    """The demo catalogue file, through the same import as `portal catalogue import`."""
    raw = (DEMO_DIR / "catalogue.yaml").read_bytes()
    spec = catalogue_file.read_document(db, board.id, raw, "catalogue.yaml")
    catalogue_import.apply(db, catalogue_import.plan(db, board.id, spec), actor=audit.SYSTEM)


def _create_staff(db: Session, board: Board, schools: dict[str, School]) -> None:
    """Invitations (bound to an account at first sign-in by e-mail) and one group mapping."""
    elementary, junior = schools["elementary"].id, schools["junior_high"].id
    for email, role, school_id in (
        (ids.BOARD_ADMIN_EMAIL, "board_admin", None),
        (ids.ELEMENTARY_ADMIN_EMAIL, "school_admin", elementary),
        (ids.JUNIOR_ADMIN_EMAIL, "school_admin", junior),
        (ids.TEACHER_EMAIL, "teacher", elementary),
        (ids.AUDITOR_EMAIL, "auditor", None),
    ):
        db.add(StaffRole(board_id=board.id, school_id=school_id, invited_email=email, role=role))
    db.add(
        StaffGroupMapping(
            board_id=board.id,
            provider_name=ids.STAFF_PROVIDER,
            group_value=ids.TEACHER_GROUP,
            role="teacher",
            school_id=junior,
        )
    )
    db.flush()


def _fresh_enrolment_code(db: Session, board: Board, guardian: Guardian, student: Student) -> str:
    """Revoke the pair's unused codes and issue one more (only its hash is stored)."""
    for token in db.scalars(
        select(OneTimeToken).where(
            OneTimeToken.purpose == "enrolment_code",
            OneTimeToken.guardian_id == guardian.id,
            OneTimeToken.student_id == student.id,
        )
    ):
        tokens.revoke(db, token)
    code, _token = tokens.issue(
        db,
        "enrolment_code",
        ENROLMENT_CODE_TTL,
        secret=tokens.new_human_code(),
        board_id=board.id,
        guardian_id=guardian.id,
        student_id=student.id,
    )
    return code


def _count(db: Session, query: object) -> int:
    return int(db.scalar(query) or 0)  # type: ignore[call-overload]


def _summarize(db: Session, board: Board, created: bool) -> DemoSummary:
    guardian = db.scalar(
        select(Guardian).where(
            Guardian.board_id == board.id, Guardian.sourced_id == STORY_GUARDIAN_SOURCED_ID
        )
    )
    student = db.scalar(
        select(Student).where(Student.board_id == board.id, Student.sourced_id == STORY_STUDENT_SOURCED_ID)
    )
    if guardian is None or student is None:
        raise RuntimeError(
            "the demo board exists but its story family is missing; delete demo-data and retry"
        )
    school_class = db.get(SchoolClass, student.class_id) if student.class_id else None
    school = db.get(School, student.school_id)
    code = _fresh_enrolment_code(db, board, guardian, student)
    return DemoSummary(
        board_id=board.id,
        created=created,
        schools=_count(db, select(func.count(School.id)).where(School.board_id == board.id)),
        classes=_count(db, select(func.count(SchoolClass.id)).where(SchoolClass.board_id == board.id)),
        students=_count(db, select(func.count(Student.id)).where(Student.board_id == board.id)),
        guardians=_count(db, select(func.count(Guardian.id)).where(Guardian.board_id == board.id)),
        guardian_links=_count(
            db,
            select(func.count(GuardianStudent.id))
            .join(Student, Student.id == GuardianStudent.student_id)
            .where(Student.board_id == board.id),
        ),
        services=_count(db, select(func.count(Service.id)).where(Service.board_id == board.id)),
        choice_definitions=_count(
            db, select(func.count(ChoiceDefinition.id)).where(ChoiceDefinition.board_id == board.id)
        ),
        effective_choices=_count(
            db, select(func.count(CurrentChoice.id)).where(CurrentChoice.board_id == board.id)
        ),
        staff_invitations=_count(
            db,
            select(func.count(StaffRole.id)).where(
                StaffRole.board_id == board.id, StaffRole.invited_email.is_not(None)
            ),
        ),
        enrolment_code=code,
        code_guardian_id=guardian.id,
        code_student_id=student.id,
        code_student_name=student.full_name,
        code_student_class=" ".join(
            x for x in (school.name if school else "", school_class.title if school_class else "") if x
        ),
    )

"""Small factories for guardian tests: a board with schools, families, services and choices.

Independent of the demo seeder; every row is written the way the real code reads it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import count
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.domain.accounts.models import Account, AccountGuardian
from app.domain.audit.service import Actor
from app.domain.boards.models import Board
from app.domain.catalog.models import (
    ChoiceDefinition,
    DataCategory,
    NoticeVersion,
    Service,
    ServiceAssignment,
    ServicePurpose,
    ServiceVersion,
    ServiceVersionCategory,
    Subcontractor,
)
from app.domain.people.models import Guardian, GuardianStudent, School, SchoolClass, Student
from tests.helpers import pop_english, translate

_ids = count(1)

DASHBOARD_HIDEABLE = ["grades", "guidance", "health_attendance", "learning_records", "activity_media"]


def _n() -> int:
    return next(_ids)


def make_board(db: Session, *, code: str | None = None, name: str = "さいたま市教育委員会") -> Board:
    board = Board(
        code=code or f"board{_n()}",
        name=name,
        contact_email="kyoiku@city.example.jp",
        contact_phone="048-000-0000",
        jurisdiction="JP-11",
    )
    db.add(board)
    db.flush()
    translate(db, board, name="Saitama City Board of Education")
    return board


def make_school(
    db: Session, board: Board, *, name: str = "さくら小学校", name_en: str = "Sakura Elementary"
) -> School:
    n = _n()
    school = School(board_id=board.id, sourced_id=f"org-{n}", code=f"S{n}", name=name)
    db.add(school)
    db.flush()
    if name_en:
        translate(db, school, name=name_en)
    return school


def make_class(db: Session, school: School, *, grade: str = "P3", title: str = "3年2組") -> SchoolClass:
    row = SchoolClass(
        board_id=school.board_id, school_id=school.id, sourced_id=f"class-{_n()}", title=title, grade=grade
    )
    db.add(row)
    db.flush()
    return row


def make_student(
    db: Session,
    school: School,
    *,
    family: str = "山田",
    given: str = "花子",
    grade: str = "P3",
    school_class: SchoolClass | None = None,
) -> Student:
    student = Student(
        board_id=school.board_id,
        school_id=school.id,
        class_id=school_class.id if school_class else None,
        sourced_id=f"stu-{_n()}",
        family_name=family,
        given_name=given,
        family_name_kana="ヤマダ",
        given_name_kana="ハナコ",
        grade=grade,
    )
    db.add(student)
    db.flush()
    return student


def make_guardian(
    db: Session,
    board: Board,
    *,
    family: str = "山田",
    given: str = "太郎",
    email: str | None = None,
    language: str = "ja",
) -> Guardian:
    n = _n()
    guardian = Guardian(
        board_id=board.id,
        sourced_id=f"grd-{n}",
        family_name=family,
        given_name=given,
        email=email if email is not None else f"guardian{n}@example.jp",
        preferred_language=language,
    )
    db.add(guardian)
    db.flush()
    return guardian


def link(db: Session, guardian: Guardian, *students: Student) -> None:
    for student in students:
        db.add(GuardianStudent(guardian_id=guardian.id, student_id=student.id))
    db.flush()


def make_account(db: Session, *guardians: Guardian, email: str = "idp-address@example.com") -> Account:
    """A guardian account (as OIDC sign-in would create) acting for these roster guardians."""
    account = Account(
        issuer="https://idp.example.test",
        subject=f"sub-{_n()}",
        provider_name="demo",
        kind="guardian",
        email=email,
        email_verified=True,
    )
    db.add(account)
    db.flush()
    for guardian in guardians:
        db.add(AccountGuardian(account_id=account.id, guardian_id=guardian.id, method="enrolment_code"))
    db.flush()
    return account


def make_staff_account(db: Session) -> Account:
    account = Account(issuer="https://idp.example.test", subject=f"staff-{_n()}", kind="staff")
    db.add(account)
    db.flush()
    return account


def category(db: Session, code: str) -> DataCategory:
    row = db.scalar(select(DataCategory).where(DataCategory.code == code))
    assert row is not None, f"vocabulary lacks {code}"
    return row


def version_facts(**overrides: Any) -> dict[str, Any]:
    facts: dict[str, Any] = {
        "name": "スクールダッシュボード",
        "name_en": "School Dashboard",
        "use_group": "dashboard",
        "description": "学習の記録を教員が一覧で確認します。",
        "description_en": "Teachers see learning records at a glance.",
        "vendor_name": "さいたま市教育研究所",
        "vendor_name_en": "Saitama City Education Research Institute",
        "policy_url": "https://vendor.example.jp/privacy",
        "certifications": ["ISMS", "PrivacyMark"],
        "data_centre_country": "JP",
        "governing_law": "日本法",
        "governing_law_en": "Japanese law",
        "court": "さいたま地方裁判所",
        "court_en": "Saitama District Court",
        "backup_retention_days": 30,
        "anonymized_statistics": "produced",
    }
    facts.update(overrides)
    return facts


@dataclass
class SubSpec:
    name: str
    task: str = "データセンターの運用"
    data_items: str = "氏名、ID"
    country: str = "JP"
    certifications: list[str] = field(default_factory=lambda: ["ISMAP"])
    children: list[SubSpec] = field(default_factory=list)


def add_version(
    db: Session,
    service: Service,
    *,
    categories: dict[str, str],
    purposes: list[tuple[str, str | None]],
    subcontractors: list[SubSpec] | None = None,
    **facts: Any,
) -> ServiceVersion:
    """Publish version n+1 of `service` (categories: code → items; purposes: (text, use))."""
    latest = db.scalar(
        select(ServiceVersion.version)
        .where(ServiceVersion.service_id == service.id)
        .order_by(ServiceVersion.version.desc())
        .limit(1)
    )
    values = version_facts(**facts)
    english = pop_english(values)
    version = ServiceVersion(service_id=service.id, version=(latest or 0) + 1, **values)
    db.add(version)
    db.flush()
    if english:
        translate(db, version, board_id=service.board_id, **english)
    for code, items in categories.items():
        db.add(
            ServiceVersionCategory(
                service_version_id=version.id, category_id=category(db, code).id, items=items
            )
        )
    for order, (text, use) in enumerate(purposes):
        db.add(ServicePurpose(service_version_id=version.id, text=text, permitted_use=use, sort_order=order))

    def add_subs(specs: list[SubSpec], parent: Subcontractor | None) -> None:
        for order, spec in enumerate(specs):
            sub = Subcontractor(
                service_version_id=version.id,
                parent_id=parent.id if parent else None,
                name=spec.name,
                task=spec.task,
                data_items=spec.data_items,
                country=spec.country,
                certifications=spec.certifications,
                sort_order=order,
            )
            db.add(sub)
            db.flush()
            add_subs(spec.children, sub)

    add_subs(subcontractors or [], None)
    db.flush()
    return version


def make_service(
    db: Session,
    board: Board,
    *,
    code: str,
    school: School | None = None,
    categories: dict[str, str] | None = None,
    purposes: list[tuple[str, str | None]] | None = None,
    subcontractors: list[SubSpec] | None = None,
    **facts: Any,
) -> Service:
    """A service with version 1, assigned to a school (or the whole board)."""
    service = Service(board_id=board.id, code=code)
    db.add(service)
    db.flush()
    add_version(
        db,
        service,
        categories=categories or {"identity": "氏名、学年・組・出席番号"},
        purposes=purposes or [("学習状況の把握のため", None), ("不具合対応のため", "c")],
        subcontractors=subcontractors,
        **facts,
    )
    db.add(ServiceAssignment(service_id=service.id, school_id=school.id if school else None))
    db.flush()
    return service


def make_dashboard_choice(db: Session, service: Service) -> ChoiceDefinition:
    definition = ChoiceDefinition(
        board_id=service.board_id,
        service_id=service.id,
        code="dashboard_display",
        kind="categories",
        options=["show", "hide_all", "hide_some"],
        default_value="show",
        category_codes=list(DASHBOARD_HIDEABLE),
        label="スクールダッシュボードでの表示",
        explanation="非表示にすると、教員のダッシュボードにお子さまのデータが表示されなくなります。",
    )
    db.add(definition)
    db.flush()
    translate(
        db,
        definition,
        label="Display on the School Dashboard",
        explanation="If hidden, your child's data is not shown on teachers' dashboards.",
    )
    return definition


def make_photo_choice(db: Session, service: Service) -> ChoiceDefinition:
    definition = ChoiceDefinition(
        board_id=service.board_id,
        service_id=service.id,
        code="class_photos",
        kind="toggle",
        options=["allow", "deny"],
        default_value="allow",
        label="クラスの共有スペースでの写真・動画",
        explanation="「許可しない」にすると、お子さまが写った写真や動画はクラス全体に共有されません。",
    )
    db.add(definition)
    db.flush()
    translate(
        db,
        definition,
        label="Photos and video in shared class spaces",
        explanation="With “do not allow”, photos and video of your child are not shared with the class.",
    )
    return definition


def make_notice(db: Session, board: Board) -> NoticeVersion:
    latest = db.scalar(
        select(NoticeVersion.version)
        .where(NoticeVersion.board_id == board.id)
        .order_by(NoticeVersion.version.desc())
        .limit(1)
    )
    version = (latest or 0) + 1
    notice = NoticeVersion(
        board_id=board.id,
        version=version,
        title=f"児童生徒の個人情報の取扱いについて（第{version}版）",
    )
    db.add(notice)
    db.flush()
    translate(db, notice, title=f"How student data is handled (version {version})")
    return notice


@dataclass
class World:
    """Two families at one board, and one family at another board."""

    board: Board
    school: School
    hanako: Student  # child of mother (account) and father
    jiro: Student  # Hanako's younger brother, same guardians
    mother: Guardian
    father: Guardian
    account: Account  # the mother's sign-in
    father_account: Account
    other_child: Student  # another family
    other_guardian: Guardian
    other_account: Account
    dashboard: Service
    learning: Service
    dashboard_choice: ChoiceDefinition
    photo_choice: ChoiceDefinition
    notice: NoticeVersion
    foreign_board: Board
    foreign_choice: ChoiceDefinition
    admin: Account  # a staff account that publishes catalogue versions

    @property
    def admin_actor(self) -> Actor:
        return Actor.account(self.admin.id)


def build_world(db: Session) -> World:
    board = make_board(db)
    school = make_school(db, board)
    cls = make_class(db, school)
    hanako = make_student(db, school, given="花子", grade="P3", school_class=cls)
    jiro = make_student(db, school, given="次郎", grade="P1")
    mother = make_guardian(db, board, given="洋子", email="yoko.yamada@example.jp")
    father = make_guardian(db, board, given="太郎", email="taro.yamada@example.jp", language="en")
    link(db, mother, hanako, jiro)
    link(db, father, hanako, jiro)
    other_child = make_student(db, school, family="佐藤", given="健太", grade="P3")
    other_guardian = make_guardian(db, board, family="佐藤", given="美咲", email="misaki.sato@example.jp")
    link(db, other_guardian, other_child)
    dashboard = make_service(
        db,
        board,
        code="dashboard",
        categories={
            "identity": "氏名、学年・組・出席番号",
            "grades": "評価・評定",
            "health_attendance": "出欠席・保健室利用記録",
        },
        subcontractors=[
            SubSpec(
                "クラウド基盤株式会社",
                children=[SubSpec("データ保守サービス株式会社", task="バックアップの保守")],
            )
        ],
    )
    learning = make_service(
        db,
        board,
        code="teams",
        school=school,
        name="Microsoft Teams",
        name_en="Microsoft Teams",
        use_group="learning",
        vendor_name="日本マイクロソフト株式会社",
        vendor_name_en="Microsoft Japan",
        certifications=["ISMAP"],
        categories={"identity": "氏名、ID", "activity_media": "授業の写真・動画"},
    )
    dashboard_choice = make_dashboard_choice(db, dashboard)
    photo_choice = make_photo_choice(db, learning)
    notice = make_notice(db, board)
    foreign_board = make_board(db, name="戸田市教育委員会")
    foreign_service = make_service(db, foreign_board, code="dashboard")
    foreign_choice = make_dashboard_choice(db, foreign_service)
    world = World(
        board=board,
        school=school,
        hanako=hanako,
        jiro=jiro,
        mother=mother,
        father=father,
        account=make_account(db, mother),
        father_account=make_account(db, father),
        other_child=other_child,
        other_guardian=other_guardian,
        other_account=make_account(db, other_guardian),
        dashboard=dashboard,
        learning=learning,
        dashboard_choice=dashboard_choice,
        photo_choice=photo_choice,
        notice=notice,
        foreign_board=foreign_board,
        foreign_choice=foreign_choice,
        admin=make_staff_account(db),
    )
    db.commit()
    return world

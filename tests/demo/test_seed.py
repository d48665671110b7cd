"""The demo seed gives each story what it needs (one seeded board, read-only tests)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.db import Database
from app.domain.accounts.models import StaffGroupMapping, StaffRole
from app.domain.boards.models import BoardProviderSetting
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
from app.domain.choices.models import ChoiceEvent, CurrentChoice
from app.domain.people.models import Guardian, GuardianStudent, School, SchoolClass, Student
from app.domain.translations import service as translations
from app.surfaces.demo import identities as ids
from app.surfaces.demo.seed import DemoSummary, seed_demo
from tests.conftest import _wipe


@pytest.fixture(scope="module")
def seeded(database: Database) -> Iterator[tuple[Session, DemoSummary]]:
    """One seeded board for this module's read-only tests (seeding takes about a second)."""
    session = database.session()
    summary = seed_demo(session)
    session.commit()
    yield session, summary
    session.close()
    _wipe(database)


@pytest.fixture
def db(seeded: tuple[Session, DemoSummary]) -> Session:
    return seeded[0]


@pytest.fixture
def summary(seeded: tuple[Session, DemoSummary]) -> DemoSummary:
    return seeded[1]


LEARNING = {
    "Microsoft Teams",
    "Microsoft Forms（学習用）",
    "Canva for Education",
    "L-Gate",
    "Adobe Creative（Adobe Express 等）",
    "ミライシード",
    "Pre-Post",
    "エンサップ",
    "Kahoot!",
}


def _versions(db: Session) -> dict[str, ServiceVersion]:
    rows = db.execute(select(Service.code, ServiceVersion).join(ServiceVersion.service)).all()
    return {code: version for code, version in rows}


def _categories(db: Session, version: ServiceVersion) -> set[str]:
    return set(
        db.scalars(
            select(DataCategory.code)
            .join(ServiceVersionCategory, ServiceVersionCategory.category_id == DataCategory.id)
            .where(ServiceVersionCategory.service_version_id == version.id)
        )
    )


def test_services_grouped_by_use_as_in_the_saitama_notice(db: Session) -> None:
    versions = _versions(db)
    groups: dict[str, set[str]] = {}
    for version in versions.values():
        assert version.version == 1
        groups.setdefault(version.use_group, set()).add(version.name)
    assert groups["learning"] == LEARNING
    assert groups["home_contact"] == {"Microsoft Forms（家庭連絡用）", "E-tra ノート"}
    assert groups["survey"] == {"L-Gate（学習状況調査）"}
    assert groups["dashboard"] == {"とびら市スクールダッシュボード"}
    english = translations.of_entities(db, "service_versions", [v.id for v in versions.values()], ["en"])
    for version in versions.values():
        assert {"name", "description", "vendor_name"} <= set(english[version.id]["en"])
        assert "identity" in _categories(db, version) or version.use_group == "survey"
    assert _categories(db, versions["school-dashboard"]) == {
        "identity",
        "credentials",
        "grades",
        "guidance",
        "health_attendance",
        "learning_records",
        "activity_media",
    }
    assert "survey_answers" in _categories(db, versions["l-gate-survey"])
    assert "home_contact" in _categories(db, versions["etra-note"])
    assert "activity_media" in _categories(db, versions["microsoft-teams"])
    items = db.scalars(
        select(ServiceVersionCategory).where(
            ServiceVersionCategory.service_version_id == versions["l-gate"].id
        )
    ).all()
    items_en = translations.of_entities(db, "service_version_categories", [i.id for i in items], ["en"])
    assert all(item.items and items_en[item.id]["en"]["items"] for item in items)


def test_every_service_carries_permitted_uses_and_vendor_facts(db: Session) -> None:
    for code, version in _versions(db).items():
        uses = db.scalars(
            select(ServicePurpose.permitted_use).where(ServicePurpose.service_version_id == version.id)
        ).all()
        assert sorted(u for u in uses if u) == ["a", "b", "c", "d", "e"], code
        assert None in uses, f"{code} has no main purpose"
        assert version.backup_retention_days == 30
        assert version.erased_at_graduation and version.erased_at_contract_end
        assert version.subcontracting_requires_approval and version.no_advertising and version.no_profiling
        assert version.certifications
    dashboard = _versions(db)["school-dashboard"]
    chain = db.scalars(select(Subcontractor).where(Subcontractor.service_version_id == dashboard.id)).all()
    contractor = next(s for s in chain if s.parent_id is None)
    assert [s.name for s in chain if s.parent_id == contractor.id] == ["株式会社とびらデータセンター（架空）"]


def test_notice_version_maps_every_service_to_its_published_version(
    db: Session, summary: DemoSummary
) -> None:
    notice = db.scalar(select(NoticeVersion).where(NoticeVersion.board_id == summary.board_id))
    assert notice is not None and notice.version == 1
    english = translations.of_entities(db, "notice_versions", [notice.id], ["en"])[notice.id]["en"]
    assert english["title"] and english["body"]
    expected = {str(v.service_id): v.id for v in _versions(db).values()}
    assert notice.catalogue["service_versions"] == expected


def test_choice_definitions_for_the_dashboard_and_class_photos(db: Session) -> None:
    rows = db.execute(
        select(Service.code, ChoiceDefinition).join(Service, Service.id == ChoiceDefinition.service_id)
    )
    definitions = {definition.code: (code, definition) for code, definition in rows}
    service, dashboard = definitions["dashboard_display"]
    assert service == "school-dashboard"
    assert (dashboard.kind, dashboard.options, dashboard.default_value) == (
        "categories",
        ["show", "hide_all", "hide_some"],
        "show",
    )
    assert dashboard.category_codes == [
        "grades",
        "guidance",
        "health_attendance",
        "learning_records",
        "activity_media",
    ]
    english = translations.of_entities(db, "choice_definitions", [dashboard.id], ["en"])[dashboard.id]["en"]
    assert dashboard.explanation and english["explanation"] and english["label"]
    service, photos = definitions["class_photos"]
    assert service == "microsoft-teams"
    assert (photos.kind, photos.options, photos.default_value) == ("toggle", ["allow", "deny"], "allow")
    english = translations.of_entities(db, "choice_definitions", [photos.id], ["en"])[photos.id]["en"]
    assert "写真" in photos.explanation and "photos" in english["explanation"]


def test_roster_two_schools_about_200_students_and_their_guardians(db: Session, summary: DemoSummary) -> None:
    assert (summary.schools, summary.students) == (2, 200)
    grades = dict(
        db.execute(
            select(School.kind, func.count(Student.id))
            .join(Student, Student.school_id == School.id)
            .group_by(School.kind)
        ).all()
    )
    assert grades == {"elementary": 120, "junior_high": 80}
    grade_codes = set(db.scalars(select(SchoolClass.grade)))
    assert grade_codes == {"P1", "P2", "P3", "P4", "P5", "P6", "J1", "J2", "J3"}
    students = db.scalars(select(Student)).all()
    assert all(s.family_name_kana and s.given_name_kana and s.class_id for s in students)
    by_class: dict[int | None, list[int]] = {}
    for student in students:
        by_class.setdefault(student.class_id, []).append(student.attendance_number or 0)
    assert all(sorted(numbers) == list(range(1, len(numbers) + 1)) for numbers in by_class.values())
    links = db.execute(select(GuardianStudent.student_id, GuardianStudent.guardian_id)).all()
    per_student = Counter(student for student, _ in links)
    per_guardian = Counter(guardian for _, guardian in links)
    assert set(per_student.values()) == {1, 2} and len(per_student) == 200
    assert max(per_guardian.values()) == 2  # siblings share their guardians
    emails = [e for e in db.scalars(select(Guardian.email)) if e]
    assert len(emails) == len(set(emails)) and summary.guardians - len(emails) == 3


def test_story_identities_match_the_roster_and_invitations(db: Session, summary: DemoSummary) -> None:
    by_sub = {identity.sub: identity for identity in ids.IDENTITIES}
    code_student_guardians = set(
        db.scalars(
            select(Guardian.email)
            .join(GuardianStudent, GuardianStudent.guardian_id == Guardian.id)
            .where(GuardianStudent.student_id == summary.code_student_id)
        )
    )
    # The letter guardian signs in with a private address; the second one's verified e-mail matches.
    assert by_sub["guardian-with-letter"].email not in code_student_guardians
    assert ids.CODE_GUARDIAN_EMAIL in code_student_guardians
    verified = by_sub["guardian-verified-email"]
    assert verified.email_verified and verified.email in code_student_guardians
    assert not by_sub["guardian-unverified-email"].email_verified
    setting = db.scalar(select(BoardProviderSetting).where(BoardProviderSetting.board_id == summary.board_id))
    assert (
        setting is not None
        and setting.provider_name == ids.GUARDIAN_PROVIDER
        and setting.trust_verified_email
    )
    # The code guardian has two children, one in each school (switching between children).
    children = db.scalars(
        select(Student.grade)
        .join(GuardianStudent, GuardianStudent.student_id == Student.id)
        .where(GuardianStudent.guardian_id == summary.code_guardian_id)
    ).all()
    assert sorted(g or "" for g in children) == ["J2", "P4"]
    invitations = db.scalars(select(StaffRole)).all()
    assert all(role.account_id is None for role in invitations)
    staff_emails = {i.email for i in ids.identities_for("staff") if not i.groups}
    assert {role.invited_email for role in invitations} == staff_emails
    roles = Counter((role.role, role.school_id is None) for role in invitations)
    assert roles == Counter(
        {("board_admin", True): 1, ("school_admin", False): 2, ("teacher", False): 1, ("auditor", True): 1}
    )
    mapping = db.scalar(select(StaffGroupMapping))
    assert (
        mapping is not None
        and mapping.group_value == ids.TEACHER_GROUP
        and mapping.provider_name == ids.STAFF_PROVIDER
    )


def test_some_services_cover_only_junior_high(db: Session) -> None:
    rows = db.execute(
        select(Service.code, School.kind, ServiceAssignment.grade_from, ServiceAssignment.grade_to)
        .join(Service, Service.id == ServiceAssignment.service_id)
        .outerjoin(School, School.id == ServiceAssignment.school_id)
    ).all()
    rules: dict[str, list[tuple[str | None, str | None, str | None]]] = {}
    for code, kind, grade_from, grade_to in rows:
        rules.setdefault(code, []).append((kind, grade_from, grade_to))
    assert rules["kahoot"] == [("junior_high", "J1", "J3")]
    assert rules["school-dashboard"] == [(None, None, None)]
    assert len(rules) == 13


def test_some_families_already_chose_on_paper_but_not_the_story_family(
    db: Session, summary: DemoSummary
) -> None:
    current = db.scalars(select(CurrentChoice)).all()
    assert summary.effective_choices == len(current) > 20
    values = Counter(c.value for c in current)
    assert values["hide_all"] and values["hide_some"] and values["deny"]
    for choice in current:
        confirmed = db.get(ChoiceEvent, choice.event_id)
        assert confirmed is not None and confirmed.kind == "confirmed" and confirmed.receipt_id
        requested = db.get(ChoiceEvent, confirmed.request_id)
        assert requested is not None and requested.kind == "requested"
        assert (requested.value, requested.channel) == (choice.value, "paper") == (confirmed.value, "paper")
        assert confirmed.guardian_id is not None and confirmed.notice_version_id is not None
        if choice.value == "hide_some":
            assert choice.category_codes == ["grades", "guidance"]
    story_children = set(
        db.scalars(
            select(GuardianStudent.student_id)
            .join(Guardian, Guardian.id == GuardianStudent.guardian_id)
            .where(Guardian.email.in_([ids.guardian_email(n) for n in range(1, 5)]))
        )
    )
    assert story_children and not story_children & {c.student_id for c in current}


def test_demo_student_identities_are_the_story_children_or_no_one(db: Session) -> None:
    """The students' provider signs in the story family's children (P4 with furigana, J2
    without) and one account the roster does not name (ADR 0085)."""
    found = {
        s.sourced_id: s.grade
        for s in db.scalars(
            select(Student).where(
                Student.sourced_id.in_([i.roster_id for i in ids.identities_for("student")])
            )
        )
    }
    assert found == {"demo-s-0001": "P4", "demo-s-0002": "J2"}

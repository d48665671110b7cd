from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.domain.audit.models import AuditEvent
from app.domain.audit.service import CLI
from app.domain.boards.models import Board
from app.domain.catalog import service as catalog
from app.domain.catalog.models import ChoiceDefinition, ServiceAssignment
from app.domain.choices import service as choices
from app.domain.choices.models import CurrentChoice
from app.domain.people.models import School, Student
from app.errors import Conflict

DASHBOARD = catalog.VersionInput(
    name="スクールダッシュボード",
    use_group="dashboard",
    vendor_name="とびら市教育委員会",
    categories=[catalog.CategoryInput("identity", "氏名"), catalog.CategoryInput("grades", "評定")],
    purposes=[catalog.PurposeInput("学習状況の把握", "a", {"en": {"text": "Understanding learning"}})],
    subcontractors=[
        catalog.SubcontractorInput("運用会社"),
        catalog.SubcontractorInput("保守会社", parent_index=0),
    ],
    backup_retention_days=30,
    translations={"en": {"name": "School Dashboard"}},
)


def _world(db: Session) -> tuple[Board, Student, Student]:
    board = Board(code="t", name="テスト市教育委員会")
    db.add(board)
    db.flush()
    school = School(board_id=board.id, sourced_id="s1", code="S1", name="第一小学校")
    db.add(school)
    db.flush()
    young = Student(
        board_id=board.id,
        school_id=school.id,
        sourced_id="st1",
        family_name="山田",
        given_name="花子",
        grade="P2",
    )
    old = Student(
        board_id=board.id,
        school_id=school.id,
        sourced_id="st2",
        family_name="鈴木",
        given_name="一郎",
        grade="P6",
    )
    db.add_all([young, old])
    db.flush()
    return board, young, old


def test_publishing_keeps_old_versions_and_records_what_changed(db: Session) -> None:
    board, _young, _old = _world(db)
    first = catalog.create_service(db, board_id=board.id, code="dash", data=DASHBOARD, actor=CLI)
    assert first.changed == ["new_service"] and first.notice.version == 1
    [sub, subsub] = first.version.subcontractors
    assert subsub.parent_id == sub.id

    edited = catalog.version_input_from(first.version)
    assert edited == DASHBOARD
    edited.categories.append(catalog.CategoryInput("health_attendance", "保健室利用記録"))
    edited.backup_retention_days = 60
    second = catalog.publish_service_version(db, service=first.service, data=edited, actor=CLI)
    assert second.version.version == 2
    assert second.changed == ["categories", "vendor_facts"]
    assert second.notice.version == 2
    assert second.notice.catalogue["service_versions"] == {str(first.service.id): second.version.id}
    [view] = catalog.latest_versions(db, board.id)
    assert view.version.id == second.version.id and len(view.version.categories) == 3
    db.commit()  # audit events are chained and written when the transaction commits
    assert db.scalar(select(func.count()).select_from(AuditEvent)) == 4


def test_coverage_by_grade_range(db: Session) -> None:
    board, young, old = _world(db)
    result = catalog.create_service(db, board_id=board.id, code="dash", data=DASHBOARD, actor=CLI)
    db.add(ServiceAssignment(service_id=result.service.id, grade_from="P5", grade_to="P6"))
    db.flush()
    assert [v.service.id for v in catalog.services_for_student(db, old)] == [result.service.id]
    assert catalog.services_for_student(db, young) == []


def _definition(db: Session, board: Board) -> ChoiceDefinition:
    result = catalog.create_service(db, board_id=board.id, code="dash", data=DASHBOARD, actor=CLI)
    definition = ChoiceDefinition(
        board_id=board.id,
        service_id=result.service.id,
        code="dashboard_display",
        kind="categories",
        options=["show", "hide_all", "hide_some"],
        default_value="show",
        category_codes=["grades", "health_attendance"],
        label="表示",
    )
    db.add(definition)
    db.flush()
    return definition


def test_pending_choice_has_no_effect_until_confirmed(db: Session) -> None:
    board, student, _old = _world(db)
    definition = _definition(db, board)
    request = choices.write_request(
        db,
        definition=definition,
        student_id=student.id,
        value="hide_some",
        category_codes=["grades"],
        channel="web",
        actor_account_id=None,
        guardian_id=None,
    )
    assert choices.effective_choice(db, student.id, definition).value == "show"
    assert choices.request_state(db, request) == "pending"
    assert choices.pending_requests(db, student.id) == [request]

    confirmed = choices.confirm_request(db, request, actor_account_id=None)
    effective = choices.effective_choice(db, student.id, definition)
    assert (effective.value, effective.category_codes, effective.event_id) == (
        "hide_some",
        ["grades"],
        confirmed.id,
    )
    assert confirmed.receipt_id and confirmed.notice_version_id is not None
    with pytest.raises(Conflict):
        choices.confirm_request(db, request, actor_account_id=None)
    assert choices.pending_requests(db, student.id) == []


def test_staff_choice_is_effective_at_once_and_latest_wins(db: Session) -> None:
    board, student, other = _world(db)
    definition = _definition(db, board)
    choices.record_confirmed(
        db,
        definition=definition,
        student_id=student.id,
        value="hide_all",
        category_codes=[],
        channel="paper",
        reason="紙の届出",
        actor_account_id=None,
    )
    choices.record_confirmed(
        db,
        definition=definition,
        student_id=student.id,
        value="show",
        category_codes=[],
        channel="phone",
        reason="電話",
        actor_account_id=None,
    )
    table = choices.effective_choices(db, [student.id, other.id], [definition])
    assert table[(student.id, definition.id)].value == "show"
    assert table[(student.id, definition.id)].channel == "phone"
    assert table[(other.id, definition.id)].is_default
    assert db.scalar(select(func.count()).select_from(CurrentChoice)) == 1
    assert [e.kind for e in choices.history(db, student.id)] == ["confirmed", "requested"] * 2


def test_cancelled_request_cannot_be_confirmed(db: Session) -> None:
    board, student, _old = _world(db)
    definition = _definition(db, board)
    request = choices.write_request(
        db,
        definition=definition,
        student_id=student.id,
        value="hide_all",
        category_codes=[],
        channel="web",
        actor_account_id=None,
        guardian_id=None,
    )
    choices.close_request(db, request, "cancelled", actor_account_id=None)
    assert choices.request_state(db, request) == "cancelled"
    with pytest.raises(Conflict):
        choices.confirm_request(db, request, actor_account_id=None)


@pytest.mark.parametrize(
    ("value", "codes", "ok"),
    [
        ("show", [], True),
        ("hide_some", ["grades"], True),
        ("hide_some", [], False),
        ("hide_some", ["identity"], False),
        ("hide_all", ["grades"], False),
        ("delete", [], False),
    ],
)
def test_validation(db: Session, value: str, codes: list[str], ok: bool) -> None:
    board, _s, _o = _world(db)
    definition = _definition(db, board)
    assert (choices.validate_choice(definition, value, codes) is None) == ok

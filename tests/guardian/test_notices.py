"""Notice versions: guardians of covered children are told once; the page marks what changed."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.audit.models import AuditEvent
from app.audit.service import Actor
from app.catalog.models import Service, ServiceVersion
from app.catalog.service import PublishResult
from app.config import Settings
from app.db import Database
from app.guardian.notices import announce_service_change
from tests.guardian.factories import (
    World,
    add_version,
    link,
    make_class,
    make_guardian,
    make_notice,
    make_school,
    make_service,
    make_student,
)
from tests.helpers import SmtpSink, body_of, deliver_mail, sign_in_as

DASHBOARD_CATEGORIES = {
    "identity": "氏名、学年・組・出席番号",
    "grades": "評価・評定",
    "health_attendance": "出欠席・保健室利用記録",
}


def _publish(
    db: Session, world: World, service: Service, changed: list[str], **overrides: object
) -> PublishResult:
    previous = db.scalar(
        select(ServiceVersion)
        .where(ServiceVersion.service_id == service.id)
        .order_by(ServiceVersion.version.desc())
    )
    categories = overrides.pop("categories", DASHBOARD_CATEGORIES)
    version = add_version(
        db,
        service,
        categories=categories,  # type: ignore[arg-type]
        purposes=[("学習状況の把握のため", None), ("不具合対応のため", "c")],
        **overrides,
    )
    notice = make_notice(db, world.board)
    return PublishResult(service=service, version=version, previous=previous, notice=notice, changed=changed)


def test_guardians_of_covered_children_are_emailed_once(
    db: Session, database: Database, settings: Settings, smtp: SmtpSink, world: World
) -> None:
    # an inactive student's guardian and a guardian at another school are not told
    other_school = make_school(db, world.board, name="けやき中学校")
    outsider = make_guardian(db, world.board, email="outsider@example.jp")
    link(db, outsider, make_student(db, other_school, grade="J1"))
    leaver_guardian = make_guardian(db, world.board, email="leaver@example.jp")
    leaver = make_student(db, world.school, grade="P6")
    leaver.status = "inactive"
    link(db, leaver_guardian, leaver)
    service = make_service(
        db,
        world.board,
        code="drill",
        school=world.school,
        use_group="learning",
        name="ドリル",
        name_en="Drill",
    )
    db.flush()
    result = _publish(
        db,
        world,
        service,
        ["categories"],
        categories={"identity": "氏名", "learning_records": "解答履歴"},
        use_group="learning",
        name="ドリル",
        name_en="Drill",
    )
    queued = announce_service_change(db, result, Actor.account(1), base_url="http://127.0.0.1")
    db.commit()
    assert queued == 3  # mother (two children, one mail), father, the other family
    assert deliver_mail(database, settings) == 3
    [mother_mail] = smtp.to("yoko.yamada@example.jp")
    body = body_of(mother_mail)
    assert "山田 花子" in body and "山田 次郎" in body
    assert "扱う情報の種類が変わりました" in body
    assert "http://127.0.0.1/children" in body
    [father_mail] = smtp.to("taro.yamada@example.jp")
    assert "has changed" in str(father_mail["Subject"])
    assert smtp.to("misaki.sato@example.jp")
    assert smtp.to("outsider@example.jp") == [] and smtp.to("leaver@example.jp") == []
    event = db.scalar(select(AuditEvent).where(AuditEvent.action == "guardian.service_change_announced"))
    assert event is not None and event.details["emails"] == 3


def test_a_change_of_wording_alone_is_not_mailed(
    db: Session, database: Database, settings: Settings, smtp: SmtpSink, world: World
) -> None:
    result = _publish(db, world, world.dashboard, ["text"], description="説明を改めました。")
    assert announce_service_change(db, result, Actor.account(1), base_url="http://127.0.0.1") == 0
    db.commit()
    assert deliver_mail(database, settings) == 0


def test_grade_range_assignments_are_honoured(
    db: Session, database: Database, settings: Settings, smtp: SmtpSink, world: World
) -> None:
    from app.catalog.models import ServiceAssignment

    service = Service(board_id=world.board.id, code="survey")
    db.add(service)
    db.flush()
    db.add(ServiceAssignment(service_id=service.id, grade_from="P3", grade_to="P6"))
    cls = make_class(db, world.school, grade="P1", title="1年1組")
    del cls
    result = _publish(db, world, service, ["categories"], use_group="survey", name="学習状況調査")
    result.previous = None  # a brand-new service
    assert announce_service_change(db, result, Actor.account(1), base_url="http://127.0.0.1") == 3
    db.commit()
    deliver_mail(database, settings)
    [mail] = smtp.to("yoko.yamada@example.jp")
    assert "山田 花子" in body_of(mail) and "山田 次郎" not in body_of(mail)  # Jiro is P1
    assert "新しいサービス" in str(mail["Subject"])


def test_child_page_marks_what_changed_since_last_look(
    client: TestClient, db: Session, settings: Settings, world: World
) -> None:
    sign_in_as(client, db, settings, world.account)
    first = client.get(f"/children/{world.hanako.id}")
    assert "変更あり" not in first.text
    _publish(
        db,
        world,
        world.dashboard,
        ["categories", "vendor_facts"],
        categories={**DASHBOARD_CATEGORIES, "guidance": "面談記録"},
        backup_retention_days=60,
    )
    db.commit()
    marked = client.get(f"/children/{world.hanako.id}")
    assert "変更あり" in marked.text
    assert "扱う情報の種類が変わりました" in marked.text
    assert "事業者の約束や情報が変わりました" in marked.text
    assert "新たに扱う情報：" in marked.text and "進路・指導の記録" in marked.text
    # the other guardian has not looked yet; for the mother the mark is gone after one look
    assert "変更あり" not in client.get(f"/children/{world.hanako.id}").text
    sign_in_as(client, db, settings, world.father_account)
    assert "変更あり" not in client.get(f"/children/{world.hanako.id}").text  # never looked before

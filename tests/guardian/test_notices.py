"""Notice versions: guardians of covered children are told once; the page marks what changed.

Versions are published through the real catalogue service (`publish_service_version`,
`create_service`), so `PublishResult.changed` is what the board's edit would produce.
"""

from __future__ import annotations

from dataclasses import replace

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from app.config import Settings
from app.db import Database
from app.domain.audit.models import AuditEvent
from app.domain.catalog.models import Service, ServiceAssignment, ServiceVersion, ServiceVersionCategory
from app.domain.catalog.service import (
    CategoryInput,
    PublishResult,
    VersionInput,
    create_service,
    publish_service_version,
    version_input_from,
)
from app.domain.choices.jobs import request_announcement
from tests.guardian.factories import World, link, make_guardian, make_school, make_service, make_student
from tests.helpers import SmtpSink, body_of, deliver_mail, run_jobs, sign_in_as


def _to_guardians(smtp: SmtpSink) -> list[object]:
    """What reached guardians (the board's daily audit anchor goes to its own contact)."""
    return [m for m in smtp.messages if "kyoiku@" not in str(m["To"])]


def _latest(db: Session, service: Service) -> ServiceVersion:
    version = db.scalar(
        select(ServiceVersion)
        .options(
            selectinload(ServiceVersion.categories).joinedload(ServiceVersionCategory.category),
            selectinload(ServiceVersion.purposes),
            selectinload(ServiceVersion.subcontractors),
        )
        .where(ServiceVersion.service_id == service.id)
        .order_by(ServiceVersion.version.desc())
        .limit(1)
    )
    assert version is not None
    return version


def _publish(db: Session, world: World, service: Service, **changes: object) -> PublishResult:
    """Publish the next version through the real catalogue service, with `changes` applied."""
    data = replace(version_input_from(_latest(db, service)), **changes)  # type: ignore[arg-type]
    return publish_service_version(db, service=service, data=data, actor=world.admin_actor)


def test_guardians_of_covered_children_are_emailed_once(
    db: Session, database: Database, settings: Settings, smtp: SmtpSink, world: World
) -> None:
    # a guardian at another school and an inactive student's guardian are not told
    other_school = make_school(db, world.board, name="けやき中学校")
    outsider = make_guardian(db, world.board, email="outsider@example.jp")
    link(db, outsider, make_student(db, other_school, grade="J1"))
    leaver_guardian = make_guardian(db, world.board, email="leaver@example.jp")
    leaver = make_student(db, world.school, grade="P6")
    leaver.status = "inactive"
    link(db, leaver_guardian, leaver)
    service = make_service(db, world.board, code="drill", school=world.school, use_group="learning")
    result = _publish(
        db, world, service, categories=[CategoryInput("identity", "氏名"), CategoryInput("learning_records")]
    )
    assert result.changed == ["categories"]
    assert request_announcement(db, result, world.admin_actor, base_url="http://127.0.0.1") is not None
    db.commit()
    assert deliver_mail(database, settings) == 0  # nothing is mailed inside the publishing request
    run_jobs(database, settings)
    deliver_mail(database, settings)
    assert len(_to_guardians(smtp)) == 3
    [mother_mail] = smtp.to("yoko.yamada@example.jp")
    body = body_of(mother_mail)
    assert "山田 花子" in body and "山田 次郎" in body
    assert "新たに扱う情報：学習記録" in body  # the change in words, not a category of change
    assert "http://127.0.0.1/children" in body
    [father_mail] = smtp.to("taro.yamada@example.jp")
    assert "has changed" in str(father_mail["Subject"]) and "Now also holds:" in body_of(father_mail)
    assert smtp.to("misaki.sato@example.jp")
    assert smtp.to("outsider@example.jp") == [] and smtp.to("leaver@example.jp") == []
    event = db.scalar(select(AuditEvent).where(AuditEvent.action == "guardian.service_change_announced"))
    assert event is not None and event.details["emails"] == 3


def test_a_change_of_wording_alone_is_not_mailed(
    db: Session, database: Database, settings: Settings, smtp: SmtpSink, world: World
) -> None:
    result = _publish(db, world, world.dashboard, description="説明を改めました。")
    assert result.changed == ["text"]
    assert request_announcement(db, result, world.admin_actor, base_url="http://127.0.0.1") is None
    db.commit()
    run_jobs(database, settings)
    deliver_mail(database, settings)
    assert _to_guardians(smtp) == []


def test_new_service_for_a_grade_range(
    db: Session, database: Database, settings: Settings, smtp: SmtpSink, world: World
) -> None:
    result = create_service(
        db,
        board_id=world.board.id,
        code="survey",
        data=VersionInput(
            name="学習状況調査",
            use_group="survey",
            vendor_name="調査会社",
            categories=[CategoryInput("survey_answers")],
            translations={"en": {"name": "Learning survey"}},
        ),
        actor=world.admin_actor,
    )
    db.add(ServiceAssignment(service_id=result.service.id, grade_from="P3", grade_to="P6"))
    db.flush()
    assert request_announcement(db, result, world.admin_actor, base_url="http://127.0.0.1") is not None
    db.commit()
    run_jobs(database, settings)
    deliver_mail(database, settings)
    [mail] = smtp.to("yoko.yamada@example.jp")
    assert "山田 花子" in body_of(mail) and "山田 次郎" not in body_of(mail)  # Jiro is in P1
    assert "新しいサービス" in str(mail["Subject"])


def test_child_page_marks_what_changed_since_last_look(
    client: TestClient, db: Session, settings: Settings, world: World
) -> None:
    sign_in_as(client, db, settings, world.account)
    first = client.get(f"/children/{world.hanako.id}")
    assert "変更あり" not in first.text
    previous = version_input_from_db(db, world.dashboard)
    result = _publish(
        db,
        world,
        world.dashboard,
        categories=[*previous.categories, CategoryInput("guidance", "面談記録")],
        backup_retention_days=60,
    )
    assert result.changed == ["categories", "vendor_facts"]
    db.commit()
    marked = client.get(f"/children/{world.hanako.id}")
    assert "変更あり" in marked.text
    assert "新たに扱う情報：進路・指導の記録" in marked.text
    assert "バックアップの保存期間：" in marked.text and "→ 60日" in marked.text
    assert "60日間保管した後、消去されます" in marked.text
    # after one look the mark is gone; the father, who never looked before, sees no mark
    assert "変更あり" not in client.get(f"/children/{world.hanako.id}").text
    sign_in_as(client, db, settings, world.father_account)
    assert "変更あり" not in client.get(f"/children/{world.hanako.id}").text


def version_input_from_db(db: Session, service: Service) -> VersionInput:
    return version_input_from(_latest(db, service))

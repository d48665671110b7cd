"""A board administrator sets which students a service covers; guardians of covered children
see it, others do not. Without a rule a new service reaches nobody."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from app.config import Settings
from app.db import Database
from app.domain.audit.models import AuditEvent
from app.domain.catalog.models import ServiceAssignment, ServiceVersion
from tests.guardian.factories import World, build_world, link, make_guardian, make_service, make_student
from tests.helpers import SmtpSink, body_of, csrf_token, deliver_mail, run_jobs, sign_in_as
from tests.staff import factories as staff_factories

NAME = "テスト学習アプリ"


@pytest.fixture
def world(db: Session) -> World:
    return build_world(db)


def _sees(client: TestClient, db: Session, settings: Settings, world: World, student_id: int) -> bool:
    client.cookies.clear()
    sign_in_as(client, db, settings, world.account)
    return NAME in client.get(f"/children/{student_id}").text


def test_coverage_is_previewed_added_and_removed(
    client: TestClient, db: Session, settings: Settings, world: World
) -> None:
    service = make_service(db, world.board, code="newapp", name=NAME, use_group="learning")
    db.execute(delete(ServiceAssignment).where(ServiceAssignment.service_id == service.id))
    admin = staff_factories.staff(db, world.board, "board_admin")
    db.commit()
    assert not _sees(client, db, settings, world, world.hanako.id)  # a new service reaches nobody

    client.cookies.clear()
    sign_in_as(client, db, settings, admin)
    page = f"/staff/services/{service.id}/coverage"
    assert "ルールがまだありません" in client.get(page).text
    form = {"csrf_token": csrf_token(client, settings), "school": str(world.school.id)}
    wrong = client.post(page, data={**form, "grade_from": "J3", "grade_to": "P1", "action": "add"})
    assert wrong.status_code == 422 and "最後の学年が最初の学年より前" in wrong.text
    third_graders = {**form, "grade_from": "P3", "grade_to": "P3"}
    preview = client.post(page, data={**third_graders, "action": "preview"})
    assert "このルールの対象は、児童生徒 2 人、保護者 3 人です。" in preview.text
    assert db.scalar(select(ServiceAssignment).where(ServiceAssignment.service_id == service.id)) is None
    added = client.post(page, data={**third_graders, "action": "add"}, follow_redirects=False)
    assert added.status_code == 303
    assert "現在の対象：児童生徒 2 人、保護者 3 人。" in client.get(page).text

    assert _sees(client, db, settings, world, world.hanako.id)  # P3
    assert not _sees(client, db, settings, world, world.jiro.id)  # P1, same family

    client.cookies.clear()
    sign_in_as(client, db, settings, admin)
    rule = db.scalar(select(ServiceAssignment).where(ServiceAssignment.service_id == service.id))
    assert rule is not None
    removed = client.post(
        f"{page}/{rule.id}/remove", data={"csrf_token": csrf_token(client, settings)}, follow_redirects=False
    )
    assert removed.status_code == 303
    assert not _sees(client, db, settings, world, world.hanako.id)
    actions = set(db.scalars(select(AuditEvent.action).where(AuditEvent.target_id == str(service.id))))
    assert {"catalog.coverage_added", "catalog.coverage_removed"} <= actions


def test_coverage_by_roster_id_and_its_limits(
    client: TestClient, db: Session, settings: Settings, world: World
) -> None:
    service = make_service(db, world.board, code="oneoff", name=NAME, use_group="learning")
    db.execute(delete(ServiceAssignment).where(ServiceAssignment.service_id == service.id))
    admin = staff_factories.staff(db, world.board, "board_admin")
    teacher = staff_factories.staff(db, world.board, "teacher", world.school)
    db.commit()
    sign_in_as(client, db, settings, teacher)
    page = f"/staff/services/{service.id}/coverage"
    assert client.get(page).status_code == 404  # board administrators only

    client.cookies.clear()
    sign_in_as(client, db, settings, admin)
    token = csrf_token(client, settings)
    unknown = client.post(page, data={"csrf_token": token, "students": "nobody", "action": "add"})
    assert unknown.status_code == 422 and "この名簿 ID の児童生徒は" in unknown.text
    one = client.post(
        page,
        data={"csrf_token": token, "students": world.jiro.sourced_id, "action": "add"},
        follow_redirects=False,
    )
    assert one.status_code == 303
    assert _sees(client, db, settings, world, world.jiro.id)
    assert not _sees(client, db, settings, world, world.hanako.id)


def test_coverage_from_the_command_line(
    client: TestClient,
    db: Session,
    settings: Settings,
    world: World,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from typer.testing import CliRunner

    from app.cli import main
    from app.config import get_settings

    service = make_service(db, world.board, code="cliapp", name=NAME, use_group="learning")
    db.execute(delete(ServiceAssignment).where(ServiceAssignment.service_id == service.id))
    db.commit()
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("ENVIRONMENT", "test")
    get_settings.cache_clear()
    run = CliRunner()
    base = [
        "catalogue",
        "cover",
        "--board",
        world.board.code,
        "--service",
        "cliapp",
        "--school",
        world.school.code,
    ]
    try:
        dry = run.invoke(main, [*base, "--grades", "P3", "--dry-run"])
        assert dry.exit_code == 0 and "covers 2 students and 3 guardians" in dry.output
        assert not _sees(client, db, settings, world, world.hanako.id)
        wrong = run.invoke(main, [*base, "--grades", "J3-P1"])
        assert wrong.exit_code == 2
        done = run.invoke(main, [*base, "--grades", "P3"])
        assert done.exit_code == 0 and "cliapp now covers 2 students" in done.output
    finally:
        get_settings.cache_clear()
    assert _sees(client, db, settings, world, world.hanako.id)


def test_a_coverage_change_is_a_version_and_tells_only_the_guardians_it_brings_in(
    client: TestClient, db: Session, database: Database, settings: Settings, smtp: SmtpSink, world: World
) -> None:
    service = make_service(db, world.board, code="newapp", name=NAME, use_group="learning")
    db.execute(delete(ServiceAssignment).where(ServiceAssignment.service_id == service.id))
    admin = staff_factories.staff(db, world.board, "board_admin")
    fifth_grader = make_student(db, world.school, given="五年", grade="P5")
    link(db, make_guardian(db, world.board, email="outsider@example.jp"), fifth_grader)
    db.commit()
    sign_in_as(client, db, settings, world.account)
    client.get(f"/children/{world.jiro.id}")  # the mother has looked at Jiro's page before
    client.cookies.clear()
    sign_in_as(client, db, settings, admin)
    page = f"/staff/services/{service.id}/coverage"
    token = csrf_token(client, settings)
    third_grade = {"csrf_token": token, "school": str(world.school.id), "grade_from": "P3", "grade_to": "P3"}
    assert client.post(page, data={**third_grade, "action": "add"}).status_code == 200

    # The rule is part of the service's published record.
    db.expire_all()
    versions = list(
        db.scalars(
            select(ServiceVersion)
            .where(ServiceVersion.service_id == service.id)
            .order_by(ServiceVersion.version)
        )
    )
    assert [v.version for v in versions] == [1, 2]
    assert versions[-1].coverage == [{"school": world.school.code, "grade_from": "P3", "grade_to": "P3"}]
    assert versions[-1].name == versions[0].name  # the content is unchanged

    # The guardians it brings in are told, by a job, once: Hanako's, not the others.
    assert deliver_mail(database, settings) == 0
    run_jobs(database, settings)
    deliver_mail(database, settings)
    [told] = [m for m in smtp.to("yoko.yamada@example.jp") if NAME in str(m["Subject"])]
    assert "花子" in body_of(told) and "次郎" not in body_of(told)
    assert smtp.to("outsider@example.jp") == []  # a fifth-grader's family is not covered

    # A second rule bringing in Jiro tells the family about Jiro only.
    jiro = {"csrf_token": token, "students": world.jiro.sourced_id}
    assert client.post(page, data={**jiro, "action": "add"}).status_code == 200
    run_jobs(database, settings)
    deliver_mail(database, settings)
    told_again = [m for m in smtp.to("yoko.yamada@example.jp") if NAME in str(m["Subject"])]
    assert (
        len(told_again) == 2 and "次郎" in body_of(told_again[-1]) and "花子" not in body_of(told_again[-1])
    )
    announced = list(db.scalars(select(AuditEvent).where(AuditEvent.action == "guardian.coverage_announced")))
    assert len(announced) == 2

    # For a guardian who already saw the service, a coverage change is no change to read.
    client.cookies.clear()
    sign_in_as(client, db, settings, world.account)
    client.get(f"/children/{world.hanako.id}")
    client.cookies.clear()
    sign_in_as(client, db, settings, admin)
    everyone = {"csrf_token": csrf_token(client, settings), "school": str(world.school.id)}
    assert client.post(page, data={**everyone, "action": "add"}).status_code == 200
    client.cookies.clear()
    sign_in_as(client, db, settings, world.account)
    assert "変更あり" not in client.get(f"/children/{world.hanako.id}").text

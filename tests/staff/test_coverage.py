"""A board administrator sets which students a service covers; guardians of covered children
see it, others do not. Without a rule a new service reaches nobody."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from app.config import Settings
from app.domain.audit.models import AuditEvent
from app.domain.catalog.models import ServiceAssignment
from tests.guardian.factories import World, build_world, make_service
from tests.helpers import csrf_token, sign_in_as
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

"""A guardian sees who saw their child's data: staff views, exports that held the child,
records the school made, reads by connected systems — and whether each system applied the
child's current choices. Another family sees none of it."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from app.cli import main
from app.config import Settings, get_settings
from app.domain.apikeys import service as keys
from app.domain.audit.models import AuditEvent
from app.domain.audit.service import Actor
from app.domain.boards.models import Board
from app.domain.choices import service as choices
from app.domain.evidence.models import ExportStudent, FeedAcknowledgement
from tests.guardian.factories import World
from tests.helpers import csrf_token, sign_in_as
from tests.staff import factories as staff_factories


def _hide(db: Session, world: World, student_id: int, actor_account_id: int | None = None) -> None:
    choices.record_confirmed(
        db,
        definition=world.dashboard_choice,
        student_id=student_id,
        value="hide_all",
        category_codes=[],
        channel="paper",
        reason="紙の申出書",
        actor_account_id=actor_account_id,
    )


def _as(client: TestClient, db: Session, settings: Settings, account: Any) -> None:
    client.cookies.clear()
    sign_in_as(client, db, settings, account)


def _access_section(client: TestClient, student_id: int) -> str:
    page = client.get(f"/children/{student_id}/history")
    assert page.status_code == 200
    return page.text.split('id="access"')[1]


def test_a_staff_view_and_an_export_appear_for_that_childs_guardian_only(
    client: TestClient, db: Session, settings: Settings, world: World
) -> None:
    admin = staff_factories.staff(db, world.board, "school_admin", world.school, email="kyoto@school.test")
    _hide(db, world, world.hanako.id)
    db.commit()
    _as(client, db, settings, admin)
    assert client.get(f"/staff/students/{world.hanako.id}").status_code == 200
    export = client.post("/staff/exports", data={"csrf_token": csrf_token(client, settings), "format": "csv"})
    assert export.status_code == 200 and world.hanako.sourced_id in export.text
    # One row per student in the export, written in one statement with the export.
    assert db.scalar(select(func.count()).select_from(ExportStudent)) == 1

    _as(client, db, settings, world.account)
    section = _access_section(client, world.hanako.id)
    assert "記録と選択を見ました" in section
    assert "お子さまを含む一覧を出力しました" in section
    assert "学校の管理者 — お子さまの学校" in section
    assert "Staff " not in section  # names are off by default

    _as(client, db, settings, world.other_account)  # another family: nothing of Hanako's
    other = _access_section(client, world.other_child.id)
    assert "記録と選択を見ました" not in other and "一覧を出力しました" not in other
    assert client.get(f"/children/{world.hanako.id}/history").status_code == 404


def test_a_record_the_school_made_shows_the_role_and_the_name_only_if_the_board_says_so(
    client: TestClient, db: Session, settings: Settings, world: World
) -> None:
    teacher = staff_factories.staff(db, world.board, "school_admin", world.school)
    _hide(db, world, world.hanako.id, actor_account_id=teacher.id)
    db.commit()
    _as(client, db, settings, world.account)
    section = _access_section(client, world.hanako.id)
    assert "お子さまの選択を代わりに登録しました" in section and "Staff " not in section

    db.get_one(Board, world.board.id).show_staff_names = True
    db.commit()
    section = _access_section(client, world.hanako.id)
    assert f"（{teacher.display_name}）" in section or f"({teacher.display_name})" in section


def test_api_reads_of_the_entry_are_listed_by_system_and_applied_after_the_acknowledgement(
    client: TestClient, db: Session, settings: Settings, world: World
) -> None:
    _hide(db, world, world.hanako.id)
    secret, _key = keys.create_key(
        db, board_id=world.board.id, name="School Dashboard", actor=Actor("system")
    )
    db.commit()
    _as(client, db, settings, world.account)
    child_page = client.get(f"/children/{world.hanako.id}").text
    assert "School Dashboard: 未反映" in child_page
    assert f'href="/children/{world.hanako.id}/history#access"' in child_page

    auth = {"Authorization": f"Bearer {secret}"}
    listed = client.get("/api/v1/hide-list?service=dashboard&choice=dashboard_display", headers=auth).json()
    assert [item["student_id"] for item in listed["items"]] == [world.hanako.sourced_id]
    client.get("/api/v1/hide-list?service=dashboard&choice=dashboard_display", headers=auth)
    feed = client.get("/api/v1/changes", headers=auth).json()
    assert [c["student_id"] for c in feed["changes"]] == [world.hanako.sourced_id]

    section = _access_section(client, world.hanako.id)
    assert "連携システム： School Dashboard" in section
    assert "非表示とする児童生徒の一覧を読み取りました (2回)" in section
    assert "選択の変更を読み取りました" in section
    brother = _access_section(client, world.jiro.id)  # on no list: no system read his entry
    assert "連携システム：" not in brother

    # A cursor never served is refused and changes nothing; then the served one is applied.
    refused = client.post("/api/v1/acknowledgements", json={"cursor": "e999"}, headers=auth)
    assert refused.status_code == 409 and refused.json()["error"]["type"] == "cursor_not_served"
    assert db.scalar(select(func.count()).select_from(FeedAcknowledgement)) == 0
    assert "School Dashboard: 未反映" in client.get(f"/children/{world.hanako.id}").text
    done = client.post("/api/v1/acknowledgements", json={"cursor": feed["next_cursor"]}, headers=auth)
    assert done.status_code == 201
    page = client.get(f"/children/{world.hanako.id}").text
    assert "School Dashboard: " in page and "に反映済み" in page and "未反映" not in page

    _hide(db, world, world.hanako.id)  # a newer setting is not applied until acknowledged again
    db.commit()
    assert "School Dashboard: 未反映" in client.get(f"/children/{world.hanako.id}").text


def test_portal_board_staff_names_turns_the_names_on_and_audits_it(
    monkeypatch: pytest.MonkeyPatch, database_url: str, db: Session, world: World
) -> None:
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("ENVIRONMENT", "test")
    get_settings.cache_clear()
    try:
        code = db.get_one(Board, world.board.id).code
        shown = CliRunner().invoke(main, ["board", "staff-names", "--board", code])
        assert shown.exit_code == 0 and "no" in shown.output
        changed = CliRunner().invoke(main, ["board", "staff-names", "--board", code, "--show"])
        assert changed.exit_code == 0 and "yes" in changed.output
    finally:
        get_settings.cache_clear()
    db.expire_all()
    assert db.get_one(Board, world.board.id).show_staff_names is True
    assert db.scalar(select(AuditEvent.id).where(AuditEvent.action == "board.staff_names_changed"))

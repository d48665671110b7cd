"""A guardian sees who opened their child's record: the role and where, never a name."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.config import Settings
from tests.guardian.factories import World
from tests.helpers import sign_in_as
from tests.staff import factories as staff_factories


def test_staff_views_of_the_record_are_listed_for_the_guardian(
    client: TestClient, db: Session, settings: Settings, world: World
) -> None:
    teacher = staff_factories.staff(db, world.board, "teacher", world.school, email="sensei@school.test")
    board_admin = staff_factories.staff(db, world.board, "board_admin", email="kanri@board.test")
    db.commit()
    sign_in_as(client, db, settings, world.account)
    before = client.get(f"/children/{world.hanako.id}/history").text
    assert "この記録を開いた職員はまだいません。" in before

    for account in (teacher, board_admin):
        client.cookies.clear()
        sign_in_as(client, db, settings, account)
        assert client.get(f"/staff/students/{world.hanako.id}").status_code == 200
    client.get(f"/staff/students/{world.jiro.id}")  # the brother's record is his own

    client.cookies.clear()
    sign_in_as(client, db, settings, world.account)
    page = client.get(f"/children/{world.hanako.id}/history").text
    section = page.split('id="access"')[1]
    assert "先生 — お子さまの学校" in section and "教育委員会の管理者 — 教育委員会" in section
    assert section.count("記録と選択を見ました") == 2
    assert "sensei" not in page and "Staff " not in section  # no staff name or address
    brother = client.get(f"/children/{world.jiro.id}/history").text.split('id="access"')[1]
    assert brother.count("記録と選択を見ました") == 1

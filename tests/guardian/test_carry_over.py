"""Choices a board received before Tobira are carried over from a CSV: checked whole first,
applied as confirmed choices in force since the day received, never over a newer choice,
and a second import changes nothing."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from app.cli import main
from app.config import Settings, get_settings
from app.domain.audit.models import AuditEvent
from app.domain.choices.models import ChoiceEvent, CurrentChoice
from app.domain.choices.service import record_confirmed
from tests.guardian.factories import World

HEADER = "student_id,service,choice,value,categories,received_on,received_by\n"


@pytest.fixture
def run(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRunner]:
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("ENVIRONMENT", "test")
    get_settings.cache_clear()
    yield CliRunner()
    get_settings.cache_clear()


def _file(tmp_path: Path, body: str, encoding: str = "utf-8-sig") -> Path:
    path = tmp_path / "earlier.csv"
    path.write_bytes((HEADER + body).encode(encoding))
    return path


def _current(db: Session, student_id: int, definition_id: int) -> CurrentChoice | None:
    db.expire_all()
    return db.scalar(
        select(CurrentChoice).where(
            CurrentChoice.student_id == student_id, CurrentChoice.definition_id == definition_id
        )
    )


def test_a_bad_line_refuses_the_file_naming_line_and_column(
    run: CliRunner, db: Session, world: World, tmp_path: Path
) -> None:
    path = _file(
        tmp_path,
        f"{world.hanako.sourced_id},dashboard,dashboard_display,hide_all,,2026-04-10,paper\n"
        "nobody,dashboard,dashboard_display,hide_all,,2026-04-10,paper\n"
        f"{world.jiro.sourced_id},dashboard,dashboard_display,hide_some,,2026/04/10,fax\n",
    )
    result = run.invoke(main, ["choices", "import", str(path), "--board", world.board.code])
    assert result.exit_code == 1
    assert "line 3 [student_id]" in result.output and "nobody" in result.output
    assert "line 4 [value]" in result.output and "line 4 [received_on]" in result.output
    assert "line 4 [received_by]" in result.output
    assert db.scalar(select(func.count()).select_from(ChoiceEvent)) == 0  # nothing at all


def test_earlier_choices_are_carried_over_once_and_never_over_a_newer_one(
    run: CliRunner, db: Session, world: World, tmp_path: Path
) -> None:
    record_confirmed(  # the father chose in Tobira after the paper form of April
        db,
        definition=world.photo_choice,
        student_id=world.jiro.id,
        value="allow",
        category_codes=[],
        channel="web",
        reason="",
        actor_account_id=None,
    )
    db.commit()
    path = _file(
        tmp_path,
        f"{world.hanako.sourced_id},dashboard,dashboard_display,hide_some,grades;health_attendance,2026-04-10,paper\n"
        f"{world.jiro.sourced_id},teams,class_photos,deny,,2026-04-12,email\n",
        encoding="cp932",
    )
    base = ["choices", "import", str(path), "--board", world.board.code]
    dry = run.invoke(main, [*base, "--dry-run"])
    assert dry.exit_code == 0 and "1 choice(s) applied" in dry.output and "1 kept" in dry.output
    assert _current(db, world.hanako.id, world.dashboard_choice.id) is None

    done = run.invoke(main, base)
    assert done.exit_code == 0, done.output
    hanako = _current(db, world.hanako.id, world.dashboard_choice.id)
    assert hanako is not None and hanako.value == "hide_some" and hanako.channel == "import"
    assert hanako.category_codes == ["grades", "health_attendance"]
    assert hanako.effective_since.date().isoformat() in ("2026-04-09", "2026-04-10")  # Tokyo midnight, in UTC
    jiro = _current(db, world.jiro.id, world.photo_choice.id)
    assert jiro is not None and jiro.value == "allow"  # the family's later word in Tobira stands

    again = run.invoke(main, base)
    assert again.exit_code == 0 and "0 choice(s) applied, 1 already in Tobira" in again.output
    assert (
        db.scalar(
            select(func.count()).where(ChoiceEvent.channel == "import", ChoiceEvent.kind == "confirmed")
        )
        == 1
    )
    audited = list(db.scalars(select(AuditEvent.details).where(AuditEvent.action == "choices.carried_over")))
    assert [d["applied"] for d in audited] == [1, 1, 0] and audited[0]["dry_run"] is True


def test_board_admins_check_then_carry_over_on_the_staff_pages(
    client: TestClient, db: Session, settings: Settings, world: World
) -> None:
    from tests.helpers import csrf_token, sign_in_as
    from tests.staff import factories as staff_factories

    admin = staff_factories.staff(db, world.board, "board_admin")
    teacher = staff_factories.staff(db, world.board, "teacher", world.school)
    db.commit()
    sign_in_as(client, db, settings, teacher)
    assert client.get("/staff/choices/import").status_code == 404

    client.cookies.clear()
    sign_in_as(client, db, settings, admin)
    good = (
        HEADER + f"{world.hanako.sourced_id},dashboard,dashboard_display,hide_all,,2026-04-10,phone\n"
    ).encode()
    bad = (HEADER + "nobody,dashboard,dashboard_display,hide_all,,2026-04-10,phone\n").encode()

    def upload(data: bytes) -> Any:
        return client.post(
            "/staff/choices/import",
            data={"csrf_token": csrf_token(client, settings)},
            files={"file": ("earlier.csv", data, "text/csv")},
        )

    refused = upload(bad)
    assert (
        refused.status_code == 422
        and "nobody" in refused.text
        and "<td>2</td><td>student_id</td>" in refused.text
    )
    checked = upload(good)
    assert checked.status_code == 200 and "試行のため、何も保存していません。" in checked.text
    assert _current(db, world.hanako.id, world.dashboard_choice.id) is None
    digest = re.search(r'name="digest" value="([0-9a-f]{64})"', checked.text)
    assert digest is not None
    applied = client.post(
        "/staff/choices/import/confirm",
        data={"csrf_token": csrf_token(client, settings), "digest": digest.group(1)},
    )
    assert applied.status_code == 200 and "引き継ぎました。" in applied.text
    current = _current(db, world.hanako.id, world.dashboard_choice.id)
    assert current is not None and current.value == "hide_all" and current.channel == "import"
    twice = client.post(
        "/staff/choices/import/confirm",
        data={"csrf_token": csrf_token(client, settings), "digest": digest.group(1)},
    )
    assert twice.status_code == 409

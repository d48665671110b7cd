"""`portal board requests` sets the answer period that new requests' due dates count from."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from app.cli import main
from app.config import get_settings
from app.domain.audit.models import AuditEvent
from app.domain.boards.models import Board
from app.domain.translations import service as translations
from tests.guardian.factories import World


@pytest.fixture
def run(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRunner]:
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("ENVIRONMENT", "test")
    get_settings.cache_clear()
    yield CliRunner()
    get_settings.cache_clear()


def test_the_answer_period_is_set_from_the_command_line(db: Session, world: World, run: CliRunner) -> None:
    code = world.board.code
    db.commit()
    shown = run.invoke(main, ["board", "requests", "--board", code])
    assert shown.exit_code == 0 and "answer-days=30" in shown.output
    bad = run.invoke(main, ["board", "requests", "--board", code, "--answer-days", "0"])
    assert bad.exit_code == 2 and "--answer-days" in bad.output and "60" in bad.output
    done = run.invoke(main, ["board", "requests", "--board", code, "--answer-days", "45"])
    assert done.exit_code == 0 and "answer-days=45" in done.output
    db.expire_all()
    assert db.get_one(Board, world.board.id).request_answer_days == 45
    changed = db.scalar(select(AuditEvent).where(AuditEvent.action == "board.request_days_changed"))
    assert changed is not None and changed.details == {"answer_days": 45}
    unknown = run.invoke(main, ["board", "requests", "--board", "nowhere"])
    assert unknown.exit_code == 2


def test_the_controller_name_on_receipts_is_a_board_setting(
    db: Session, world: World, run: CliRunner
) -> None:
    code = world.board.code
    db.commit()
    empty = run.invoke(main, ["board", "contact", "--board", code, "--name", " "])
    assert empty.exit_code == 2 and "--name" in empty.output
    done = run.invoke(
        main,
        ["board", "contact", "--board", code, "--name", "とびら市教育委員会", "--name-en", "Tobira City BoE"],
    )
    assert (
        done.exit_code == 0 and "name=とびら市教育委員会" in done.output and "Tobira City BoE" in done.output
    )
    db.expire_all()
    board = db.get_one(Board, world.board.id)
    english = translations.of_entities(db, "boards", [board.id], ["en"])[board.id]["en"]["name"]
    assert (board.name, english) == ("とびら市教育委員会", "Tobira City BoE")
    changed = db.scalars(select(AuditEvent).where(AuditEvent.action == "board.contact_changed")).all()
    assert changed[-1].details == {"fields": ["name", "name_en"]}

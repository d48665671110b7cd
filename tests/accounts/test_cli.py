"""`portal staff invite` bootstraps the first board admin."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from app.cli import main
from app.config import get_settings
from app.domain.accounts.models import StaffRole
from tests.accounts import factories as f
from tests.accounts.helpers import audit


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, database_url: str) -> Iterator[None]:
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("ENVIRONMENT", "test")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_invite_first_board_admin(cli_env: None, db: Session) -> None:
    board = f.board(db, code="saitama-demo")
    f.school(db, board, code="S-001")
    db.commit()
    runner = CliRunner()
    result = runner.invoke(
        main, ["staff", "invite", "--board", "saitama-demo", "--email", "Admin@City.example.jp"]
    )
    assert result.exit_code == 0, result.output
    db.expire_all()
    role = db.scalar(select(StaffRole))
    assert role is not None and (role.invited_email, role.role, role.school_id) == (
        "admin@city.example.jp",
        "board_admin",
        None,
    )
    assert audit(db, "accounts.staff_role_granted")[0].actor_type == "cli"

    bad = runner.invoke(main, ["staff", "invite", "--board", "nope", "--email", "a@b.jp"])
    assert bad.exit_code == 2 and "No board" in bad.output
    teacher = runner.invoke(
        main, ["staff", "invite", "--board", "saitama-demo", "--email", "t@b.jp", "--role", "teacher"]
    )
    assert teacher.exit_code == 2 and "need a school" in teacher.output
    ok = runner.invoke(
        main,
        [
            "staff",
            "invite",
            "--board",
            "saitama-demo",
            "--email",
            "t@b.jp",
            "--role",
            "teacher",
            "--school",
            "S-001",
        ],
    )
    assert ok.exit_code == 0, ok.output

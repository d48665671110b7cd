from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from app.cli import main
from app.domain.audit.models import AuditEvent
from tests.staff import factories as f


def test_cli_exports_a_board_to_a_file(
    db: Session, database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    board = f.board(db, code="SAITAMA")
    first = f.school(db, board, "S1")
    second = f.school(db, board, "S2")
    _s, _v, definition = f.dashboard_service(db, board)
    f.confirmed(db, definition, f.student(db, first, sourced_id="stu-1"), "hide_all")
    f.confirmed(db, definition, f.student(db, second, sourced_id="stu-2"), "hide_all")
    f.confirmed(db, definition, f.student(db, second, family="𠮷田", sourced_id="stu-3"), "hide_all")
    db.commit()
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("ENVIRONMENT", "test")
    from app.config import get_settings

    get_settings.cache_clear()
    runner = CliRunner()
    out = tmp_path / "list.csv"
    result = runner.invoke(
        main, ["export", "optouts", "--board", "SAITAMA", "--format", "csv", "--school", "S1", "-o", str(out)]
    )
    assert result.exit_code == 0, result.output
    text = out.read_bytes().decode("utf-8-sig")
    assert "stu-1" in text and "stu-2" not in text

    refused = runner.invoke(
        main, ["export", "optouts", "--board", "SAITAMA", "--format", "cp932", "-o", str(tmp_path / "x.csv")]
    )
    assert refused.exit_code == 1
    assert "stu-3" in refused.output
    assert not (tmp_path / "x.csv").exists()

    unknown = runner.invoke(main, ["export", "optouts", "--board", "NOPE", "-o", str(out)])
    assert unknown.exit_code == 2
    actions = list(db.scalars(select(AuditEvent.actor_type).where(AuditEvent.action == "export.optouts")))
    assert actions == ["cli", "cli"]
    get_settings.cache_clear()

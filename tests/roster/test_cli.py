"""`portal roster import` as an administrator runs it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from app.cli import main
from app.config import get_settings
from app.domain.people.models import Student
from tests.roster.rosters import SAMPLE_ZIP, build_zip, set_field


@pytest.fixture
def run(database_url: str, db: Session, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRunner]:
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("ENVIRONMENT", "test")
    get_settings.cache_clear()
    yield CliRunner()
    get_settings.cache_clear()


def test_import_then_reimport_reports_zero_changes(run: CliRunner, db: Session) -> None:
    first = run.invoke(main, ["roster", "import", str(SAMPLE_ZIP), "--board", "tobira-city"])
    second = run.invoke(main, ["roster", "import", str(SAMPLE_ZIP), "--board", "tobira-city"])

    assert first.exit_code == 0, first.output
    assert "教育委員会 tobira-city を名簿の教育委員会（district）から作成しました。" in first.output
    assert "Board tobira-city was created from the roster's district org." in first.output
    assert "児童生徒 / Students: 追加 4、変更 0、無効化 0、変更なし 0" in first.output
    assert second.exit_code == 0
    assert "No changes: the board already holds this roster." in second.output
    assert "変更はありません" in second.output
    assert db.scalar(select(func.count()).select_from(Student)) == 4


def test_dry_run_prints_counts_and_saves_nothing(run: CliRunner, db: Session) -> None:
    result = run.invoke(main, ["roster", "import", str(SAMPLE_ZIP), "--board", "tobira-city", "--dry-run"])

    assert result.exit_code == 0, result.output
    assert "Board tobira-city would be created" in result.output
    assert "Dry run: nothing was saved." in result.output
    assert (
        "Students: 追加 4、変更 0、無効化 0、変更なし 0 / 4 created, 0 changed, 0 deactivated, 0 unchanged"
        in (result.output)
    )
    assert db.scalar(select(func.count()).select_from(Student)) == 0


def test_refused_roster_names_file_line_and_column_in_both_languages(
    run: CliRunner, db: Session, tmp_path: Path
) -> None:
    broken = build_zip(
        tmp_path / "broken.zip",
        edit={"users.csv": set_field("e5f6a7b8-0001-4c00-a000-000000000004", grades="P7")},
    )

    result = run.invoke(main, ["roster", "import", str(broken), "--board", "tobira-city"])

    assert result.exit_code == 1
    assert "users.csv:6 [grades]: 「P7」は文部科学省の学年コード" in result.output
    assert "“P7” is not a MEXT grade code (P1–P6, J1–J3, H1–H3)." in result.output
    assert "名簿は取り込まれませんでした。何も変更されていません。" in result.output
    assert db.scalar(select(func.count()).select_from(Student)) == 0


def test_unknown_encoding_and_missing_path_are_explained(run: CliRunner, tmp_path: Path) -> None:
    bad_encoding = run.invoke(
        main, ["roster", "import", str(SAMPLE_ZIP), "--board", "b", "--encoding", "latin-1"]
    )
    missing = run.invoke(main, ["roster", "import", str(tmp_path / "nothing.zip"), "--board", "b"])

    assert bad_encoding.exit_code == 2 and "utf-8 または cp932" in bad_encoding.output
    assert missing.exit_code == 2 and "does not exist" in missing.output


def test_mass_deactivation_waits_for_the_flag(run: CliRunner, db: Session, tmp_path: Path) -> None:
    from tests.roster.rosters import STUDENT_SAKURA, without_user

    leaving = without_user(STUDENT_SAKURA)
    graduated = build_zip(
        tmp_path / "g.zip", edit={"users.csv": leaving, "roles.csv": leaving, "enrollments.csv": leaving}
    )
    run.invoke(main, ["roster", "import", str(SAMPLE_ZIP), "--board", "tobira-city"])
    base = ["roster", "import", str(graduated), "--board", "tobira-city"]

    checked = run.invoke(main, [*base, "--dry-run"])
    held = run.invoke(main, base)
    assert checked.exit_code == 0 and "--accept-deactivations" in checked.output
    assert held.exit_code == 1
    assert "1 of 4 active students (25.0 %) would be deactivated" in held.output
    assert "run the import again with --accept-deactivations" in held.output
    assert db.scalar(select(func.count()).where(Student.status == "active")) == 4

    accepted = run.invoke(main, [*base, "--accept-deactivations"])
    assert accepted.exit_code == 0, accepted.output
    db.expire_all()
    assert db.scalar(select(func.count()).where(Student.status == "active")) == 3

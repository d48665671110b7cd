"""Carry-over additions: with --notify (or the tick box) each guardian of a child whose choice
was carried over gets one e-mail, in their language, through the outbox of the import's own
transaction; the template downloads and, filled in as shown, imports cleanly."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from app.cli import main
from app.config import Settings, get_settings
from app.db import Database
from app.domain.choices.models import CurrentChoice
from app.domain.notifications.models import OutboxEmail
from tests.guardian.factories import World
from tests.helpers import SmtpSink, body_of, csrf_token, deliver_mail, sign_in_as
from tests.staff import factories as staff_factories

HEADER = "student_id,service,choice,value,categories,received_on,received_by\n"


@pytest.fixture
def run(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRunner]:
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("ENVIRONMENT", "test")
    get_settings.cache_clear()
    yield CliRunner()
    get_settings.cache_clear()


def _file(tmp_path: Path, world: World) -> Path:
    path = tmp_path / "earlier.csv"
    path.write_text(
        HEADER
        + f"{world.hanako.sourced_id},dashboard,dashboard_display,hide_all,,2026-04-10,paper\n"
        + f"{world.jiro.sourced_id},teams,class_photos,deny,,2026-04-12,email\n"
        + f"{world.other_child.sourced_id},teams,class_photos,deny,,2026-04-12,phone\n",
        encoding="utf-8",
    )
    return path


def test_notify_sends_one_email_per_guardian_in_their_language(
    run: CliRunner,
    db: Session,
    database: Database,
    settings: Settings,
    smtp: SmtpSink,
    world: World,
    tmp_path: Path,
) -> None:
    path = _file(tmp_path, world)
    base = ["choices", "import", str(path), "--board", world.board.code]
    dry = run.invoke(main, [*base, "--dry-run", "--notify"])
    assert dry.exit_code == 0, dry.output
    assert db.scalar(select(func.count()).select_from(OutboxEmail)) == 0  # a dry run tells nobody

    done = run.invoke(main, [*base, "--notify"])
    assert done.exit_code == 0, done.output
    assert "3人の保護者にメールでお知らせします。" in done.output
    deliver_mail(database, settings)
    mother = smtp.to("yoko.yamada@example.jp")
    father = smtp.to("taro.yamada@example.jp")
    other = smtp.to("misaki.sato@example.jp")
    assert len(mother) == len(father) == len(other) == 1  # one each, however many children
    assert str(mother[0]["Subject"]) == "以前にいただいたお申出をトビラに登録しました"
    assert "山田 花子" in body_of(mother[0]) and "山田 次郎" in body_of(mother[0])
    mother_body = body_of(mother[0])
    assert "2026年4月10日" in mother_body and "2026-04-10" not in mother_body and "様" in mother_body
    assert (
        str(father[0]["Subject"]) == "The school has recorded your earlier request in Tobira"
    )  # he reads English
    assert "山田 花子" not in body_of(other[0]) and "佐藤 健太" in body_of(other[0])

    again = run.invoke(main, [*base, "--notify"])  # nothing new carried over: nobody is told again
    assert again.exit_code == 0 and "0人の保護者" in again.output
    deliver_mail(database, settings)
    assert len(smtp.to("yoko.yamada@example.jp")) == 1


def test_the_template_downloads_and_filled_in_as_shown_imports_with_the_tick_box(
    client: TestClient, db: Session, database: Database, settings: Settings, smtp: SmtpSink, world: World
) -> None:
    admin = staff_factories.staff(db, world.board, "board_admin")
    db.commit()
    sign_in_as(client, db, settings, admin)
    page = client.get("/staff/choices/import")
    assert 'href="/staff/choices/import/template.csv"' in page.text and 'name="notify"' not in page.text
    template = client.get("/staff/choices/import/template.csv")
    assert template.status_code == 200 and template.headers["content-type"].startswith("text/csv")
    assert "attachment" in template.headers["content-disposition"]
    lines = template.content.decode("utf-8-sig").split("\r\n")
    assert lines[0] == HEADER.strip() and lines[2] == ""  # the header, one example, nothing else
    assert lines[1].startswith("stu-0001,")

    filled = template.content.replace(b"stu-0001", world.hanako.sourced_id.encode())
    checked = client.post(
        "/staff/choices/import",
        data={"csrf_token": csrf_token(client, settings)},
        files={"file": ("filled.csv", filled, "text/csv")},
    )
    assert checked.status_code == 200, checked.text
    assert 'name="notify"' in checked.text
    digest = re.search(r'name="digest" value="([0-9a-f]{64})"', checked.text)
    assert digest is not None
    applied = client.post(
        "/staff/choices/import/confirm",
        data={"csrf_token": csrf_token(client, settings), "digest": digest.group(1), "notify": "on"},
    )
    assert applied.status_code == 200 and "2人の保護者にメールでお知らせします。" in applied.text
    db.expire_all()
    current = db.scalar(select(CurrentChoice).where(CurrentChoice.student_id == world.hanako.id))
    assert current is not None and current.channel == "import"
    deliver_mail(database, settings)
    assert len(smtp.to("yoko.yamada@example.jp")) == 1 and len(smtp.to("taro.yamada@example.jp")) == 1
    assert smtp.to("misaki.sato@example.jp") == []

"""Reminders go through the real worker and the loopback SMTP sink: once after the board's
delay for a request still waiting for confirmation, again only after another delay, never
more than the board's maximum, never once the guardian has confirmed; a staff member can
remind one family by hand; every reminder is audited. Time moves by back-dating rows."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, text, update
from sqlalchemy.orm import Session

from app.config import Settings
from app.db import Database, utcnow
from app.domain.audit.models import AuditEvent
from app.domain.audit.service import CLI
from app.domain.catalog.models import ServiceReview
from app.domain.choices import requests as flow
from app.domain.choices.models import ChoiceEvent
from app.domain.reach.models import Reminder
from app.domain.reach.settings import reminders_of, set_reminders
from tests.guardian.factories import World
from tests.helpers import SmtpSink, body_of, csrf_token, deliver_mail, links_in, run_jobs, sign_in_as
from tests.staff import factories as staff_factories


def _request(db: Session, settings: Settings, world: World) -> ChoiceEvent:
    request = flow.request_choice(
        db,
        settings,
        definition=world.dashboard_choice,
        student=world.hanako,
        guardian=world.mother,
        value="hide_all",
        category_codes=[],
        account_id=world.account.id,
    ).request
    db.commit()
    return request


def _days_pass(db: Session, request_id: int, days: float) -> None:
    """Move the request and every reminder about it `days` into the past."""
    shift = timedelta(days=days)
    if db.get_bind().dialect.name == "postgresql":  # back-dating an append-only row: tests only
        db.execute(text("SET LOCAL tobira.removal = 'on'"))
    request = db.get_one(ChoiceEvent, request_id)
    request.created_at = request.created_at - shift
    for reminder in db.scalars(select(Reminder)):
        reminder.sent_at = reminder.sent_at - shift
    db.commit()


def _round(database: Database, settings: Settings, smtp: SmtpSink) -> list[str]:
    """One worker round, then the outbox; the subjects of the mail the mother got since."""
    before = len(smtp.to("yoko.yamada@example.jp"))
    run_jobs(database, settings)
    deliver_mail(database, settings)
    return [str(m["Subject"]) for m in smtp.to("yoko.yamada@example.jp")[before:]]


def test_a_waiting_request_is_reminded_after_the_delay_at_most_k_times(
    db: Session, database: Database, settings: Settings, smtp: SmtpSink, world: World
) -> None:
    request = _request(db, settings, world)
    deliver_mail(database, settings)  # the first confirmation mail
    assert reminders_of(db, world.board.id).delay_days == 2  # the default: 2 days, 2 reminders

    _days_pass(db, request.id, 1)
    assert _round(database, settings, smtp) == []  # not yet: one day only

    _days_pass(db, request.id, 1.1)
    subjects = _round(database, settings, smtp)
    assert subjects == ["【再送】花子さんについての選択のご確認のお願い"]
    mail = smtp.to("yoko.yamada@example.jp")[-1]
    assert "学校からの再度のご案内です。" in body_of(mail)
    assert _round(database, settings, smtp) == []  # the next one waits for another delay

    _days_pass(db, request.id, 2.1)
    assert len(_round(database, settings, smtp)) == 1  # the second and last
    _days_pass(db, request.id, 2.1)
    assert _round(database, settings, smtp) == []  # never more than K = 2
    assert db.scalar(select(func.count()).where(Reminder.choice_event_id == request.id)) == 2
    audited = db.scalar(select(func.count()).where(AuditEvent.action == "reach.reminder_sent"))
    assert audited == 2


def test_the_reminders_link_confirms_and_then_nothing_more_is_sent(
    client: TestClient, db: Session, database: Database, settings: Settings, smtp: SmtpSink, world: World
) -> None:
    request = _request(db, settings, world)
    deliver_mail(database, settings)
    first_link = links_in(smtp.to("yoko.yamada@example.jp")[-1])[0]
    _days_pass(db, request.id, 2.1)
    assert len(_round(database, settings, smtp)) == 1
    link = next(u for u in links_in(smtp.to("yoko.yamada@example.jp")[-1]) if "/confirm/" in u)
    assert link != first_link  # a fresh link; the first one was replaced
    path = re.sub(r"^https?://[^/]+", "", link)
    confirmed = client.post(path, data={"csrf_token": csrf_token(client, settings)})
    assert confirmed.status_code == 200
    db.expire_all()
    assert (
        db.scalar(
            select(func.count()).where(ChoiceEvent.request_id == request.id, ChoiceEvent.kind == "confirmed")
        )
        == 1
    )

    _days_pass(db, request.id, 5)
    subjects = _round(database, settings, smtp)
    assert not [s for s in subjects if "再送" in s]  # never after confirmation


def test_the_board_sets_delay_and_maximum_and_zero_turns_reminders_off(
    db: Session, database: Database, settings: Settings, smtp: SmtpSink, world: World
) -> None:
    set_reminders(db, world.board.id, delay_days=1, max_reminders=0, actor=CLI)
    request = _request(db, settings, world)
    deliver_mail(database, settings)
    _days_pass(db, request.id, 2)
    assert _round(database, settings, smtp) == []
    set_reminders(db, world.board.id, delay_days=1, max_reminders=1, actor=CLI)
    db.commit()
    assert len(_round(database, settings, smtp)) == 1


def _material_change(db: Session, database: Database, settings: Settings, world: World) -> None:
    """The board publishes a version of the dashboard that holds one more kind of data; the
    announcement asks every covered guardian to review (ADR 0090)."""
    from dataclasses import replace

    from app.domain.catalog.service import CategoryInput, publish_service_version, version_input_from
    from app.domain.choices.jobs import request_announcement
    from tests.guardian.test_notices import _latest

    before = version_input_from(_latest(db, world.dashboard))
    data = replace(before, categories=[*before.categories, CategoryInput("survey_answers", "生活習慣調査")])
    result = publish_service_version(db, service=world.dashboard, data=data, actor=world.admin_actor)
    request_announcement(db, result, world.admin_actor, base_url="http://127.0.0.1")
    db.commit()
    run_jobs(database, settings)
    deliver_mail(database, settings)


def _reviewed(db: Session, world: World, guardian_id: int, student_id: int) -> None:
    from app.domain.choices.reviews import mark_reviewed

    mark_reviewed(
        db,
        board_id=world.board.id,
        guardian_id=guardian_id,
        student_id=student_id,
        service_id=world.dashboard.id,
        outcome="kept",
        account_id=None,
    )
    db.commit()


def _reviews_asked_days_ago(db: Session, days: int) -> None:
    db.execute(update(ServiceReview).values(requested_at=utcnow() - timedelta(days=days)))
    db.commit()


def test_an_unreviewed_service_change_is_reminded_in_the_guardians_language(
    db: Session, database: Database, settings: Settings, smtp: SmtpSink, world: World
) -> None:
    _material_change(db, database, settings, world)
    # the father reviews the change for both children: he has acted
    for child in (world.hanako, world.jiro):
        _reviewed(db, world, world.father.id, child.id)
    _reviews_asked_days_ago(db, 3)
    run_jobs(database, settings)
    deliver_mail(database, settings)
    to_mother = [
        m for m in smtp.to("yoko.yamada@example.jp") if "【再送】お子さまのデータ" in str(m["Subject"])
    ]
    assert len(to_mother) == 1 and "花子" in body_of(to_mother[0]) and "/children" in body_of(to_mother[0])
    assert not [
        m for m in smtp.to("taro.yamada@example.jp") if "Reminder" in str(m["Subject"])
    ]  # he reviewed
    run_jobs(database, settings)
    deliver_mail(database, settings)
    assert (
        len([m for m in smtp.to("yoko.yamada@example.jp") if "【再送】お子さまのデータ" in str(m["Subject"])])
        == 1
    )


def test_staff_remind_one_family_by_hand_and_not_once_it_has_answered(
    client: TestClient, db: Session, database: Database, settings: Settings, smtp: SmtpSink, world: World
) -> None:
    request = _request(db, settings, world)
    admin = staff_factories.staff(db, world.board, "school_admin", world.school)
    db.commit()
    sign_in_as(client, db, settings, admin)
    form = {
        "csrf_token": csrf_token(client, settings),
        "guardian_id": world.mother.id,
        "student_id": world.hanako.id,
    }
    sent = client.post("/staff/reach/waiting/remind", data=form, follow_redirects=False)
    assert sent.status_code == 303
    deliver_mail(database, settings)
    assert any("再送" in str(m["Subject"]) for m in smtp.to("yoko.yamada@example.jp"))
    reminder = db.scalar(select(Reminder).where(Reminder.choice_event_id == request.id))
    assert reminder is not None and reminder.via == "staff" and reminder.actor_account_id == admin.id

    flow.cancel_request(db, request, account_id=world.account.id, via="page")
    db.commit()
    again = client.post("/staff/reach/waiting/remind", data=form)
    assert again.status_code == 409  # the guardian already acted
    other = {**form, "guardian_id": world.other_guardian.id}
    assert client.post("/staff/reach/waiting/remind", data=other).status_code == 404  # not a pair


def test_portal_board_reminders_sets_and_shows_the_setting(
    db: Session, world: World, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from app.cli import main
    from app.config import get_settings

    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("ENVIRONMENT", "test")
    get_settings.cache_clear()
    db.commit()
    runner = CliRunner()
    shown = runner.invoke(main, ["board", "reminders", "--board", world.board.code])
    assert shown.exit_code == 0 and "delay-days=2 max=2" in shown.output
    changed = runner.invoke(
        main, ["board", "reminders", "--board", world.board.code, "--delay-days", "3", "--max", "1"]
    )
    assert changed.exit_code == 0 and "delay-days=3 max=1" in changed.output
    refused = runner.invoke(main, ["board", "reminders", "--board", world.board.code, "--max", "9"])
    assert refused.exit_code == 2 and "--max" in refused.output
    db.expire_all()
    assert reminders_of(db, world.board.id).max_reminders == 1
    audited = db.scalar(select(func.count()).where(AuditEvent.action == "reach.reminder_setting_changed"))
    assert audited == 1
    get_settings.cache_clear()


def test_the_overview_counts_waiting_requests_and_unreviewed_changes_until_the_family_acts(
    db: Session, database: Database, settings: Settings, world: World
) -> None:
    from app.domain.people.models import GuardianStudent
    from app.domain.reach import overview as reach

    _material_change(db, database, settings, world)
    request = _request(db, settings, world)
    # everyone reviews the change except the father, for Jiro
    for guardian_id, student_id in db.execute(
        select(GuardianStudent.guardian_id, GuardianStudent.student_id)
    ):
        if (guardian_id, student_id) != (world.father.id, world.jiro.id):
            _reviewed(db, world, guardian_id, student_id)
    scope = reach.Scope(world.board.id)

    def numbers() -> dict[str, int]:
        return reach.overview(db, scope, utcnow(), reminders_of(db, world.board.id)).total.by_measure

    assert numbers()["waiting"] == 0  # not yet past the delay
    assert numbers()["unreviewed"] == 1
    unreviewed = reach.families(db, scope, "unreviewed", utcnow(), reminders_of(db, world.board.id))
    assert [(p.guardian_id, p.student_id) for p in unreviewed] == [(world.father.id, world.jiro.id)]

    _days_pass(db, request.id, 3)
    assert numbers()["waiting"] == 1
    waiting = reach.families(db, scope, "waiting", utcnow(), reminders_of(db, world.board.id))
    assert [(p.guardian_id, p.student_id) for p in waiting] == [(world.mother.id, world.hanako.id)]

    flow.cancel_request(db, db.get_one(ChoiceEvent, request.id), account_id=world.account.id, via="page")
    db.commit()
    _reviewed(db, world, world.father.id, world.jiro.id)
    assert numbers()["waiting"] == 0 and numbers()["unreviewed"] == 0  # both acted

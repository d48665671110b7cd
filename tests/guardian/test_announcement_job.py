"""Announcing a service change is a job the staff request only queues (ADR 0099): the request
answers before any message exists; the job writes one message per covered guardian in one
statement, holding no text until it is sent in the guardian's language; a second run adds
nothing."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from app.config import Settings
from app.db import Database
from app.domain.audit.models import AuditEvent
from app.domain.catalog.models import ServiceReview
from app.domain.choices import jobs as choice_jobs
from app.domain.jobs import service as jobs
from app.domain.jobs.models import Job
from app.domain.notifications.models import Mailing, OutboxEmail
from app.domain.people.models import Student
from tests.guardian.factories import World, link, make_guardian, make_student
from tests.helpers import SmtpSink, StatementCounter, body_of, csrf_token, deliver_mail, run_jobs, sign_in_as
from tests.staff.factories import staff
from tests.staff.test_admin_pages import SERVICE_FORM


def _outbox(db: Session) -> list[OutboxEmail]:
    db.expire_all()
    return list(db.scalars(select(OutboxEmail).where(OutboxEmail.purpose == "service_change")))


def _publish_through_the_console(client: TestClient, db: Session, settings: Settings, world: World) -> None:
    """A board administrator adds a kind of data to the dashboard on the edit page."""
    sign_in_as(client, db, settings, staff(db, world.board, "board_admin"))
    form = {key: [value] for key, value in SERVICE_FORM if key != "code"}
    form["name"] = ["スクールダッシュボード"]
    form["categories"] = ["identity", "learning_records"]
    form["csrf_token"] = [csrf_token(client, settings)]
    answer = client.post(f"/staff/services/{world.dashboard.id}/edit", data=form, follow_redirects=False)
    assert answer.status_code == 303, answer.text


def test_the_request_only_queues_and_the_job_mails_each_guardian_once_in_their_language(
    client: TestClient, db: Session, database: Database, settings: Settings, smtp: SmtpSink, world: World
) -> None:
    # A third guardian with a child at the school, and one without an address (not mailed).
    newcomer = make_guardian(db, world.board, family="鈴木", given="一郎", email="ichiro@example.jp")
    link(db, newcomer, make_student(db, world.school, family="鈴木", given="蓮", grade="P2"))
    no_address = make_guardian(db, world.board, given="花")
    no_address.email = None
    link(db, no_address, make_student(db, world.school, grade="P4"))
    db.commit()

    _publish_through_the_console(client, db, settings, world)
    assert _outbox(db) == []  # the staff request answered before any message existed
    queued = db.scalars(select(Job).where(Job.kind == choice_jobs.ANNOUNCE)).all()
    assert [job.status for job in queued] == ["queued"]

    with StatementCounter(database.engine) as counter:
        run_jobs(database, settings)
    writes = [s for s in counter.statements if s.lstrip().upper().startswith("INSERT INTO EMAIL_OUTBOX")]
    set_based = [s for s in writes if "SELECT" in s.upper()]
    others = db.scalar(select(func.count()).where(OutboxEmail.purpose != "service_change"))
    assert len(set_based) == 1 and len(writes) - 1 == others  # the rest: other jobs' own mail

    messages = _outbox(db)
    addresses = sorted(m.to_address for m in messages)
    assert addresses == sorted(
        [world.mother.email, world.father.email, world.other_guardian.email, newcomer.email]
    )
    # At rest before sending: ids, no text (no child's name, no body).
    assert all(m.subject == "" and m.body_text == "" and m.student_ids for m in messages)
    mother = next(m for m in messages if m.to_address == world.mother.email)
    assert sorted(mother.student_ids or []) == sorted([world.hanako.id, world.jiro.id])
    assert {m.to_address: m.language for m in messages}[str(world.father.email)] == "en"

    assert deliver_mail(database, settings) >= 4
    [to_mother] = smtp.to(str(world.mother.email))
    assert "山田 花子" in body_of(to_mother) and "山田 次郎" in body_of(to_mother)
    assert "サービス" in str(to_mother["Subject"]) and to_mother["Content-Language"] == "ja"
    [to_father] = smtp.to(str(world.father.email))
    assert "has changed" in str(to_father["Subject"]) and to_father["Content-Language"] == "en"
    assert "Now also holds:" in body_of(to_father)
    [to_newcomer] = smtp.to(str(newcomer.email))
    assert "鈴木 蓮" in body_of(to_newcomer) and "山田" not in body_of(to_newcomer)
    # Once sent, the text is kept like any other sent mail's (until the retention period).
    sent = {m.to_address: m for m in _outbox(db)}
    assert (
        sent[str(world.mother.email)].status == "sent"
        and "山田 花子" in sent[str(world.mother.email)].body_text
    )


def test_running_the_announcement_again_adds_nothing(
    client: TestClient, db: Session, database: Database, settings: Settings, smtp: SmtpSink, world: World
) -> None:
    _publish_through_the_console(client, db, settings, world)
    run_jobs(database, settings)
    first = sorted((m.guardian_id, m.to_address) for m in _outbox(db))
    reviews = db.scalar(select(func.count()).select_from(ServiceReview))
    assert len(first) == 3 and reviews == 5  # two guardians of two children, one of one
    assert db.scalar(select(func.count()).select_from(Mailing)) == 1

    # The same announcement queued again (a retry after a lost answer, an operator's rerun).
    job = db.scalars(select(Job).where(Job.kind == choice_jobs.ANNOUNCE)).one()
    jobs.enqueue(db, choice_jobs.ANNOUNCE, dict(job.payload), board_id=world.board.id)
    db.commit()
    run_jobs(database, settings)
    assert sorted((m.guardian_id, m.to_address) for m in _outbox(db)) == first
    assert db.scalar(select(func.count()).select_from(ServiceReview)) == reviews
    assert db.scalar(select(func.count()).select_from(Mailing)) == 1
    announced = select(func.count()).where(AuditEvent.action == "guardian.service_change_announced")
    assert db.scalar(announced) == 1  # audited with the messages, once
    deliver_mail(database, settings)
    assert len(smtp.to(str(world.mother.email))) == 1


def test_a_message_whose_child_is_gone_by_sending_time_is_cancelled(
    client: TestClient, db: Session, database: Database, settings: Settings, smtp: SmtpSink, world: World
) -> None:
    _publish_through_the_console(client, db, settings, world)
    run_jobs(database, settings)
    db.execute(delete(Student).where(Student.id == world.other_child.id))  # erased meanwhile
    db.commit()
    deliver_mail(database, settings)
    assert smtp.to(str(world.other_guardian.email)) == []
    statuses = {m.to_address: m.status for m in _outbox(db)}
    assert statuses[str(world.other_guardian.email)] == "cancelled"
    assert statuses[str(world.mother.email)] == "sent"

"""Once the mail is sent, nothing stored can confirm a choice or sign anyone in: every text
and JSON column of every table is searched for one-time links, and each one found is tried."""

from __future__ import annotations

import json
import re
from urllib.parse import urlsplit

from fastapi.testclient import TestClient
from sqlalchemy import JSON, String, Text, select
from sqlalchemy.orm import Session

from app.config import Settings
from app.db import Base, Database
from app.domain.audit.models import AuditEvent
from app.domain.notifications.models import OutboxEmail
from tests.guardian.factories import World
from tests.helpers import SmtpSink, csrf_token, deliver_mail, links_in, run_jobs, shown_notice, sign_in_as

CANDIDATE = re.compile(r"/(?:confirm|signin/email)/[A-Za-z0-9_\-\[\] ]+")


def _stored_text(db: Session) -> list[str]:
    found: list[str] = []
    for table in Base.metadata.sorted_tables:
        columns = [c for c in table.columns if isinstance(c.type, String | Text | JSON)]
        if not columns:
            continue
        for row in db.execute(select(*columns)):
            for value in row:
                if value is not None:
                    found.append(value if isinstance(value, str) else json.dumps(value, ensure_ascii=False))
    return found


def test_no_stored_string_opens_a_one_time_link(
    client: TestClient, db: Session, database: Database, settings: Settings, smtp: SmtpSink, world: World
) -> None:
    client.post(
        "/signin/email", data={"email": world.mother.email, "csrf_token": csrf_token(client, settings)}
    )
    sign_in_as(client, db, settings, world.account)
    client.post(
        f"/children/{world.hanako.id}/choices/{world.dashboard_choice.id}",
        data={
            "csrf_token": csrf_token(client, settings),
            "notice_version": shown_notice(db, world.board.id),
            "value": "hide_all",
        },
    )
    assert deliver_mail(database, settings) == 2
    mailed = [urlsplit(u).path for m in smtp.to(str(world.mother.email)) for u in links_in(m)]
    live = [path for path in mailed if path.startswith(("/confirm/", "/signin/email/"))]
    assert len(live) == 2 and all(client.get(path).status_code == 200 for path in live)

    db.expire_all()
    stored = _stored_text(db)
    assert any("/confirm/" in text for text in stored)  # the sent mail's body is kept, cut
    candidates = {match for text in stored for match in CANDIDATE.findall(text)}
    opened = [path for path in candidates if client.get(path.strip()).status_code == 200]
    assert opened == []
    for path in live:  # the links the guardian received still work
        assert client.get(path).status_code == 200
    bodies = db.scalars(select(OutboxEmail.body_text)).all()
    assert all("[removed after sending]" in body for body in bodies if "/confirm/" in body)


def test_sent_mail_bodies_are_emptied_after_the_retention_period(
    client: TestClient, db: Session, database: Database, settings: Settings, smtp: SmtpSink, world: World
) -> None:
    from datetime import timedelta

    from app.domain.notifications.dispatcher import PURGED, purge_sent_bodies
    from app.domain.notifications.service import queue_email

    client.post(
        "/signin/email", data={"email": world.mother.email, "csrf_token": csrf_token(client, settings)}
    )
    assert deliver_mail(database, settings) == 1
    with database.transaction() as session:  # one more, not sent yet
        queue_email(
            session,
            to="x@example.jp",
            template="email/test.txt",
            context={"name": "n"},
            purpose="test",
            language="ja",
            board_id=None,
        )
    with database.transaction() as session:
        assert purge_sent_bodies(session, timedelta(days=30)) == 0  # still within the period
    immediate = settings.model_copy(update={"mail_body_retention_days": 0})
    run_jobs(database, immediate)  # the worker's daily purge, audited in its transaction
    purged = db.scalar(select(AuditEvent).where(AuditEvent.action == "notifications.bodies_purged"))
    assert purged is not None and purged.details == {"emails": 1, "retention_days": 0}
    db.expire_all()
    rows = {row.status: row for row in db.scalars(select(OutboxEmail))}
    assert rows["sent"].body_text == PURGED and rows["sent"].attachments == []
    assert (
        rows["sent"].to_address == world.mother.email and rows["sent"].sent_at is not None
    )  # the fact stays
    assert rows["pending"].body_text != PURGED  # a mail not sent yet keeps its text

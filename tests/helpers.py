"""Test helpers that use the real mechanisms: real SMTP, real sessions, real CSRF tokens."""

from __future__ import annotations

import asyncio
import email
import email.policy
import re
import socket
import threading
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from fastapi.testclient import TestClient
from sqlalchemy import Engine, event, update
from sqlalchemy.orm import Session

from app.config import Settings
from app.db import Database, utcnow
from app.domain.accounts.models import Account
from app.domain.jobs.models import Job
from app.domain.notifications import dispatcher
from app.surfaces.middleware import CSRF_COOKIE, csrf_token_for
from app.surfaces.sessions import SESSION_COOKIE, _serializer
from app.worker import make_worker


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class _Collector:
    def __init__(self, delay: float = 0.0) -> None:
        self.messages: list[EmailMessage] = []
        self.lock = threading.Lock()
        self.delay = delay

    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
        if self.delay:  # a slow mail server, so that a dispatcher can be stopped mid-batch
            await asyncio.sleep(self.delay)
        raw = envelope.content  # type: ignore[attr-defined]
        message = email.message_from_bytes(raw, policy=email.policy.default)
        with self.lock:
            self.messages.append(message)  # type: ignore[arg-type]
        return "250 OK"


class SmtpSink:
    """A real SMTP server on loopback (aiosmtpd) that keeps what it receives."""

    def __init__(self, port: int, delay: float = 0.0) -> None:
        self.port = port
        self.collector = _Collector(delay)
        self.controller = Controller(self.collector, hostname="127.0.0.1", port=port)

    def start(self) -> None:
        self.controller.start()

    def stop(self) -> None:
        self.controller.stop()

    @property
    def messages(self) -> list[EmailMessage]:
        with self.collector.lock:
            return list(self.collector.messages)

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if address in str(m["To"])]


def body_of(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    return str(part.get_content())


def links_in(message: EmailMessage) -> list[str]:
    return re.findall(r"https?://[^\s>\"']+", body_of(message))


def deliver_mail(database: Database, settings: Settings) -> int:
    """Run the outbox dispatcher once against the loopback SMTP server."""
    return dispatcher.dispatch_pending(database, settings)


def run_jobs(database: Database, settings: Settings) -> int:
    """Run every queued job as `portal worker` would (without sending mail); periodic work
    (e.g. expiring requests) runs now rather than at its next time."""
    worker = make_worker(database, settings)
    worker.rounds = []
    worker.schedule_periodic()
    with database.transaction() as db:
        db.execute(
            update(Job)
            .where(Job.singleton_key.is_not(None), Job.status == "queued")
            .values(run_after=utcnow())
        )
    return worker.run_round()


def csrf_token(client: TestClient, settings: Settings) -> str:
    """The token a page would carry for this client's CSRF cookie."""
    if CSRF_COOKIE not in client.cookies:
        client.get("/healthz")
    return csrf_token_for(settings.secret_key, client.cookies[CSRF_COOKIE])


def shown_notice(db: Session, board_id: int) -> str:
    """The notice version the child page's choice forms carry now, as a browser sends it back."""
    from app.domain.catalog.notices import current_notice_id

    current = current_notice_id(db, board_id)
    return "" if current is None else str(current)


def sign_in_as(client: TestClient, db: Session, settings: Settings, account: Account) -> None:
    """Start a real server-side session for `account` and give the client its cookie.

    For router tests of pages behind sign-in; the OIDC flow itself is tested end to end
    in tests/accounts against a real provider.
    """
    from fastapi import Response

    from app.surfaces.sessions import start_session

    response = Response()
    start_session(db, response, settings, account)
    db.commit()
    cookie = response.headers["set-cookie"].split(";")[0].split("=", 1)[1]
    assert _serializer(settings).loads(cookie)
    client.cookies.set(SESSION_COOKIE, cookie)


class StatementCounter:
    """Counts the SQL statements an engine runs while active (SQLAlchemy cursor events).

    Page tests assert a budget that must not grow with the size of the catalogue, the number
    of children or choices: a query per row shows up here as a number that moves.
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.statements: list[str] = []

    def _count(self, _conn: object, _cursor: object, statement: str, *_args: object) -> None:
        self.statements.append(statement)

    def __enter__(self) -> StatementCounter:
        self.statements = []
        event.listen(self.engine, "before_cursor_execute", self._count)
        return self

    def __exit__(self, *_exc: object) -> None:
        event.remove(self.engine, "before_cursor_execute", self._count)

    @property
    def count(self) -> int:
        return len(self.statements)

    def report(self) -> str:
        return "\n".join(f"{i + 1:3}: {s.splitlines()[0][:160]}" for i, s in enumerate(self.statements))


def translate(db: Any, obj: Any, lang: str = "en", *, board_id: int | None = None, **texts: str) -> None:
    """Board content translated as the board would on the translations page (ADR 0101)."""
    from app.domain.translations import service as translations

    owner = board_id if board_id is not None else getattr(obj, "board_id", None)
    if owner is None and type(obj).__tablename__ == "boards":
        owner = obj.id
    translations.save(db, owner, type(obj).__tablename__, obj.id, {lang: texts})


def pop_english(values: dict[str, Any]) -> dict[str, str]:
    """`name_en=…` keyword arguments of the factories, as {"name": …} (removed from `values`)."""
    english = {}
    for key in [k for k in values if k.endswith("_en")]:
        text = values.pop(key)
        if text:
            english[key[:-3]] = str(text)
    return english

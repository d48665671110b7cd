"""No state in the process: two real app processes (`portal serve` on two ports) against one
PostgreSQL database behave as one app. A guardian signed in on one is signed in on the other
(and signed out on both), a rate limit counts the requests of both, and a job is claimed by one
of two claiming processes only. What lives where: ADR 0096."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.config import Settings
from app.db import Database
from app.domain.jobs.models import Job
from app.domain.notifications.models import OutboxEmail
from tests.accounts import factories as f
from tests.conftest import TEST_SECRET
from tests.helpers import SmtpSink, deliver_mail, free_port, links_in

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.skipif(
    not os.environ.get("TEST_DATABASE", "").startswith("postgres"),
    reason="one database shared by several processes is PostgreSQL (SQLite is for one small install)",
)
CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


class App:
    """One `portal serve` process; cookies are kept by the test, as one browser keeps them."""

    def __init__(self, database_url: str) -> None:
        self.port = free_port()
        env = {
            **os.environ,
            "ENVIRONMENT": "test",
            "SECRET_KEY": TEST_SECRET,
            "DATABASE_URL": database_url,
            "BASE_URL": f"http://127.0.0.1:{self.port}",
            "LOG_LEVEL": "WARNING",
        }
        command = [sys.executable, "-m", "app.cli", "serve", "--port", str(self.port)]
        self.process = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        self.base = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{self.base}/healthz").status_code == 200:
                    return
            except httpx.HTTPError:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    raise
            time.sleep(0.1)

    def get(self, path: str, cookies: dict[str, str]) -> httpx.Response:
        return httpx.get(self.base + path, cookies=cookies)

    def post(self, path: str, cookies: dict[str, str], data: dict[str, str]) -> httpx.Response:
        return httpx.post(self.base + path, cookies=cookies, data=data)

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=20)


@pytest.fixture
def two_apps(database_url: str, db: Session) -> Iterator[tuple[App, App]]:
    first = App(database_url)
    try:
        second = App(database_url)
    except BaseException:
        first.stop()
        raise
    yield first, second
    first.stop()
    second.stop()


def _form_page(app: App, path: str, cookies: dict[str, str]) -> str:
    """Open a page with a form, keep the CSRF cookie it sets, return its token."""
    page = app.get(path, cookies)
    assert page.status_code == 200
    cookies.update(dict(page.cookies))
    found = CSRF_FIELD.search(page.text)
    assert found is not None
    return found.group(1)


def test_a_guardian_signed_in_on_one_process_is_signed_in_on_the_other(
    two_apps: tuple[App, App], db: Session, database: Database, settings: Settings, smtp: SmtpSink
) -> None:
    first, second = two_apps
    board = f.board(db)
    klass = f.school_class(db, f.school(db, board))
    _guardian, child, _pair = f.family(db, klass, email="two.processes@example.jp")
    db.commit()

    browser: dict[str, str] = {}
    token = _form_page(first, "/signin", browser)
    assert (
        first.post(
            "/signin/email", browser, {"email": "two.processes@example.jp", "csrf_token": token}
        ).status_code
        == 200
    )
    assert deliver_mail(database, settings) == 1
    [message] = smtp.to("two.processes@example.jp")
    [link] = [urlsplit(url).path for url in links_in(message) if "/signin/email/" in url]
    # The link was sent by the first process; the second opens it and signs the guardian in.
    token = _form_page(second, link, browser)
    used = httpx.post(second.base + link, cookies=browser, data={"csrf_token": token}, follow_redirects=False)
    assert used.status_code == 303 and used.headers["location"] == "/children"
    browser.update(dict(used.cookies))

    for app in (first, second):
        page = app.get("/children", browser)
        assert page.status_code == 200 and child.given_name in page.text, app.port

    # Signing out on the first ends the session on the second too.
    token = _form_page(first, f"/children/{child.id}", browser)
    assert first.post("/signout", browser, {"csrf_token": token}).status_code == 303
    after = second.get("/children", browser)  # the old session cookie, still sent
    assert after.status_code == 303 and after.headers["location"] == "/signin?next=/children"


def test_a_rate_limit_counts_the_requests_of_both_processes(
    two_apps: tuple[App, App], db: Session, database: Database
) -> None:
    first, second = two_apps
    board = f.board(db)
    f.family(db, f.school_class(db, f.school(db, board)), email="limited@example.jp")
    db.commit()

    # Three sign-in links per address in 15 minutes, whichever process is asked.
    answers = []
    for app in (first, second, first, second):
        browser: dict[str, str] = {}
        token = _form_page(app, "/signin", browser)
        answers.append(
            app.post("/signin/email", browser, {"email": "limited@example.jp", "csrf_token": token})
        )
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    with database.session() as session:
        sent = session.scalar(
            select(func.count()).where(
                OutboxEmail.to_address == "limited@example.jp", OutboxEmail.purpose == "email_signin"
            )
        )
    assert sent == 3


CLAIMER = """
import json, sys, time
from datetime import timedelta
from pathlib import Path

import app.domain.models
from app.db import Database
from app.domain.jobs import service as jobs

database, me, ready, go = Database(sys.argv[1]), sys.argv[2], Path(sys.argv[3]), Path(sys.argv[4])
with database.transaction() as db:  # connected before the start, so both begin together
    jobs.claim_next(db, me, ["nothing.yet"], timedelta(minutes=5))
ready.touch()
while not go.exists():
    time.sleep(0.005)
claimed = []
while True:
    with database.transaction() as db:
        job = jobs.claim_next(db, me, ["test.two_processes"], timedelta(minutes=5))
        if job is None:
            break
        claimed.append(job.id)
    time.sleep(0.003)  # the work, while the other process claims
    with database.transaction() as db:
        jobs.succeed(db, job.id, me)
print(json.dumps(claimed))
"""


def test_a_job_is_claimed_by_one_of_two_processes(
    db: Session, database: Database, database_url: str, tmp_path: Path
) -> None:
    db.add_all([Job(kind="test.two_processes", payload={"n": n}) for n in range(120)])
    db.commit()
    go = tmp_path / "go"
    claimers = [
        subprocess.Popen(
            [
                sys.executable,
                "-c",
                CLAIMER,
                database_url,
                f"claimer-{n}",
                str(tmp_path / f"ready-{n}"),
                str(go),
            ],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
        )
        for n in (1, 2)
    ]
    deadline = time.monotonic() + 60
    while not all((tmp_path / f"ready-{n}").exists() for n in (1, 2)):
        assert time.monotonic() < deadline, "the claimers did not start"
        time.sleep(0.01)
    go.touch()
    claimed = [json.loads(process.communicate(timeout=120)[0]) for process in claimers]

    assert all(claimed), "both processes took part"
    assert not set(claimed[0]) & set(claimed[1]), "no job was claimed by both"
    with database.session() as session:
        jobs = list(session.scalars(select(Job).where(Job.kind == "test.two_processes")))
    assert sorted(claimed[0] + claimed[1]) == sorted(job.id for job in jobs)
    assert {(job.status, job.attempts) for job in jobs} == {("succeeded", 1)}

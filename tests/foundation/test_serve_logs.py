"""`portal serve` as it runs in production logs no secret, name or address.

A guardian signs in by e-mail link, asks to hide a child's data and confirms from the mailed
link; a clerk searches for the child by name. Every line the server printed is then searched
for the links' secrets, the names and the e-mail addresses used.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from urllib.parse import urlsplit

import httpx
import pytest
from fastapi import Response
from sqlalchemy.orm import Session

from app.config import Settings
from app.db import Database
from app.surfaces.middleware import CSRF_COOKIE, csrf_token_for
from app.surfaces.sessions import SESSION_COOKIE, start_session
from tests.conftest import TEST_SECRET
from tests.guardian.factories import World, build_world
from tests.helpers import SmtpSink, deliver_mail, free_port, links_in
from tests.staff import factories as staff_factories


class Served:
    """`portal serve` in a child process; `stop()` ends it and returns every line it printed."""

    def __init__(self, database_url: str) -> None:
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "SECRET_KEY": TEST_SECRET,
            "ENVIRONMENT": "test",
            "BASE_URL": self.url,
            "LOG_LEVEL": "DEBUG",
            "OIDC_PROVIDERS": "[]",
        }
        self.process = subprocess.Popen(
            [sys.executable, "-m", "app.cli", "serve", "--port", str(port)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{self.url}/healthz").status_code == 200:
                    return
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline and self.process.poll() is None, "portal serve did not start"
            time.sleep(0.1)

    def stop(self) -> list[str]:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
        output, _ = self.process.communicate(timeout=30)
        return output.splitlines()


@pytest.fixture
def served(database_url: str) -> Iterator[Served]:
    server = Served(database_url)
    yield server
    server.stop()


def _client(url: str) -> httpx.Client:
    client = httpx.Client(base_url=url)
    client.get("/healthz")
    return client


def _csrf(client: httpx.Client) -> str:
    return csrf_token_for(TEST_SECRET, client.cookies[CSRF_COOKIE])


def test_a_whole_journey_leaves_no_secret_name_or_address_in_the_log(
    served: Served,
    db: Session,
    database: Database,
    settings: Settings,
    smtp: SmtpSink,
) -> None:
    url = served.url
    world: World = build_world(db)
    clerk = staff_factories.staff(db, world.board, "school_admin", world.school)
    db.commit()
    served_settings = settings.model_copy(update={"base_url": url})

    guardian = _client(url)
    asked = guardian.post("/signin/email", data={"email": world.mother.email, "csrf_token": _csrf(guardian)})
    assert asked.status_code == 200
    deliver_mail(database, served_settings)
    [signin_link] = [
        u for m in smtp.to(str(world.mother.email)) for u in links_in(m) if "/signin/email/" in u
    ]
    signin_path = urlsplit(signin_link).path
    assert guardian.get(signin_path).status_code == 200
    assert guardian.post(signin_path, data={"csrf_token": _csrf(guardian)}).status_code == 303

    child = f"/children/{world.hanako.id}"
    assert guardian.get(child).status_code == 200
    guardian.post(
        f"{child}/choices/{world.dashboard_choice.id}",
        data={"csrf_token": _csrf(guardian), "notice_version": str(world.notice.id), "value": "hide_all"},
    )
    deliver_mail(database, served_settings)
    [confirm_link] = [u for m in smtp.to(str(world.mother.email)) for u in links_in(m) if "/confirm/" in u]
    confirm_path = urlsplit(confirm_link).path
    assert guardian.get(confirm_path).status_code == 200
    assert guardian.post(confirm_path, data={"csrf_token": _csrf(guardian)}).status_code == 200

    staff = _client(url)
    response = Response()
    start_session(db, response, settings, clerk)
    db.commit()
    staff.cookies.set(SESSION_COOKIE, response.headers["set-cookie"].split(";")[0].split("=", 1)[1])
    search = staff.get(
        "/staff/students", params={"q": f"{world.hanako.family_name} {world.hanako.given_name}"}
    )
    assert search.status_code == 200 and world.hanako.given_name in search.text
    assert "server" not in {name.lower() for name in search.headers}

    guardian.close()
    staff.close()
    lines = served.stop()
    served_request = [line for line in lines if "GET /children/{student_id}" in line]
    assert served_request, "the app's own access log is on"  # route templates, not raw paths
    secrets = {
        "sign-in link": signin_path.rsplit("/", 1)[-1],
        "confirmation link": confirm_path.rsplit("/", 1)[-1],
        "guardian address": str(world.mother.email),
        "family name": world.hanako.family_name,
        "child's name": world.hanako.given_name,
        "guardian's name": world.mother.given_name,
        "searched query": "q=",
    }
    found = {what: line for line in lines for what, value in secrets.items() if value in line}
    assert found == {}

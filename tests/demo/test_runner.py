"""Smoke test of `portal demo` as a person runs it: a real process on free ports, the
start page, both demo providers, mail through the in-app dispatcher to the mailbox, Ctrl-C."""

from __future__ import annotations

import base64
import json
import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import httpx
import pytest

from app.cli.demo_runner import DemoConfig, DemoError, DemoStack, demo_settings
from app.db import Database
from app.domain.notifications.service import queue_email
from app.domain.tokens import service as tokens
from app.surfaces.demo import identities as ids
from tests.helpers import free_port

ROOT = Path(__file__).resolve().parents[2]
CODE = re.compile(r"\b[2-9A-Z]{4}-[2-9A-Z]{4}-[2-9A-Z]{4}-[2-9A-Z]{4}\b")


class Demo:
    def __init__(self, process: subprocess.Popen[str], ports: dict[str, int], data_dir: Path) -> None:
        self.process = process
        self.ports = ports
        self.data_dir = data_dir
        self.lines: queue.Queue[str] = queue.Queue()
        self.output: list[str] = []
        assert process.stdout is not None
        threading.Thread(target=self._read, args=(process.stdout,), daemon=True).start()

    def _read(self, stream: IO[str]) -> None:
        for line in stream:
            self.lines.put(line)

    def wait_for(self, text: str, timeout: float = 40) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.2)
            except queue.Empty:
                if self.process.poll() is not None:
                    break
                continue
            self.output.append(line)
            if text in line:
                return "".join(self.output)
        raise AssertionError(f"{text!r} not printed; output so far:\n{''.join(self.output)}")


def _start(tmp_path: Path, ports: dict[str, int]) -> subprocess.Popen[str]:
    args = [sys.executable, "-m", "app.cli", "demo", "--data-dir", str(tmp_path / "demo-data")]
    for option, port in ports.items():
        args += [option, str(port)]
    env = {**os.environ, "ENVIRONMENT": "dev", "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen(
        args, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, encoding="utf-8"
    )


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[Demo]:
    ports = {
        "--port": free_port(),
        "--idp-port": free_port(),
        "--staff-idp-port": free_port(),
        "--smtp-port": free_port(),
        "--student-idp-port": free_port(),
    }
    process = _start(tmp_path, ports)
    running = Demo(process, ports, tmp_path / "demo-data")
    yield running
    if process.poll() is None:
        process.kill()
        process.wait(10)


def _claims(id_token: str) -> dict[str, object]:
    payload = id_token.split(".")[1]
    claims: dict[str, object] = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return claims


def _sign_in_at_provider(issuer: str, sub: str, redirect_uri: str) -> tuple[str, dict[str, object]]:
    """Act as the browser at the demo provider: the one-click page, then the token exchange."""
    discovery = httpx.get(f"{issuer}/.well-known/openid-configuration", timeout=10).json()
    assert discovery["issuer"] == issuer
    params = {
        "client_id": "tobira-demo",
        "redirect_uri": redirect_uri,
        "response_type": "code",
        "scope": "openid email profile",
        "state": "s",
        "nonce": "n",
    }
    with httpx.Client(timeout=10) as browser:
        page = browser.get(discovery["authorization_endpoint"], params=params)
        answer = browser.post(str(page.url), data={"sub": sub})
        assert answer.status_code == 302, answer.text
        code = httpx.URL(answer.headers["location"]).params["code"]
        token = browser.post(
            discovery["token_endpoint"],
            data={"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri},
            auth=("tobira-demo", "tobira-demo-secret"),
        ).json()
    return page.text, _claims(token["id_token"])


def test_demo_serves_app_providers_and_mailbox_then_stops_on_ctrl_c(demo: Demo) -> None:
    output = demo.wait_for("Ctrl-C")
    base = f"http://127.0.0.1:{demo.ports['--port']}"
    guardian_issuer = f"http://127.0.0.1:{demo.ports['--idp-port']}"
    staff_issuer = f"http://127.0.0.1:{demo.ports['--staff-idp-port']}"
    assert f"{base}/dev/mailbox" in output and guardian_issuer in output and staff_issuer in output

    start = httpx.get(f"{base}/", timeout=10)
    assert start.status_code == 200 and "サインイン" in start.text

    page, claims = _sign_in_at_provider(guardian_issuer, "guardian-verified-email", f"{base}/auth/callback")
    assert "guardian-with-letter" in page and "staff-board-admin" not in page
    assert claims["email"] == ids.VERIFIED_GUARDIAN_EMAIL and claims["email_verified"] is True
    assert claims["iss"] == guardian_issuer
    page, claims = _sign_in_at_provider(staff_issuer, "staff-sakura-teacher-group", f"{base}/auth/callback")
    assert "staff-auditor" in page and "guardian-with-letter" not in page
    assert claims["groups"] == [ids.TEACHER_GROUP]
    student_issuer = f"http://127.0.0.1:{demo.ports['--student-idp-port']}"
    assert student_issuer in output
    page, claims = _sign_in_at_provider(student_issuer, "student-elementary", f"{base}/auth/callback")
    assert "student-junior-high" in page and "guardian-with-letter" not in page
    assert claims[ids.STUDENT_CLAIM] == "demo-s-0001"
    with httpx.Client(base_url=base, timeout=10) as browser:  # through the app, as a pupil would
        at_provider = browser.get("/auth/login/demo-students", follow_redirects=True)
        back = browser.post(str(at_provider.url), data={"sub": "student-elementary"}, follow_redirects=True)
        assert back.url.path == "/student" and "<ruby>" in back.text

    # The printed enrolment code is the one valid code of the story pair.
    match = CODE.search(output)
    assert match is not None
    database = Database(f"sqlite:///{demo.data_dir / 'tobira-demo.sqlite3'}")
    with database.transaction() as db:
        assert tokens.look_up(db, "enrolment_code", match.group(0)).ok
        queue_email(
            db,
            to=ids.EMAIL_LINK_GUARDIAN_EMAIL,
            template="email/test.txt",
            context={"name": "https://127.0.0.1/x"},
            purpose="test",
            language="ja",
            board_id=None,
        )
    database.engine.dispose()
    # The app's own dispatcher sends it to the sink; the mailbox shows it.
    deadline = time.monotonic() + 10
    while ids.EMAIL_LINK_GUARDIAN_EMAIL not in (mailbox := httpx.get(f"{base}/dev/mailbox", timeout=10)).text:
        assert time.monotonic() < deadline, "mail did not reach the dev mailbox"
        time.sleep(0.3)
    assert "テストメール" in mailbox.text
    saved = [path.read_bytes() for path in (demo.data_dir / "mail").glob("*.eml")]
    assert len([m for m in saved if ids.EMAIL_LINK_GUARDIAN_EMAIL.encode() in m]) == 1

    demo.process.send_signal(signal.SIGINT)
    assert demo.process.wait(15) == 0
    demo.wait_for("Stopped")
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{base}/", timeout=2)


def test_port_in_use_is_explained_before_anything_is_created(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        config = DemoConfig(
            data_dir=tmp_path / "demo-data", port=free_port(), idp_port=port, smtp_port=free_port()
        )
        with pytest.raises(DemoError) as error:
            DemoStack(config).start()
    assert (
        f"Port {port}" in str(error.value)
        and "--idp-port" in str(error.value)
        and "使用中" in str(error.value)
    )
    assert not config.data_dir.exists()


def test_environment_cannot_point_the_demo_at_real_systems(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = DemoConfig(data_dir=tmp_path, port=8123, idp_port=9500, smtp_port=2025)
    env = {
        "ENVIRONMENT": "production",
        "DATABASE_URL": "postgresql://prod.example/tobira",
        "SMTP_HOST": "smtp.example.jp",
        "BASE_URL": "http://127.0.0.1:9999",
        "LOG_LEVEL": "DEBUG",
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    settings = demo_settings(config)
    assert settings.environment == "dev" and settings.worker_in_app
    assert settings.database_url == config.database_url and str(tmp_path) in settings.database_url
    assert (settings.smtp_host, settings.smtp_port) == ("127.0.0.1", 2025)
    assert [(p.name, p.audience, str(p.issuer)) for p in settings.oidc_providers] == [
        ("demo", "guardian", "http://127.0.0.1:9500/"),
        ("demo-staff", "staff", "http://127.0.0.1:9501/"),
        ("demo-students", "student", "http://127.0.0.1:9502/"),
    ]
    # Settings that do not wire the demo to other systems may come from the environment.
    assert (settings.base_url, settings.log_level) == ("http://127.0.0.1:9999", "DEBUG")
    assert settings.secret_key == (tmp_path / "secret_key").read_text() and len(settings.secret_key) > 32

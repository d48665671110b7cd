"""`portal demo`: a seeded SQLite board, three local demo OpenID providers, an SMTP sink
with its mailbox page, and the app — all on loopback, all stopped by Ctrl-C.

Everything runs in this one process: the providers (oidc-provider-mock, a Flask app
served by werkzeug) and the SMTP sink (aiosmtpd) on their own threads, the app
(uvicorn) on another, while the main thread waits for Ctrl-C (ADR 0050, 0053).
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
import time
import warnings
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import uvicorn
import werkzeug.serving

from app import migrate
from app.config import OIDCProvider, Settings
from app.db import Database
from app.main import create_app
from app.surfaces.demo import identities as ids
from app.surfaces.demo.mail_sink import MailSink
from app.surfaces.demo.seed import DemoSummary, seed_demo

HOST = "127.0.0.1"
CLIENT_ID = "tobira-demo"
CLIENT_SECRET = "tobira-demo-secret"  # noqa: S105 (the mock provider accepts any secret)
STARTUP_TIMEOUT = 15.0


class DemoError(Exception):
    """Something the person running the demo can fix (a port in use, say)."""


@dataclass(frozen=True)
class DemoConfig:
    data_dir: Path
    port: int = 8000
    idp_port: int = 9400
    staff_idp_port: int | None = None  # default: idp_port + 1
    smtp_port: int = 1025
    student_idp_port: int | None = None  # default: idp_port + 2

    @property
    def staff_port(self) -> int:
        return self.staff_idp_port if self.staff_idp_port is not None else self.idp_port + 1

    @property
    def student_port(self) -> int:
        return self.student_idp_port if self.student_idp_port is not None else self.idp_port + 2

    @property
    def database_path(self) -> Path:
        return self.data_dir / "tobira-demo.sqlite3"

    @property
    def database_url(self) -> str:
        return f"sqlite:///{self.database_path.resolve()}"

    @property
    def mail_dir(self) -> Path:
        return self.data_dir / "mail"

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def guardian_issuer(self) -> str:
        # The mock names itself after the host it is reached at: always use 127.0.0.1.
        return f"http://{HOST}:{self.idp_port}"

    @property
    def staff_issuer(self) -> str:
        return f"http://{HOST}:{self.staff_port}"

    @property
    def student_issuer(self) -> str:
        return f"http://{HOST}:{self.student_port}"

    def ports(self) -> dict[str, int]:
        return {
            "--port": self.port,
            "--idp-port": self.idp_port,
            "--staff-idp-port": self.staff_port,
            "--student-idp-port": self.student_port,
            "--smtp-port": self.smtp_port,
        }


def _secret_key(data_dir: Path) -> str:
    """A random key kept in the data directory, so demo sessions survive a restart."""
    path = data_dir / "secret_key"
    if path.is_file():
        return path.read_text().strip()
    key = secrets.token_urlsafe(48)
    path.write_text(key)
    path.chmod(0o600)
    return key


def demo_settings(config: DemoConfig, env: Mapping[str, str] | None = None) -> Settings:
    """Settings built in code. The wiring to the demo's own database, providers and SMTP
    sink is fixed; other settings take the demo's defaults unless the environment sets them."""
    env = os.environ if env is None else env
    wiring: dict[str, Any] = {
        "environment": "dev",
        "database_url": config.database_url,
        "smtp_host": HOST,
        "smtp_port": config.smtp_port,
        "smtp_username": "",
        "smtp_password": "",
        "smtp_starttls": False,
        "worker_in_app": True,
        "oidc_providers": [
            OIDCProvider(
                name=ids.GUARDIAN_PROVIDER,
                issuer=config.guardian_issuer,
                client_id=CLIENT_ID,
                client_secret=CLIENT_SECRET,
                audience="guardian",
                display_name="デモID（保護者） / Demo ID for guardians",
            ),
            OIDCProvider(
                name=ids.STAFF_PROVIDER,
                issuer=config.staff_issuer,
                client_id=CLIENT_ID,
                client_secret=CLIENT_SECRET,
                audience="staff",
                display_name="デモID（教職員） / Demo ID for staff",
            ),
            OIDCProvider(
                name=ids.STUDENT_PROVIDER,
                issuer=config.student_issuer,
                client_id=CLIENT_ID,
                client_secret=CLIENT_SECRET,
                audience="student",
                board=ids.BOARD_CODE,
                student_claim=ids.STUDENT_CLAIM,
                display_name="デモID（児童生徒） / Demo ID for students",
            ),
        ],
    }
    defaults: dict[str, Any] = {
        "base_url": config.base_url,
        "secret_key": _secret_key(config.data_dir),
        "smtp_sender": "とびら市教育委員会（デモ） <no-reply@demo.tobira.test>",
        "log_level": "WARNING",
    }
    overridable = {key: value for key, value in defaults.items() if key.upper() not in env}
    return Settings(**wiring, **overridable)


def prepare(config: DemoConfig) -> DemoSummary:
    """Create the data directory and database, migrate, seed; return what was seeded."""
    config.data_dir.mkdir(parents=True, exist_ok=True)
    config.mail_dir.mkdir(exist_ok=True)
    migrate.upgrade(config.database_url)
    database = Database(config.database_url)
    try:
        with database.transaction() as db:
            return seed_demo(db)
    finally:
        database.engine.dispose()


def _check_ports_free(config: DemoConfig) -> None:
    for option, port in config.ports().items():
        with socket.socket() as probe:
            # As the servers do: a port held only by closed connections (TIME_WAIT) is free.
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind((HOST, port))
            except OSError as exc:
                raise DemoError(
                    f"Port {port} on {HOST} is in use. Stop what uses it or choose another with {option}. / "
                    f"ポート {port} は使用中です。"
                    f"使っているプログラムを止めるか、{option} で別の番号を指定してください。"
                ) from exc


class IdentityProvider:
    """One oidc-provider-mock instance with one-click demo users, on its own thread."""

    def __init__(self, port: int, audience: str) -> None:
        with warnings.catch_warnings():
            # authlib's deprecation module forces "always" for its notices when first imported.
            import authlib.deprecate  # noqa: F401

            warnings.simplefilter("ignore")
            import oidc_provider_mock

        users = [oidc_provider_mock.User(sub=i.sub, claims=i.claims()) for i in ids.identities_for(audience)]
        self.server = werkzeug.serving.make_server(
            HOST, port, oidc_provider_mock.app(user_claims=users, require_nonce=True), threaded=True
        )
        self.thread = threading.Thread(
            target=self.server.serve_forever,
            kwargs={"poll_interval": 0.2},
            daemon=True,
            name=f"idp-{audience}",
        )

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


class DemoStack:
    """The demo's parts; `start()` prepares and starts them, `stop()` ends them in reverse."""

    def __init__(self, config: DemoConfig, env: Mapping[str, str] | None = None) -> None:
        self.config = config
        self.env = env
        self.summary: DemoSummary | None = None
        self.settings: Settings | None = None
        self._providers: list[IdentityProvider] = []
        self._sink: MailSink | None = None
        self._server: uvicorn.Server | None = None
        self._app_thread: threading.Thread | None = None

    def start(self) -> DemoSummary:
        _check_ports_free(self.config)
        self.summary = prepare(self.config)
        self.settings = demo_settings(self.config, self.env)
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        try:
            for port, audience in (
                (self.config.idp_port, "guardian"),
                (self.config.staff_port, "staff"),
                (self.config.student_port, "student"),
            ):
                provider = IdentityProvider(port, audience)
                provider.start()
                self._providers.append(provider)
            self._sink = MailSink(self.config.mail_dir, self.config.smtp_port, HOST)
            self._sink.start()
            self._start_app(self.settings)
        except BaseException:
            self.stop()
            raise
        return self.summary

    def _start_app(self, settings: Settings) -> None:
        app = create_app(settings, Database(settings.database_url))
        app.state.demo_mail_dir = self.config.mail_dir
        # No access log: request paths can carry one-time tokens (the app logs route templates).
        server = uvicorn.Server(
            uvicorn.Config(
                app,
                host=HOST,
                port=self.config.port,
                access_log=False,
                server_header=False,
                proxy_headers=False,
                log_level="warning",
            )
        )
        self._server = server
        self._app_thread = threading.Thread(target=server.run, daemon=True, name="app")
        self._app_thread.start()
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while not server.started:
            if not self._app_thread.is_alive() or time.monotonic() > deadline:
                raise DemoError(
                    f"The app did not start on {self.config.base_url}. / アプリを起動できませんでした。"
                )
            time.sleep(0.05)

    def wait(self) -> None:
        """Block until the app stops (Ctrl-C raises KeyboardInterrupt here)."""
        while self._app_thread is not None and self._app_thread.is_alive():
            self._app_thread.join(timeout=0.5)

    def stop(self) -> None:
        if self._server is not None and self._app_thread is not None:
            self._server.should_exit = True
            self._app_thread.join(timeout=10)
            self._server = self._app_thread = None
        if self._sink is not None:
            self._sink.stop()
            self._sink = None
        while self._providers:
            self._providers.pop().stop()


@contextmanager
def running(config: DemoConfig, env: Mapping[str, str] | None = None) -> Iterator[DemoStack]:
    stack = DemoStack(config, env)
    stack.start()
    try:
        yield stack
    finally:
        stack.stop()


def banner(config: DemoConfig, summary: DemoSummary) -> str:
    base = config.base_url
    lines = [
        "",
        "Tobira demo is running / トビラのデモが動いています",
        "",
        f"  App / アプリ:                         {base}/",
        f"  Dev mailbox / 開発用メールボックス:   {base}/dev/mailbox",
        f"  Demo IdP for guardians / 保護者用:    {config.guardian_issuer}/",
        f"  Demo IdP for staff / 教職員用:        {config.staff_issuer}/",
        f"  Demo IdP for students / 児童生徒用:   {config.student_issuer}/",
        f"  SMTP sink / メール受信:               {HOST}:{config.smtp_port} -> {config.mail_dir}/",
        f"  Database / データベース:              {config.database_path}",
        "",
        f"Sign in at {base}/signin, pick a demo provider, then click an identity:",
        f"{base}/signin でデモ用のプロバイダーを選び、次の利用者をクリックしてください:",
    ]
    for audience, title in (
        ("guardian", "Guardians / 保護者"),
        ("staff", "Staff / 教職員"),
        ("student", "Students / 児童生徒"),
    ):
        lines.append(f"  {title}:")
        for identity in ids.identities_for(audience):
            lines.append(f"    {identity.sub:<28} {identity.roster_id or identity.email}")
            lines.append(f"    {'':<28} {identity.story}")
            lines.append(f"    {'':<28} {identity.story_en}")
    lines += [
        "",
        "Enrolment code for the letter story / 通知文のコード（guardian-with-letter で入力）:",
        f"    {summary.enrolment_code}   {summary.code_student_name}（{summary.code_student_class}）",
        "    A new code is issued at every start. / 起動するたびに新しいコードを発行します。",
        "",
        f"E-mail-link sign-in / メールのリンクでサインイン:  {ids.EMAIL_LINK_GUARDIAN_EMAIL}",
        "    The link arrives in the dev mailbox. / リンクは開発用メールボックスに届きます。",
        f"Roster: {summary.students} students, {summary.guardians} guardians "
        f"(hogosha001–hogosha{summary.guardians:03d}@{ids.MAIL_DOMAIN}; a few have no address).",
        "",
        "Press Ctrl-C to stop. / Ctrl-C で終了します。",
        "",
    ]
    return "\n".join(lines)

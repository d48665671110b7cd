"""Shared fixtures: a real database (SQLite file or a fresh PostgreSQL database built by
`alembic upgrade head`), the app over HTTP, a loopback SMTP server.

TEST_DATABASE=postgresql://… selects PostgreSQL; the default is a SQLite file.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

import app.domain.models  # noqa: F401
from app import migrate
from app.config import Settings
from app.db import Base, Database, normalize_url
from app.domain.catalog import published
from app.main import create_app
from tests.helpers import SmtpSink, StatementCounter, free_port

TEST_SECRET = "test-secret-key-0123456789-abcdefghijklmnop"


def _create_pg_database(admin_url: str) -> tuple[str, str]:
    name = f"tobira_test_{uuid.uuid4().hex[:12]}"
    engine = create_engine(normalize_url(admin_url), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    base = admin_url.rsplit("/", 1)[0]
    return name, f"{base}/{name}"


def _drop_pg_database(admin_url: str, name: str) -> None:
    engine = create_engine(normalize_url(admin_url), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    admin_url = os.environ.get("TEST_DATABASE", "")
    if admin_url.startswith("postgres"):
        name, url = _create_pg_database(admin_url)
        migrate.upgrade(url)
        yield url
        _drop_pg_database(admin_url, name)
    else:
        path: Path = tmp_path_factory.mktemp("db") / "tobira-test.sqlite3"
        url = f"sqlite:///{path}"
        migrate.upgrade(url)
        yield url


@pytest.fixture(scope="session")
def database(database_url: str) -> Iterator[Database]:
    database = Database(database_url)
    yield database
    database.engine.dispose()


# Reference data written by migrations survives between tests.
KEPT_TABLES = {"data_categories"}


def _wipe(database: Database) -> None:
    # Rows written next reuse the ids of those removed (SQLite): what a process keeps by id
    # must go with them, as it would if a board were removed and its id given out again.
    published.forget()
    tables = [t for t in Base.metadata.sorted_tables if t.name not in KEPT_TABLES]
    # DELETE beats TRUNCATE on the tiny tables tests leave behind (no file rewrites).
    with database.engine.begin() as conn:
        if conn.dialect.name == "postgresql":  # the documented way past the append-only triggers
            conn.execute(text("SET LOCAL tobira.removal = 'on'"))
        for table in reversed(tables):
            if table.name == "content_translations":
                # The vocabulary's translations (no board) are reference data too.
                conn.execute(table.delete().where(table.c.board_id.is_not(None)))
            else:
                conn.execute(table.delete())


@pytest.fixture
def db(database: Database) -> Iterator[Session]:
    """A session for arranging and asserting; tables are emptied after each test."""
    session = database.session()
    yield session
    session.close()
    _wipe(database)


@pytest.fixture
def smtp() -> Iterator[SmtpSink]:
    sink = SmtpSink(port=free_port())
    sink.start()
    yield sink
    sink.stop()


@pytest.fixture
def settings(database_url: str, smtp: SmtpSink, tmp_path: Path) -> Settings:
    return Settings(
        upload_dir=str(tmp_path / "uploads"),
        environment="test",
        database_url=database_url,
        secret_key=TEST_SECRET,
        base_url="http://127.0.0.1",
        smtp_host="127.0.0.1",
        smtp_port=smtp.port,
        smtp_sender="Tobira <no-reply@tobira.test>",
        oidc_providers=[],
    )


@pytest.fixture
def client(settings: Settings, database: Database, db: Session) -> Iterator[TestClient]:
    with TestClient(create_app(settings, database), base_url="http://127.0.0.1") as test_client:
        yield test_client


@pytest.fixture
def sql_statements(database: Database) -> StatementCounter:
    """`with sql_statements as counted: client.get(...)`, then assert on `counted.count`."""
    return StatementCounter(database.engine)

from __future__ import annotations

import os
import uuid
from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect

import app.domain.models  # noqa: F401
from app import migrate
from app.db import Base, normalize_url
from tests.conftest import _create_pg_database, _drop_pg_database


def _round_trip(url: str) -> None:
    migrate.upgrade(url)
    engine = create_engine(normalize_url(url))
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
        assert diff == [], f"models and migrations differ: {diff}"
        assert "choice_events" in inspect(conn).get_table_names()
    command.downgrade(migrate.alembic_config(url), "base")
    with engine.connect() as conn:
        assert set(inspect(conn).get_table_names()) <= {"alembic_version"}
    migrate.upgrade(url)
    engine.dispose()


def test_upgrade_downgrade_upgrade_without_drift(tmp_path: Path) -> None:
    admin_url = os.environ.get("TEST_DATABASE", "")
    if admin_url.startswith("postgres"):
        name, url = _create_pg_database(admin_url)
        try:
            _round_trip(url)
        finally:
            _drop_pg_database(admin_url, name)
    else:
        _round_trip(f"sqlite:///{tmp_path / f'{uuid.uuid4().hex}.sqlite3'}")

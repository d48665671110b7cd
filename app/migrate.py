"""Alembic configuration built in code, so `portal db upgrade` works from any directory."""

from __future__ import annotations

from alembic import command
from alembic.config import Config

from app.resources import MIGRATIONS_DIR


def alembic_config(database_url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes["database_url"] = database_url
    return cfg


def upgrade(database_url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(database_url), revision)


def downgrade(database_url: str, revision: str) -> None:
    command.downgrade(alembic_config(database_url), revision)

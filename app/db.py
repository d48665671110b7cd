"""Engine, session factory and the declarative base.

One session per request (see `get_db`); services flush, only the request boundary commits.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    Engine,
    Integer,
    MetaData,
    create_engine,
    event,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# BIGINT on PostgreSQL; INTEGER on SQLite so that it is a rowid alias and autoincrements.
BigIntPK = BigInteger().with_variant(Integer(), "sqlite")


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC timestamps on both SQLite (which stores naive) and PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use app.db.utcnow()")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime,
        dict[str, Any]: JSON,
        list[str]: JSON,
        list[dict[str, Any]]: JSON,
    }


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


def normalize_url(url: str) -> str:
    """Accept plain `postgresql://` URLs and use psycopg 3 for them."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url.removeprefix("postgres://")
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return url


def make_engine(url: str) -> Engine:
    """hide_parameters keeps personal data out of error messages and so out of the logs."""
    url = normalize_url(url)
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False}, hide_parameters=True)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=10, hide_parameters=True)


class Database:
    """Holds the engine and session factory of one app instance (tests make their own)."""

    def __init__(self, url: str, replica_url: str = "") -> None:
        self.engine = make_engine(url)
        self.sessionmaker = sessionmaker(self.engine, expire_on_commit=False, autoflush=True)
        self.replica_engine = make_engine(replica_url) if replica_url else self.engine
        self.readers = sessionmaker(self.replica_engine, expire_on_commit=False, autoflush=False)

    def session(self) -> Session:
        return self.sessionmaker()

    def reader(self) -> Session:
        """A session for long reads that may lag the primary by a moment (the rows of an
        export): on the replica when `DATABASE_REPLICA_URL` is set, else the primary.
        Never write through it; a standby refuses writes."""
        return self.readers()

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A unit of work for scripts and the CLI: commit on success, roll back on error."""
        with self.sessionmaker() as session, session.begin():
            yield session


log = logging.getLogger("tobira.db")
_KEPT = "tobira.kept_after_rollback"


def commit_without_waiting(db: Session) -> None:
    """Let this transaction's commit return before its WAL reaches the disk (PostgreSQL's
    `synchronous_commit = off`, for this transaction only). Only for transactions whose writes
    are safe to lose in a crash of the database server — a rate-limit count, a "last used"
    time — never for a choice, an audit event or mail."""
    if db.get_bind().dialect.name == "postgresql":
        db.execute(text("SET LOCAL synchronous_commit = off"))


def keep_after_rollback(db: Session, write: Callable[[Session], None]) -> None:
    """Apply `write` now, and again on its own if the unit of work fails and rolls back.

    For the few writes a failure must not erase: the audit row of a refused attempt, the
    count of a rate limit. `write` must not hold ORM objects of the session (ids only).
    """
    write(db)
    db.info.setdefault(_KEPT, []).append(write)


@contextmanager
def unit_of_work(db: Session) -> Iterator[Session]:
    """The one transaction boundary of a request or a job: commit on success; on any error
    roll back, then commit only what `keep_after_rollback` declared, and re-raise."""
    try:
        yield db
        db.commit()
    except BaseException:
        # Detach loaded objects first: an error page still reads the principal, and a
        # rollback would expire them into a closed session (DetachedInstanceError).
        db.expunge_all()
        db.rollback()
        kept: list[Callable[[Session], None]] = db.info.pop(_KEPT, [])
        if kept:
            try:
                for write in kept:
                    write(db)
                db.commit()
            except Exception:
                db.rollback()
                log.exception("writes kept after a failure could not be saved")
        raise
    finally:
        db.info.pop(_KEPT, None)

"""Benchmark announcing a service change to every guardian of a city (ADR 0099).

    python -m bench.announce_benchmark                  # 300,000 guardians in a fresh database
    python -m bench.announce_benchmark --small          # a few hundred, seconds

Builds a fresh PostgreSQL database: one board from `bench.export_generate` (the School
Dashboard covering every student) and one guardian per student (every fifth also of the next
student, a sibling; one in ten reads English). Then, as the staff console does, it publishes a
new version of the service that adds a kind of data and queues the announcement (the staff
request: its time is the publish transaction's). The worker then runs the job: one transaction
writes the mailing, one outbox row per guardian (one INSERT … SELECT) and one review per
guardian and child. Its database time is the sum of its statements' times. The ceiling is the
same recipients' read and aggregation written into a bare table (`CREATE TEMP TABLE … AS`), in
the same run. The job then runs again (nothing to add), and a sample of messages is rendered
as the dispatcher renders them when it sends them. The table goes into docs/performance.md
(block `announcements`).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import psycopg
from sqlalchemy import Engine, event, func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import selectinload

import app.domain.models  # noqa: F401
from app.db import Base, Database
from app.domain.audit.service import Actor
from app.domain.boards.models import Board
from app.domain.catalog.models import (
    DataCategory,
    Service,
    ServiceReview,
    ServiceVersion,
    ServiceVersionCategory,
)
from app.domain.catalog.service import CategoryInput, publish_service_version, version_input_from
from app.domain.choices import jobs as choice_jobs
from app.domain.jobs.models import Job
from app.domain.jobs.runner import JobRun
from app.domain.notifications.models import OutboxEmail
from app.domain.notifications.service import render_mailing
from bench.export_generate import bulk_insert, generate
from bench.report import markdown_table, rewrite_block, run_context

TARGET_SECONDS = 10.0
RENDERED_SAMPLE = 200


class StatementClock:
    """The time the database spent on the statements an engine ran while active."""

    def __init__(self, engine: Engine) -> None:
        self.engine, self.seconds, self.statements = engine, 0.0, 0
        self.timed: list[tuple[float, str]] = []

    def _before(self, _conn: Any, _cursor: Any, _sql: str, _params: Any, context: Any, _many: bool) -> None:
        context._bench_started = time.perf_counter()

    def _after(self, _conn: Any, _cursor: Any, _sql: str, _params: Any, context: Any, _many: bool) -> None:
        seconds = time.perf_counter() - context._bench_started
        self.seconds += seconds
        self.statements += 1
        self.timed.append((seconds, " ".join(_sql.split())[:70]))

    @contextmanager
    def running(self) -> Iterator[StatementClock]:
        self.seconds, self.statements = 0.0, 0
        event.listen(self.engine, "before_cursor_execute", self._before)
        event.listen(self.engine, "after_cursor_execute", self._after)
        try:
            yield self
        finally:
            event.remove(self.engine, "before_cursor_execute", self._before)
            event.remove(self.engine, "after_cursor_execute", self._after)


def add_guardians(database: Database, board_id: int) -> tuple[int, int]:
    """One guardian per student, every fifth also of the next student; (guardians, links)."""
    tables = Base.metadata.tables
    now = datetime.now(UTC)
    with database.engine.connect() as conn:
        students = list(
            conn.scalars(
                select(text("id")).select_from(text("students")).where(text(f"board_id = {board_id}"))
            )
        )
        first = int(conn.execute(text("SELECT coalesce(max(id), 0) + 1 FROM guardians")).scalar_one())
    guardians: list[Sequence[Any]] = []
    links: list[Sequence[Any]] = []
    students.sort()
    for n, student_id in enumerate(students):
        guardian_id = first + n
        language = "en" if n % 10 == 9 else "ja"
        guardians.append(
            (
                guardian_id,
                board_id,
                f"grd-{n:07d}",
                "山田",
                "花子",
                "やまだ",
                "はなこ",
                f"g{n}@example.jp",
                language,
                "active",
                now,
            )
        )
        links.append((guardian_id, student_id, "active"))
        if n % 5 == 4 and n + 1 < len(students):
            links.append((guardian_id, students[n + 1], "active"))
    columns = [
        "id",
        "board_id",
        "sourced_id",
        "family_name",
        "given_name",
        "family_name_kana",
        "given_name_kana",
    ]
    columns += ["email"]
    bulk_insert(
        database.engine,
        tables["guardians"],
        [*columns, "preferred_language", "status", "updated_at"],
        guardians,
    )
    bulk_insert(database.engine, tables["guardian_students"], ["guardian_id", "student_id", "status"], links)
    with database.engine.begin() as conn:
        for name in ("guardians", "guardian_students"):
            conn.execute(
                text(f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), (SELECT max(id) FROM {name}))")
            )
        conn.execute(text("ANALYZE"))
    return len(guardians), len(links)


def ceiling(database: Database, board_id: int) -> float:
    """The announcement's read and aggregation, written into a bare table."""
    started = time.perf_counter()
    with database.engine.begin() as conn:
        conn.execute(
            text(
                "CREATE TEMP TABLE ceiling ON COMMIT DROP AS "
                "SELECT g.id, g.email, g.preferred_language, json_agg(l.student_id) AS student_ids "
                "FROM guardians g JOIN guardian_students l ON l.guardian_id = g.id "
                "JOIN students s ON s.id = l.student_id "
                "WHERE s.board_id = :board AND s.status = 'active' AND l.status = 'active' "
                "AND g.status = 'active' AND g.email IS NOT NULL GROUP BY g.id, g.email, g.preferred_language"
            ),
            {"board": board_id},
        )
    return time.perf_counter() - started


def publish(database: Database, board_id: int) -> tuple[float, int]:
    """What the staff request does: publish a version that adds a kind of data, queue the job."""
    started = time.perf_counter()
    with database.transaction() as db:
        service = db.scalars(
            select(Service).where(Service.board_id == board_id, Service.code == "dashboard")
        ).one()
        latest = db.scalars(
            select(ServiceVersion)
            .options(
                selectinload(ServiceVersion.categories).joinedload(ServiceVersionCategory.category),
                selectinload(ServiceVersion.purposes),
                selectinload(ServiceVersion.subcontractors),
            )
            .where(ServiceVersion.service_id == service.id)
            .order_by(ServiceVersion.version.desc())
            .limit(1)
        ).one()
        data = version_input_from(latest)
        held = {c.code for c in data.categories}
        new = db.scalars(select(DataCategory.code).where(DataCategory.code.not_in(held)).limit(1)).one()
        data = replace(data, categories=[*data.categories, CategoryInput(new, "")])
        result = publish_service_version(db, service=service, data=data, actor=Actor("cli"))
        job = choice_jobs.request_announcement(db, result, Actor("cli"), base_url="https://tobira.example")
        assert job is not None
        job_id = job.id
    return time.perf_counter() - started, job_id


def run_job(database: Database, job_id: int) -> tuple[float, float, int, dict[str, float]]:
    """(wall seconds, database seconds, statements, seconds of the two INSERT … SELECT) of the
    job's handler."""
    with database.session() as db:
        job = db.get_one(Job, job_id)
        run = JobRun(job.id, job.kind, dict(job.payload), job.board_id, 1)
    clock = StatementClock(database.engine)
    started = time.perf_counter()
    with clock.running():
        choice_jobs.run_announcement(database, run)
    for seconds, statement in sorted(clock.timed, reverse=True)[:4]:
        print(f"{seconds:8.3f} s  {statement}", file=sys.stderr)
    inserts = {
        table: sum(t for t, sql in clock.timed if sql.startswith(f"INSERT INTO {table}"))
        for table in ("email_outbox", "service_reviews")
    }
    return time.perf_counter() - started, clock.seconds, clock.statements, inserts


def render_sample(database: Database) -> float:
    """Seconds per message to render a sample as the dispatcher does when it sends."""
    with database.session() as db:
        sample = list(
            db.scalars(select(OutboxEmail).where(OutboxEmail.mailing_id.is_not(None)).limit(RENDERED_SAMPLE))
        )
        started = time.perf_counter()
        for email in sample:
            assert render_mailing(db, email) is not None
        return (time.perf_counter() - started) / max(len(sample), 1)


def run(url: str, students: int) -> dict[str, Any]:
    generate(url, students, 0.01)
    database = Database(url)
    with database.session() as db:
        board_id = db.scalars(select(Board.id).where(Board.code == "BENCH")).one()
    guardians, links = add_guardians(database, board_id)
    ceiling(database, board_id)  # warms the caches both read
    ceiling_seconds = min(ceiling(database, board_id) for _ in range(2))
    request_seconds, job_id = publish(database, board_id)
    with database.session() as db:
        queued_before = db.scalar(
            select(func.count()).select_from(OutboxEmail).where(OutboxEmail.purpose == "service_change")
        )
    wall, db_seconds, statements, inserts = run_job(database, job_id)
    with database.session() as db:
        emails = int(
            db.scalar(
                select(func.count()).select_from(OutboxEmail).where(OutboxEmail.purpose == "service_change")
            )
            or 0
        )
        reviews = int(db.scalar(select(func.count()).select_from(ServiceReview)) or 0)
    again_wall, again_db, _, _ = run_job(database, job_id)
    with database.session() as db:
        after_again = int(
            db.scalar(
                select(func.count()).select_from(OutboxEmail).where(OutboxEmail.purpose == "service_change")
            )
            or 0
        )
    per_message = render_sample(database)
    database.engine.dispose()
    return {
        "students": students,
        "guardians": guardians,
        "links": links,
        "ceiling": ceiling_seconds,
        "request": request_seconds,
        "queued_in_request": int(queued_before or 0),
        "job_wall": wall,
        "job_db": db_seconds,
        "job_statements": statements,
        "messages_db": inserts["email_outbox"],
        "reviews_db": inserts["service_reviews"],
        "emails": emails,
        "reviews": reviews,
        "again_wall": again_wall,
        "again_db": again_db,
        "added_again": after_again - emails,
        "render": per_message,
    }


def table(result: dict[str, Any]) -> str:
    messages = result["messages_db"]
    verdict = "met" if messages <= TARGET_SECONDS else f"missed by {messages / TARGET_SECONDS:.1f}×"
    ceiling_s = result["ceiling"]
    rows: list[list[object]] = [
        [
            "recipients' read and aggregation into a bare table (ceiling)",
            f"{result['guardians']:,}",
            f"{ceiling_s:.2f}",
            "1.0",
            "",
        ],
        [
            f"staff request: publish + queue the job ({result['queued_in_request']} messages written)",
            "—",
            f"{result['request']:.2f}",
            "",
            "answers at once",
        ],
        [
            "job, messages: one INSERT … SELECT into the outbox",
            f"{result['emails']:,}",
            f"{messages:.2f}",
            f"{messages / ceiling_s:.1f}",
            f"≤ {TARGET_SECONDS:.0f} s ({verdict})",
        ],
        [
            "job, reviews a material change asks for: one INSERT … SELECT",
            f"{result['reviews']:,}",
            f"{result['reviews_db']:.2f}",
            f"{result['reviews_db'] / ceiling_s:.1f}",
            "",
        ],
        [
            f"job in all, one transaction ({result['job_statements']} statements): database time",
            "",
            f"{result['job_db']:.2f}",
            f"{result['job_db'] / ceiling_s:.1f}",
            "",
        ],
        [
            "job in all: wall time",
            "",
            f"{result['job_wall']:.2f}",
            f"{result['job_wall'] / ceiling_s:.1f}",
            "",
        ],
        [f"job again (adds {result['added_again']})", "0", f"{result['again_db']:.2f}", "", "adds nothing"],
        [
            "one message rendered when sent (mean of a sample)",
            "1",
            f"{result['render'] * 1000:.1f} ms",
            "",
            "",
        ],
    ]
    return markdown_table(["what", "rows", "time (s)", "× ceiling", "target"], rows)


def _admin(server: str) -> str:
    return make_url(server).set(drivername="postgresql").render_as_string(hide_password=False)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--server", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--students", type=int, default=300_000)
    parser.add_argument("--small", action="store_true", help="400 students: seconds.")
    parser.add_argument("--keep", action="store_true", help="Keep the benchmark database.")
    args = parser.parse_args()
    if args.small:
        args.students = 400
    name = f"tobira_announce_bench_{os.getpid()}"
    with psycopg.connect(_admin(args.server), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        result = run(
            make_url(args.server).set(database=name).render_as_string(hide_password=False), args.students
        )
    finally:
        if not args.keep:
            with psycopg.connect(_admin(args.server), autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    body = table(result)
    scale = f"{result['students']:,} students, {result['guardians']:,} guardians, {result['links']:,} links"
    rewrite_block("announcements", f"{body}\n\n{scale}. {run_context()}")
    print(body)


if __name__ == "__main__":
    main()

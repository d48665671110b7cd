"""SQL statements per guardian request, counted in-process (the `bench:statements` table).

Builds a board (`--students` students; two choices, then twelve, then twenty-two), signs a
guardian in, and counts the statements the database receives for the child page GET, the
choice request POST as htmx sends it (CSRF included) and the confirmation POST from the
mailed link, and times the child page. With `--json` it prints the figures only;
`--before FILE` takes those of an earlier commit (the same script run there with `--json`)
for the "before" column, and `--write` rewrites the table in docs/performance.md.

    .venv/bin/python -m bench.statements_benchmark --small
    .venv/bin/python -m bench.statements_benchmark --database postgresql://… --before old.json --write

`--small` (a few hundred students) checks that the script still runs.
"""

from __future__ import annotations

import argparse
import json
import re
import secrets
import statistics
import tempfile
import time
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from app import migrate
from app.config import Settings
from app.db import Database
from app.domain.catalog.models import ChoiceDefinition
from app.domain.notifications.models import OutboxEmail
from app.main import create_app
from bench.report import markdown_table, rewrite_block, run_context
from tests.guardian.factories import World, build_world, make_service, make_student
from tests.helpers import csrf_token, sign_in_as, translate

SECRET = secrets.token_urlsafe(32)
REQUESTS = (
    ("child page GET, 2 choices", "page_2"),
    ("child page GET, 12 choices", "page_12"),
    ("child page GET, 22 choices", "page_22"),
    ("choice request POST (htmx)", "choice"),
    ("confirmation POST", "confirm"),
)


class Counter:
    def __init__(self, database: Database) -> None:
        self.count = 0
        event.listen(database.engine, "before_cursor_execute", self._count)

    def _count(self, *_args: object) -> None:
        self.count += 1


def _grow(db: Session, world: World, tag: str, services: int, each: int) -> None:
    for s in range(services):
        service = make_service(db, world.board, code=f"{tag}-{s}", use_group="learning")
        for c in range(each):
            definition = ChoiceDefinition(
                board_id=service.board_id,
                service_id=service.id,
                code=f"{tag}-{s}-{c}",
                kind="toggle",
                options=["allow", "deny"],
                default_value="allow",
                label=f"選択 {tag}-{s}-{c}",
            )
            db.add(definition)
            db.flush()
            translate(db, definition, label=f"Choice {tag}-{s}-{c}")
    db.commit()


def measure(url: str, students: int, repeat: int = 30) -> dict[str, float]:
    migrate.upgrade(url)
    database = Database(url)
    settings = Settings(
        environment="test",
        database_url=url,
        secret_key=SECRET,
        base_url="http://127.0.0.1",
        upload_dir=tempfile.mkdtemp(),
        oidc_providers=[],
    )
    counts: dict[str, float] = {}
    with (
        database.session() as db,
        TestClient(create_app(settings, database), base_url="http://127.0.0.1") as client,
    ):
        world = build_world(db)
        for n in range(students):
            make_student(db, world.school, family="生徒", given=f"{n}", grade="P4")
        db.commit()
        sign_in_as(client, db, settings, world.account)
        counter = Counter(database)
        page = f"/children/{world.hanako.id}"

        def count_page(key: str) -> None:
            client.get(page)  # the first look after a change records what was seen
            before = counter.count
            assert client.get(page).status_code == 200
            counts[key] = counter.count - before

        count_page("page_2")
        _grow(db, world, "more", services=5, each=2)
        count_page("page_12")
        _grow(db, world, "most", services=2, each=5)
        count_page("page_22")
        took = []
        for _ in range(repeat):
            start = time.perf_counter()
            client.get(page)
            took.append((time.perf_counter() - start) * 1000)
        counts["page_22_ms"] = round(statistics.median(took), 1)

        post = {
            "url": f"/children/{world.hanako.id}/choices/{world.photo_choice.id}",
            "data": {"value": "deny", "notice_version": str(world.notice.id)},
            "headers": {"HX-Request": "true", "X-CSRF-Token": csrf_token(client, settings)},
        }
        before = counter.count
        assert client.post(**post).status_code == 200  # type: ignore[arg-type]
        counts["choice"] = counter.count - before

        body = db.scalar(select(OutboxEmail.body_text).order_by(OutboxEmail.id.desc()).limit(1)) or ""
        match = re.search(r"/confirm/[A-Za-z0-9_\-]+", body)
        assert match, "no confirmation link in the outbox"
        client.cookies.clear()
        token = csrf_token(client, settings)
        before = counter.count
        assert client.post(match.group(0), data={"csrf_token": token}).status_code == 200
        counts["confirm"] = counter.count - before
    database.engine.dispose()
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--small", action="store_true", help="A few hundred students.")
    parser.add_argument("--students", type=int, default=4000)
    parser.add_argument("--database", help="A database URL (default: a new SQLite file).")
    parser.add_argument("--json", action="store_true", help="Print the counts only.")
    parser.add_argument("--before", type=Path, help="Counts of an earlier commit (--json output).")
    parser.add_argument("--write", action="store_true", help="Rewrite the table in docs/performance.md.")
    args = parser.parse_args()
    students = 300 if args.small else args.students
    url = args.database or f"sqlite:///{tempfile.mkdtemp()}/statements.sqlite3"
    counts = measure(url, students)
    if args.json:
        print(json.dumps(counts))
        return
    before: dict[str, float] = json.loads(args.before.read_text()) if args.before else {}
    table = markdown_table(
        ["request", "statements before", "statements now"],
        [[label, before.get(key, "–"), counts[key]] for label, key in REQUESTS],
    )
    database = "PostgreSQL" if url.startswith("postgres") else "SQLite"
    timing = markdown_table(
        ["request", "ms before", "ms now"],
        [
            [
                "child page GET, 22 choices (median of 30, in-process)",
                before.get("page_22_ms", "–"),
                counts["page_22_ms"],
            ]
        ],
    )
    body = (
        f"{table}\n\n{timing}\n\nCounted and timed in-process (TestClient, no network) on {database}, "
        f"{students} students. {run_context()}"
    )
    print(body)
    if args.write:
        rewrite_block("statements", body)


if __name__ == "__main__":
    main()

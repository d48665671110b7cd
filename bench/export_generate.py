"""Generate a board for the export and API benchmarks.

    python -m bench.export_generate --database postgresql://postgres@127.0.0.1:5432/tobira_bench \
        --students 300000 --opted-out 0.15

Builds the schema with Alembic, then writes one board with schools, classes, students, a
School Dashboard service with a hide choice, and confirmed choices for the opted-out
share (two thirds hide_all, one third hide_some). PostgreSQL gets COPY; SQLite gets bulk
Core inserts. Names are drawn so every one fits CP932 (the CP932 export then succeeds).
"""

from __future__ import annotations

import argparse
import json
import random
import time
import uuid
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, Table, insert, select, text

import app.domain.models  # noqa: F401
from app import migrate
from app.db import Base, make_engine
from app.domain.boards.models import Board
from app.domain.catalog.models import (
    ChoiceDefinition,
    DataCategory,
    Service,
    ServiceAssignment,
    ServiceVersion,
    ServiceVersionCategory,
)
from app.domain.translations.models import ContentTranslation

FAMILY = [
    ("佐藤", "さとう"),
    ("鈴木", "すずき"),
    ("髙橋", "たかはし"),
    ("田中", "たなか"),
    ("伊藤", "いとう"),
    ("渡辺", "わたなべ"),
    ("山本", "やまもと"),
    ("中村", "なかむら"),
    ("小林", "こばやし"),
    ("加藤", "かとう"),
    ("吉田", "よしだ"),
    ("山田", "やまだ"),
    ("佐々木", "ささき"),
    ("山口", "やまぐち"),
    ("松本", "まつもと"),
]
GIVEN = [
    ("陽翔", "はると"),
    ("蓮", "れん"),
    ("湊", "みなと"),
    ("結菜", "ゆいな"),
    ("陽葵", "ひまり"),
    ("凛", "りん"),
    ("芽依", "めい"),
    ("大翔", "ひろと"),
    ("葵", "あおい"),
    ("悠真", "ゆうま"),
    ("花子", "はなこ"),
    ("一郎", "いちろう"),
    ("咲良", "さくら"),
    ("=SUM(A1)", "いこーる"),
]
ELEMENTARY = ("P1", "P2", "P3", "P4", "P5", "P6")
JUNIOR = ("J1", "J2", "J3")
CLASSES_PER_GRADE = 3
BOARD_CODE = "BENCH"


def _rows_to_copy(rows: Iterable[Sequence[Any]]) -> Iterable[Sequence[Any]]:
    for row in rows:
        yield [json.dumps(v, ensure_ascii=False) if isinstance(v, list) else v for v in row]


def bulk_insert(engine: Engine, table: Table, columns: list[str], rows: list[Sequence[Any]]) -> None:
    """COPY on PostgreSQL, executemany Core inserts elsewhere."""
    if not rows:
        return
    if engine.dialect.name == "postgresql":
        raw = engine.raw_connection()
        try:
            cursor = raw.cursor()
            names = ", ".join(f'"{c}"' for c in columns)
            with cursor.copy(f'COPY "{table.name}" ({names}) FROM STDIN') as copy:  # type: ignore[attr-defined]
                for row in _rows_to_copy(rows):
                    copy.write_row(row)
            raw.commit()
        finally:
            raw.close()
        return
    with engine.begin() as conn:
        for start in range(0, len(rows), 10_000):
            conn.execute(
                insert(table), [dict(zip(columns, r, strict=True)) for r in rows[start : start + 10_000]]
            )


def _next_id(engine: Engine, table: Table) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text(f"SELECT coalesce(max(id), 0) + 1 FROM {table.name}")).scalar_one())


def generate(
    url: str, students: int, opted_out: float, seed: int = 7, board_code: str = BOARD_CODE
) -> dict[str, Any]:
    started = time.perf_counter()
    migrate.upgrade(url)
    engine = make_engine(url)
    rng = random.Random(seed)
    now = datetime.now(UTC)
    tables = Base.metadata.tables
    with engine.begin() as conn:
        if conn.execute(select(Board.id).where(Board.code == board_code)).first():
            raise SystemExit(f"board {board_code} exists already; use another code or an empty database")
        board_id = conn.execute(
            insert(Board)
            .values(code=board_code, name="ベンチ市教育委員会", created_at=now)
            .returning(Board.id)
        ).scalar_one()
        service_id = conn.execute(
            insert(Service)
            .values(board_id=board_id, code="dashboard", status="active", created_at=now)
            .returning(Service.id)
        ).scalar_one()
        version_id = conn.execute(
            insert(ServiceVersion)
            .values(
                service_id=service_id,
                version=1,
                published_at=now,
                name="スクールダッシュボード",
                use_group="dashboard",
                vendor_name="教育データ研究所",
                certifications=[],
                data_centre_country="JP",
            )
            .returning(ServiceVersion.id)
        ).scalar_one()
        categories = [c for (c,) in conn.execute(select(DataCategory.id).order_by(DataCategory.sort_order))][
            :5
        ]
        codes = [c for (c,) in conn.execute(select(DataCategory.code).order_by(DataCategory.sort_order))][:5]
        for category_id in categories:
            conn.execute(
                insert(ServiceVersionCategory).values(service_version_id=version_id, category_id=category_id)
            )
        conn.execute(insert(ServiceAssignment).values(service_id=service_id, created_at=now))
        definition_id = conn.execute(
            insert(ChoiceDefinition)
            .values(
                board_id=board_id,
                service_id=service_id,
                code="hide",
                kind="categories",
                options=["show", "hide_all", "hide_some"],
                default_value="show",
                category_codes=codes,
                label="ダッシュボードでの表示",
                status="active",
                created_at=now,
            )
            .returning(ChoiceDefinition.id)
        ).scalar_one()
        # The English of the board's texts, as the board enters it (ADR 0101).
        english = [
            ("boards", board_id, "name", "Bench City"),
            ("service_versions", version_id, "name", "School Dashboard"),
            ("choice_definitions", definition_id, "label", "Shown on the dashboard"),
        ]
        conn.execute(
            insert(ContentTranslation),
            [
                {
                    "board_id": board_id,
                    "entity_kind": kind,
                    "entity_id": entity_id,
                    "field": field,
                    "language": "en",
                    "text": text,
                    "updated_at": now,
                }
                for kind, entity_id, field, text in english
            ],
        )

    per_school = 500
    school_count = max(1, (students + per_school - 1) // per_school)
    school_rows: list[Sequence[Any]] = []
    first_school = _next_id(engine, tables["schools"])
    for n in range(school_count):
        junior = n % 3 == 2
        school_rows.append(
            (
                first_school + n,
                board_id,
                f"org-{n:04d}",
                f"S{n:04d}",
                f"ベンチ市立第{n + 1}{'中学校' if junior else '小学校'}",
                "junior_high" if junior else "elementary",
                "active",
            )
        )
    bulk_insert(
        engine,
        tables["schools"],
        ["id", "board_id", "sourced_id", "code", "name", "kind", "status"],
        school_rows,
    )

    class_rows: list[Sequence[Any]] = []
    classes_of: dict[int, list[tuple[int, str]]] = {}
    class_id = _next_id(engine, tables["classes"])
    for school_id, *_rest in school_rows:
        grades = JUNIOR if _rest[4] == "junior_high" else ELEMENTARY
        for grade in grades:
            for k in range(1, CLASSES_PER_GRADE + 1):
                class_rows.append(
                    (class_id, board_id, school_id, f"class-{class_id}", f"{k}組", grade, "active")
                )
                classes_of.setdefault(school_id, []).append((class_id, grade))
                class_id += 1
    bulk_insert(
        engine,
        tables["classes"],
        ["id", "board_id", "school_id", "sourced_id", "title", "grade", "status"],
        class_rows,
    )

    student_rows: list[Sequence[Any]] = []
    student_id = _next_id(engine, tables["students"])
    first_student = student_id
    for n in range(students):
        school_id = school_rows[n // per_school][0]
        klass, grade = classes_of[school_id][(n % per_school) % len(classes_of[school_id])]
        family, family_kana = rng.choice(FAMILY)
        given, given_kana = rng.choice(GIVEN)
        student_rows.append(
            (
                student_id,
                board_id,
                school_id,
                klass,
                f"stu-{n:07d}",
                family,
                given,
                family_kana,
                given_kana,
                grade,
                (n % per_school) // len(classes_of[school_id]) + 1,
                "active",
                now,
            )
        )
        student_id += 1
    bulk_insert(
        engine,
        tables["students"],
        [
            "id",
            "board_id",
            "school_id",
            "class_id",
            "sourced_id",
            "family_name",
            "given_name",
            "family_name_kana",
            "given_name_kana",
            "grade",
            "attendance_number",
            "status",
            "updated_at",
        ],
        student_rows,
    )
    del student_rows

    chosen = sorted(rng.sample(range(students), int(students * opted_out)))
    event_rows: list[Sequence[Any]] = []
    current_rows: list[Sequence[Any]] = []
    event_id = _next_id(engine, tables["choice_events"])
    current_id = _next_id(engine, tables["current_choices"])
    for n in chosen:
        sid = first_student + n
        value = "hide_some" if rng.random() < 1 / 3 else "hide_all"
        cats = sorted(rng.sample(codes, 2)) if value == "hide_some" else []
        at = now - timedelta(days=rng.randint(0, 180), seconds=rng.randint(0, 86_400))
        channel = rng.choice(("web", "web", "web", "paper", "phone"))
        event_rows.append(
            (
                event_id,
                board_id,
                sid,
                definition_id,
                "requested",
                None,
                value,
                cats,
                channel,
                None,
                "",
                at,
                None,
            )
        )
        event_rows.append(
            (
                event_id + 1,
                board_id,
                sid,
                definition_id,
                "confirmed",
                event_id,
                value,
                cats,
                channel,
                str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                "",
                at,
                event_id + 1,  # feed position: the id, as the migration gave existing events
            )
        )
        current_rows.append(
            (current_id, board_id, sid, definition_id, value, cats, event_id + 1, channel, at)
        )
        event_id += 2
        current_id += 1
    bulk_insert(
        engine,
        tables["choice_events"],
        [
            "id",
            "board_id",
            "student_id",
            "definition_id",
            "kind",
            "request_id",
            "value",
            "category_codes",
            "channel",
            "receipt_id",
            "reason",
            "created_at",
            "feed_position",
        ],
        event_rows,
    )
    with engine.begin() as conn:  # later confirmations continue after the generated positions
        conn.execute(text("DELETE FROM feed_counters WHERE board_id = :b"), {"b": board_id})
        conn.execute(
            text(
                "INSERT INTO feed_counters (board_id, position) SELECT :b, COALESCE(MAX(feed_position), 0) "
                "FROM choice_events WHERE board_id = :b"
            ),
            {"b": board_id},
        )
    bulk_insert(
        engine,
        tables["current_choices"],
        [
            "id",
            "board_id",
            "student_id",
            "definition_id",
            "value",
            "category_codes",
            "event_id",
            "channel",
            "effective_since",
        ],
        current_rows,
    )
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            for name in ("schools", "classes", "students", "choice_events", "current_choices"):
                conn.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), (SELECT max(id) FROM {name}))"
                    )
                )
            conn.execute(text("ANALYZE"))
    engine.dispose()
    return {
        "students": students,
        "opted_out": len(chosen),
        "schools": school_count,
        "seconds": round(time.perf_counter() - started, 1),
        "board": board_code,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database", required=True, help="Database URL (an empty database).")
    parser.add_argument("--students", type=int, default=300_000)
    parser.add_argument("--opted-out", type=float, default=0.15)
    parser.add_argument(
        "--board", default=BOARD_CODE, help="Board code (several boards may share a database)."
    )
    args = parser.parse_args()
    print(json.dumps(generate(args.database, args.students, args.opted_out, board_code=args.board)))


if __name__ == "__main__":
    main()

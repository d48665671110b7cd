"""Build OneRoster sets for tests from the hand-written Japan Profile sample."""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Callable
from pathlib import Path

FIXTURES = Path(__file__).parent / "fixtures"
SAMPLE_DIR = FIXTURES / "jp_sample"
SAMPLE_ZIP = FIXTURES / "jp_sample.zip"

# sourcedIds in the sample
DISTRICT = "4f6e2a1c-8b3d-4e5f-9a7b-1c2d3e4f5a60"
ELEMENTARY = "0b1c2d3e-4f5a-4b6c-8d7e-9f0a1b2c3d41"
HOMEROOM_1_1 = "d1e2f3a4-0001-4b00-9000-000000000011"
STUDENT_TARO = "e5f6a7b8-0001-4c00-a000-000000000001"
STUDENT_YOSHINO = "e5f6a7b8-0001-4c00-a000-000000000002"
STUDENT_JIRO = "e5f6a7b8-0001-4c00-a000-000000000003"
STUDENT_SAKURA = "e5f6a7b8-0001-4c00-a000-000000000004"
GUARDIAN_ICHIRO = "f6a7b8c9-0002-4d00-b000-000000000001"
GUARDIAN_KEIKO = "f6a7b8c9-0002-4d00-b000-000000000002"
GUARDIAN_MAKOTO = "f6a7b8c9-0002-4d00-b000-000000000003"
TEACHER = "a7b8c9d0-0003-4e00-8000-000000000001"

Rows = list[dict[str, str]]


def read_rows(name: str) -> tuple[list[str], Rows]:
    text = (SAMPLE_DIR / name).read_bytes().decode("utf-8-sig")
    reader = csv.DictReader(io.StringIO(text))
    return list(reader.fieldnames or []), list(reader)


def to_csv(header: list[str], rows: Rows) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, header, quoting=csv.QUOTE_ALL, lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


def build_zip(
    target: Path,
    edit: dict[str, Callable[[list[str], Rows], tuple[list[str], Rows]]] | None = None,
    raw: dict[str, bytes] | None = None,
    drop: tuple[str, ...] = (),
) -> Path:
    """The sample, with some files edited (as rows), replaced (as bytes) or left out."""
    edit, raw = edit or {}, raw or {}
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(SAMPLE_DIR.glob("*.csv")):
            if path.name in drop:
                continue
            if path.name in raw:
                data = raw[path.name]
            elif path.name in edit:
                header, rows = read_rows(path.name)
                data = to_csv(*edit[path.name](header, rows))
            else:
                data = path.read_bytes()
            archive.writestr(path.name, data)
        for name, data in raw.items():
            if not (SAMPLE_DIR / name).exists():
                archive.writestr(name, data)
    return target


def manifest(**modes: str) -> bytes:
    """A manifest with every file absent except those given."""
    lines = ["propertyName,value", "manifest.version,1.0", "oneroster.version,1.2"]
    for key in (
        "academicSessions",
        "classes",
        "courses",
        "demographics",
        "enrollments",
        "orgs",
        "roles",
        "users",
    ):
        lines.append(f"file.{key},{modes.get(key, 'absent')}")
    return ("\r\n".join(lines) + "\r\n").encode()


def set_field(sourced_id: str, **values: str) -> Callable[[list[str], Rows], tuple[list[str], Rows]]:
    def change(header: list[str], rows: Rows) -> tuple[list[str], Rows]:
        for row in rows:
            if row["sourcedId"] == sourced_id:
                row.update(values)
        return header, rows

    return change


def only(*sourced_ids: str, **values: str) -> Callable[[list[str], Rows], tuple[list[str], Rows]]:
    def keep(header: list[str], rows: Rows) -> tuple[list[str], Rows]:
        kept = [row for row in rows if row["sourcedId"] in sourced_ids]
        for row in kept:
            row.update(values)
        return header, kept

    return keep


def without_user(sourced_id: str) -> Callable[[list[str], Rows], tuple[list[str], Rows]]:
    """A roster without one user: for users.csv, roles.csv and enrollments.csv alike."""

    def drop(header: list[str], rows: Rows) -> tuple[list[str], Rows]:
        return header, [
            row for row in rows if sourced_id not in (row.get("sourcedId"), row.get("userSourcedId"))
        ]

    return drop

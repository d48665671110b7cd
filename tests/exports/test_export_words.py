"""Exports in words (code beside label), the CP932 refusal as staff read it, and one content
whichever database and whichever path (PostgreSQL's statement or Python's writers) made it."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta

import openpyxl
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.config import Settings
from app.db import Database, utcnow
from app.domain.audit.service import CLI
from app.domain.catalog.models import ChoiceDefinition
from app.domain.choices import labels
from app.domain.exports import service, writers
from app.domain.exports.query import KEYS, ExportFilters
from app.i18n import current_language
from tests.helpers import csrf_token, sign_in_as
from tests.staff import factories as f

# Documented in docs/staff.md ("Columns"); a change here is a change for every reader of the files.
JA_HEADER = [
    "学校コード",
    "学校名",
    "学年",
    "学級",
    "出席番号",
    "児童生徒ID",
    "氏名",
    "ふりがな",
    "サービスコード",
    "サービス",
    "選択コード",
    "選択",
    "設定コード",
    "設定",
    "表示しないデータの種類（コード）",
    "表示しないデータの種類",
    "初期値コード",
    "初期値",
    "有効日時",
    "受付方法コード",
    "受付方法",
]


@pytest.fixture
def world(db: Session) -> dict[str, object]:
    board = f.board(db)
    school = f.school(db, board, "S1", "第一小学校")
    klass = f.school_class(db, school, "1組", "P3")
    _service, _version, definition = f.dashboard_service(db, board)
    first, second = definition.category_codes[0], definition.category_codes[1]
    some = f.student(db, school, klass=klass, family="髙橋", given="一郎", number=1, sourced_id="stu-A")
    every = f.student(db, school, klass=klass, family="佐藤", given="二郎", number=2, sourced_id="stu-B")
    f.confirmed(db, definition, some, "hide_some", [second, first], channel="web")
    f.confirmed(db, definition, every, "hide_all", channel="paper")
    admin = f.staff(db, board, "school_admin", school)
    db.commit()
    return {"board": board, "school": school, "admin": admin, "definition": definition}


def _value_words(code: str, lang: str = "ja") -> str:
    """The words guardians read for a value (`choices.labels`), which the export repeats."""
    token = current_language.set(lang)
    try:
        return labels.choice_value(code)
    finally:
        current_language.reset(token)


def _download(client: TestClient, settings: Settings, fmt: str) -> bytes:
    response = client.post("/staff/exports", data={"csrf_token": csrf_token(client, settings), "format": fmt})
    assert response.status_code == 200, response.text
    return response.content


def test_csv_and_xlsx_carry_the_code_and_the_words_for_each_choice(
    client: TestClient, db: Session, settings: Settings, world: dict[str, object]
) -> None:
    sign_in_as(client, db, settings, world["admin"])  # type: ignore[arg-type]
    rows = list(csv.reader(io.StringIO(_download(client, settings, "csv").decode("utf-8-sig"))))
    sheet = openpyxl.load_workbook(io.BytesIO(_download(client, settings, "xlsx"))).active
    assert sheet is not None
    cells = [[("" if v is None else str(v)) for v in row] for row in sheet.iter_rows(values_only=True)]
    for table in (rows, cells):
        assert table[0] == JA_HEADER
        some = dict(zip(KEYS, table[1], strict=True))
        assert some["student_id"] == "stu-A"
        assert some["value"] == "hide_some"
        assert some["value_label"] == "選んだ種類のデータだけ表示しない"
        # the kinds chosen, in code order, as codes and by name
        assert some["categories"] == "credentials identity"
        assert some["category_labels"] == "ID・パスワード、基本情報"
        assert some["default"] == "show" and some["default_label"] == "表示する（変更なし）"
        assert some["channel"] == "web" and some["channel_label"] == "このサイト上で"
        assert some["service_code"] == "dashboard" and some["service"] == "スクールダッシュボード"
        assert some["choice_code"] == "hide" and some["choice"] == "ダッシュボードでの表示"
        every = dict(zip(KEYS, table[2], strict=True))
        assert every["value"] == "hide_all"
        assert every["value_label"] == _value_words("hide_all") != "hide_all"
        assert every["categories"] == "identity credentials learning_records"
        assert every["category_labels"] == "基本情報、ID・パスワード、学習記録"
        assert every["channel"] == "paper" and every["channel_label"] == "書面（学校へ提出）"

    records = json.loads(_download(client, settings, "json"))
    assert list(records[0]) == list(KEYS)
    assert records[0]["value"] == "hide_some"
    assert records[0]["value_label"] == "選んだ種類のデータだけ表示しない"

    client.cookies.set("tobira_lang", "en")
    english = list(csv.reader(io.StringIO(_download(client, settings, "csv").decode("utf-8-sig"))))
    some = dict(zip(KEYS, english[1], strict=True))
    assert some["value"] == "hide_some" and some["value_label"] == _value_words("hide_some", "en")
    assert some["value_label"].startswith("Hide only")
    assert some["category_labels"] == "Account IDs and passwords, Identity basics"
    assert english[2][KEYS.index("channel_label")] == "Paper form to the school"


def test_cp932_refusal_names_the_row_and_the_column_as_staff_read_it(
    client: TestClient, db: Session, settings: Settings, world: dict[str, object]
) -> None:
    later = f.student(db, world["school"], family="𠮷野", given="咲", number=9, sourced_id="stu-Z")  # type: ignore[arg-type]
    f.confirmed(db, world["definition"], later, "hide_all")  # type: ignore[arg-type]
    db.commit()
    sign_in_as(client, db, settings, world["admin"])  # type: ignore[arg-type]
    response = client.post(
        "/staff/exports", data={"csrf_token": csrf_token(client, settings), "format": "cp932"}
    )
    assert response.status_code == 422
    # stu-Z has no class, so it comes after the class 1組: the third row under the headings.
    assert (
        "3行目（児童生徒ID stu-Z）の「氏名」に、Shift_JIS（CP932）で表せない文字「𠮷」があります。"
        in response.text
    )
    assert "見出しのすぐ下の行を1行目" in response.text
    assert "name" not in response.text.split("Shift_JIS")[1].split("</ul>")[0]


EXPECTED_CSV = (
    "\ufeff" + ",".join(JA_HEADER) + "\r\n"
    "S1,第一小学校,P3,1組,1,stu-A,髙橋 一郎,やまだ はなこ,dashboard,スクールダッシュボード,hide,"
    "ダッシュボードでの表示,hide_some,選んだ種類のデータだけ表示しない,credentials identity,"
    "ID・パスワード、基本情報,show,表示する（変更なし）,{since_a},web,このサイト上で\r\n"
    "S1,第一小学校,P3,1組,2,stu-B,佐藤 二郎,やまだ はなこ,dashboard,スクールダッシュボード,hide,"
    "ダッシュボードでの表示,hide_all,{hide_all},"
    "identity credentials learning_records,基本情報、ID・パスワード、学習記録,"
    "show,表示する（変更なし）,{since_b},paper,書面（学校へ提出）\r\n"
)


def test_the_export_reads_the_same_on_sqlite_and_postgresql(
    db: Session, database_url: str, world: dict[str, object]
) -> None:
    """The file to the byte, on whichever database the suite runs (CI runs both)."""
    database = Database(database_url)
    with database.transaction() as session:
        prepared = service.prepare(session, ExportFilters(board_id=world["board"].id), "csv", "ja", CLI)  # type: ignore[attr-defined]
    body = b"".join(service.stream(database, prepared)).decode("utf-8")
    since = [line.split(",")[18] for line in body.split("\r\n")[1:3]]
    assert all(len(s) == 25 and s.endswith("+09:00") and s[10] == "T" for s in since)
    assert body == EXPECTED_CSV.format(since_a=since[0], since_b=since[1], hide_all=_value_words("hide_all"))


AWKWARD = (
    # family, given, family kana, given kana: cells CSV has to quote or a spreadsheet would run
    ('Comma, "quoted"', "花子", "", ""),
    ("Line\r\nbreak", "Tab\tx", " さ", "ゆ "),
    ("=1+2", "-3", "@SUM", "+4"),
    ("Back\\slash", "\\.", "\x01ctl", "ゆ\u3000"),
    ("", "", "", ""),
)


def test_postgresql_builds_the_same_bytes_as_the_portable_writers(
    db: Session, database_url: str, world: dict[str, object]
) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("the statement-built path is PostgreSQL's")
    board, school, definition = world["board"], world["school"], world["definition"]
    for n, (family, given, family_kana, given_kana) in enumerate(AWKWARD):
        student = f.student(
            db,
            school,  # type: ignore[arg-type]
            family=family,
            given=given,
            family_kana=family_kana,
            given_kana=given_kana,
            number=None if n == 1 else -n,
            sourced_id=f"=id,{n}",
        )
        value = ("hide_all", "hide_some", "show")[n % 3]
        f.confirmed(
            db,
            definition,  # type: ignore[arg-type]
            student,
            value,
            definition.category_codes[:2] if value == "hide_some" else [],  # type: ignore[attr-defined]
            channel=("import", "phone", "in_person", "mail", "web")[n],
        )
    elsewhere = f.school(db, board, "S2", "Ünïcode 😀 school")  # type: ignore[arg-type]
    f.confirmed(db, definition, f.student(db, elsewhere, family="😀"), "hide_all")  # type: ignore[arg-type]
    no_grade = f.student(db, school, grade="", sourced_id="no-grade")  # type: ignore[arg-type]
    no_grade.grade = None
    toggle = ChoiceDefinition(
        board_id=board.id,  # type: ignore[attr-defined]
        service_id=None,
        code="photos",
        kind="toggle",
        options=["show", "hide"],
        default_value="show",
        category_codes=[],
        label="学校だよりの写真",
    )
    db.add(toggle)
    db.flush()
    f.confirmed(db, toggle, no_grade, "hide", channel="paper")
    db.commit()
    database = Database(database_url)
    board_id = board.id  # type: ignore[attr-defined]
    since = utcnow() - timedelta(days=1)
    for lang in ("ja", "en"):
        for filters in (
            ExportFilters(board_id=board_id),
            ExportFilters(board_id=board_id, since=since),
            ExportFilters(board_id=board_id, school_code="S1"),
        ):
            for fmt in writers.FORMATS:
                if fmt == "cp932" and filters.school_code is None:
                    continue  # 😀 does not fit: refused before a byte is written (tested above)
                prepared = service.Prepared(filters, fmt, lang, 0, [])
                with database.reader() as session:
                    built = b"".join(service.chunks(session, prepared))
                    portable = b"".join(service.chunks(session, prepared, portable=True))
                if fmt == "xlsx":
                    assert _cells(built) == _cells(portable)
                    assert len(_cells(built)) >= 8
                else:
                    assert built == portable, (fmt, lang, filters)
        # CP932 as sent: the rows the check read, from its temporary file.
        with database.transaction() as session:
            checked = service.prepare(
                session, ExportFilters(board_id=board_id, school_code="S1"), "cp932", lang, CLI
            )
        assert checked.checked is not None and not checked.refused
        sent = b"".join(service.stream(database, checked))
        with database.reader() as session:
            assert sent == b"".join(service.chunks(session, checked, portable=True))
        assert len(list(csv.reader(io.StringIO(sent.decode("cp932"), newline="")))) == checked.row_count + 1


def _cells(workbook: bytes) -> list[tuple[object, ...]]:
    sheet = openpyxl.load_workbook(io.BytesIO(workbook)).active
    assert sheet is not None
    return list(sheet.iter_rows(values_only=True))

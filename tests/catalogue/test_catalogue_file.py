"""The catalogue as a file: exported from one board and imported into another, guardians see the
same pages; a file with problems is refused whole, each problem named by its path; importing
the same file again changes nothing; a changed file publishes version n+1 and says first what
it would add, publish and remove."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from app.cli import main
from app.config import Settings, get_settings
from app.db import Database
from app.domain.audit.models import AuditEvent
from app.domain.boards.models import Board
from app.domain.catalog.models import (
    ChoiceDefinition,
    NoticeVersion,
    Service,
    ServiceAssignment,
    ServiceVersion,
    Subcontractor,
)
from app.domain.jobs.models import Job
from app.domain.people.models import Guardian, GuardianStudent, School, Student
from app.domain.translations import service as translations
from app.surfaces.demo.seed import seed_demo
from tests.guardian import factories as f
from tests.helpers import SmtpSink, body_of, deliver_mail, run_jobs, sign_in_as


@pytest.fixture
def run(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRunner]:
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("ENVIRONMENT", "test")
    get_settings.cache_clear()
    yield CliRunner()
    get_settings.cache_clear()


def _counts(db: Session, board_id: int) -> dict[str, int]:
    db.expire_all()
    services = select(Service.id).where(Service.board_id == board_id)
    return {
        "services": db.scalar(select(func.count()).select_from(Service).where(Service.board_id == board_id))
        or 0,
        "versions": db.scalar(
            select(func.count()).select_from(ServiceVersion).where(ServiceVersion.service_id.in_(services))
        )
        or 0,
        "rules": db.scalar(
            select(func.count())
            .select_from(ServiceAssignment)
            .where(ServiceAssignment.service_id.in_(services))
        )
        or 0,
        "choices": db.scalar(
            select(func.count()).select_from(ChoiceDefinition).where(ChoiceDefinition.board_id == board_id)
        )
        or 0,
        "notices": db.scalar(
            select(func.count()).select_from(NoticeVersion).where(NoticeVersion.board_id == board_id)
        )
        or 0,
        "audit": db.scalar(
            select(func.count()).select_from(AuditEvent).where(AuditEvent.board_id == board_id)
        )
        or 0,
    }


def _empty_board(db: Session) -> tuple[Board, dict[str, Student]]:
    """A board with the demo's two schools (by code) and one P4 and one J2 child, each with a
    guardian who has signed in."""
    board = f.make_board(db, code="other")
    students = {}
    for code, grade, title in (("E01", "P4", "4年1組"), ("J01", "J2", "2年1組")):
        school = School(board_id=board.id, sourced_id=f"org-{code}", code=code, name=f"{code}校")
        db.add(school)
        db.flush()
        homeroom = f.make_class(db, school, grade=grade, title=title)
        students[grade] = f.make_student(db, school, grade=grade, school_class=homeroom)
    guardian = f.make_guardian(db, board, email="other-board@example.jp")
    f.link(db, guardian, *students.values())
    db.commit()
    return board, students


def _services_on_page(client: TestClient, db: Session, settings: Settings, student: Student) -> list[str]:
    """What a guardian reads about each service on the child page: names, data, purposes,
    promises, subcontractors and choices, as text (row ids and tokens are not text)."""
    guardian_id = db.scalar(
        select(GuardianStudent.guardian_id).where(GuardianStudent.student_id == student.id)
    )
    account = f.make_account(db, db.get_one(Guardian, guardian_id), email=f"acc-{student.id}@example.jp")
    db.commit()
    client.cookies.clear()
    sign_in_as(client, db, settings, account)
    page = client.get(f"/children/{student.id}")
    assert page.status_code == 200
    cards = re.findall(r'<details class="service".*?</details>', page.text, re.S)
    return [" ".join(html.unescape(re.sub(r"<[^>]+>", " ", card)).split()) for card in cards]


def test_an_exported_demo_catalogue_imported_into_an_empty_board_gives_guardians_the_same_pages(
    client: TestClient, db: Session, settings: Settings, run: CliRunner, tmp_path: Path
) -> None:
    seed_demo(db)
    db.commit()
    board, students = _empty_board(db)
    exported = tmp_path / "catalogue.yaml"
    result = run.invoke(main, ["catalogue", "export", "--board", "demo", "-o", str(exported)])
    assert result.exit_code == 0, result.output
    document = yaml.safe_load(exported.read_text("utf-8"))
    assert len(document["services"]) == 13 and document["notice"]["title"]["ja"]
    dashboard = next(s for s in document["services"] if s["code"] == "school-dashboard")
    assert (
        dashboard["subcontractors"][0]["children"][0]["name"]["ja"] == "株式会社とびらデータセンター（架空）"
    )
    assert dashboard["choices"][0]["code"] == "dashboard_display" and dashboard["coverage"] == [{}]

    dry = run.invoke(main, ["catalogue", "import", str(exported), "--board", "other", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "service school-dashboard: create (version 1)" in dry.output
    assert "coverage kahoot: add {school J01, grades J1-J3}" in dry.output
    assert "choice microsoft-teams/class_photos: add" in dry.output
    assert "notice: publish a new version" in dry.output
    assert _counts(db, board.id)["services"] == 0

    done = run.invoke(main, ["catalogue", "import", str(exported), "--board", "other"])
    assert done.exit_code == 0, done.output
    after = _counts(db, board.id)
    assert (after["services"], after["versions"], after["choices"], after["notices"]) == (13, 13, 2, 1)
    # New services are announced to the guardians they cover, as when created in the console.
    assert db.scalar(select(func.count()).select_from(Job).where(Job.board_id == board.id)) == 13

    demo_board = db.scalar(select(Board).where(Board.code == "demo"))
    assert demo_board is not None
    for grade, roster_id in (("P4", "demo-s-0001"), ("J2", "demo-s-0002")):
        demo_child = db.scalar(
            select(Student).where(Student.board_id == demo_board.id, Student.sourced_id == roster_id)
        )
        assert demo_child is not None and demo_child.grade == grade
        demo_page = _services_on_page(client, db, settings, demo_child)
        other_page = _services_on_page(client, db, settings, students[grade])
        assert len(demo_page) >= 9 and other_page == demo_page
    assert any("Kahoot!" in card for card in other_page)  # J2 only
    assert any("スクールダッシュボードでの表示" in card for card in other_page)

    # Exported again from the new board, the file says the same (but for the board's code).
    again = run.invoke(main, ["catalogue", "export", "--board", "other", "--format", "json"])
    assert again.exit_code == 0
    copied = json.loads(again.stdout)
    assert copied["notice"] == document["notice"] and copied["board"] == "other"
    assert copied["services"] == sorted(document["services"], key=lambda s: _order(copied, s["code"]))


def _order(document: dict[str, list[dict[str, str]]], code: str) -> int:
    return [s["code"] for s in document["services"]].index(code)


BAD = """
format_version: 1
services:
  - code: newapp
    use_group: learning
    name: {ja: 新しいアプリ}
    vendor:
      name: {ja: 事業者}
      data_centre_country: NO
    categories:
      - code: identity
      - code: dna_sequence
    subcontractors:
      - name: {ja: 委託先}
        country: jp
        children:
          - name: {ja: 再委託先}
            colour: blue
    coverage:
      - school: X99
        grades: J3-J1
      - students: [nobody-here]
    choices:
      - code: photos
        kind: toggle
        options: [allow, deny]
        default: maybe
        label: {ja: 写真}
  - code: newapp
    use_group: games
    name: {ja: 同じコード}
    vendor: {name: {ja: 事業者}}
"""


def test_a_file_with_several_problems_is_refused_whole_each_named_by_its_path(
    db: Session, run: CliRunner, tmp_path: Path
) -> None:
    board, _students = _empty_board(db)
    before = _counts(db, board.id)
    bad = tmp_path / "bad.yaml"
    bad.write_text(BAD, encoding="utf-8")
    result = run.invoke(main, ["catalogue", "import", str(bad), "--board", "other"])
    assert result.exit_code == 2
    lines = result.stderr.splitlines()
    expected = {
        "services[0].vendor.data_centre_country": "テキストを書いてください",  # NO read as false
        "services[0].categories[1].code": "dna_sequence",
        "services[0].subcontractors[0].country": "JP",
        "services[0].subcontractors[0].children[0].colour": "項目",
        "services[0].coverage[0].school": "X99",
        "services[0].coverage[0].grades": "最後の学年",
        "services[0].coverage[1].students[0]": "名簿 ID",
        "services[0].choices[0].default": "選択肢",
        "services[1].code": "services[0]",
        "services[1].use_group": "learning",
    }
    for path, words in expected.items():
        line = next((x for x in lines if x.startswith(f"{path}: ")), None)
        assert line is not None, f"{path} not named in:\n{result.stderr}"
        assert words in line, line
    assert "問題が 10 件" in result.stderr and "nothing was changed" in result.stderr
    assert _counts(db, board.id) == before

    too_big = tmp_path / "big.yaml"
    too_big.write_bytes(b"#" * 2_000_001)
    refused = run.invoke(main, ["catalogue", "import", str(too_big), "--board", "other"])
    assert refused.exit_code == 2 and "(file):" in refused.stderr
    unsafe = tmp_path / "unsafe.yaml"
    unsafe.write_text("format_version: !!python/object/apply:os.system ['true']\nservices: []\n")
    refused = run.invoke(main, ["catalogue", "import", str(unsafe), "--board", "other"])
    assert refused.exit_code == 2 and "(line 1)" in refused.stderr
    assert _counts(db, board.id) == before


GOOD = {
    "format_version": 1,
    "notice": {"title": {"ja": "クラウドサービスについて", "en": "About cloud services"}},
    "services": [
        {
            "code": "drill",
            "use_group": "learning",
            "name": {"ja": "ドリル", "en": "Drill"},
            "vendor": {"name": {"ja": "ドリル社"}, "backup_retention_days": 30},
            "categories": [{"code": "identity", "items": {"ja": "氏名"}}],
            "purposes": [{"text": {"ja": "練習のため"}}, {"text": {"ja": "保守"}, "permitted_use": "c"}],
            "subcontractors": [
                {
                    "name": {"ja": "委託先"},
                    "children": [{"name": {"ja": "再委託先"}, "country": "US"}],
                },
                {"name": {"ja": "別の委託先"}},
            ],
            "coverage": [{"school": "E01", "grades": "P3-P6"}, {"school": "J01", "homeroom": "2年1組"}],
            "choices": [
                {
                    "code": "stats",
                    "kind": "toggle",
                    "options": ["allow", "deny"],
                    "default": "deny",
                    "label": {"ja": "統計への利用", "en": "Use for statistics"},
                }
            ],
        }
    ],
}


def test_a_second_import_changes_nothing_and_a_changed_file_publishes_version_two(
    db: Session, run: CliRunner, tmp_path: Path
) -> None:
    board, students = _empty_board(db)
    path = tmp_path / "catalogue.json"
    path.write_text(json.dumps(GOOD, ensure_ascii=False), encoding="utf-8")
    assert run.invoke(main, ["catalogue", "import", str(path), "--board", "other"]).exit_code == 0
    first = _counts(db, board.id)
    assert (first["services"], first["versions"], first["rules"], first["choices"], first["notices"]) == (
        1,
        1,
        2,
        1,
        1,
    )
    definition = db.scalar(select(ChoiceDefinition).where(ChoiceDefinition.board_id == board.id))
    assert definition is not None and definition.default_value == "deny"
    chain = db.scalars(select(Subcontractor).order_by(Subcontractor.sort_order)).all()
    assert [(s.name, s.parent_id) for s in chain] == [
        ("委託先", None),
        ("再委託先", chain[0].id),
        ("別の委託先", None),
    ]
    homeroom_rule = db.scalar(select(ServiceAssignment).where(ServiceAssignment.class_id.is_not(None)))
    assert homeroom_rule is not None and homeroom_rule.class_id == students["J2"].class_id

    second = run.invoke(main, ["catalogue", "import", str(path), "--board", "other"])
    assert second.exit_code == 0 and "service drill: unchanged" in second.stdout
    assert "notice: unchanged" in second.stdout and "nothing had changed" in second.stdout
    assert _counts(db, board.id) == {**first, "audit": first["audit"] + 1}  # the import's own record
    [last] = db.scalars(
        select(AuditEvent).where(AuditEvent.board_id == board.id).order_by(AuditEvent.id.desc()).limit(1)
    )
    assert last.action == "catalogue.imported" and last.details["unchanged"] == 1

    changed = json.loads(json.dumps(GOOD))
    service = changed["services"][0]
    service["categories"].append({"code": "learning_records", "items": {"ja": "解答"}})
    service["coverage"] = [{"school": "E01", "grades": "P3-P6"}]
    service["choices"] = []
    path.write_text(json.dumps(changed, ensure_ascii=False), encoding="utf-8")
    dry = run.invoke(main, ["catalogue", "import", str(path), "--board", "other", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "service drill: publish version 2 (categories)" in dry.stdout
    assert "coverage drill: remove {school J01, homeroom 2年1組} (not in the file)" in dry.stdout
    assert "choice drill/stats: retire (not in the file)" in dry.stdout
    assert _counts(db, board.id) == {**first, "audit": first["audit"] + 1}
    assert run.invoke(main, ["catalogue", "import", str(path), "--board", "other"]).exit_code == 0
    now = _counts(db, board.id)
    assert (now["versions"], now["rules"], now["notices"]) == (2, 1, 2)
    db.expire_all()
    assert db.get_one(ChoiceDefinition, definition.id).status == "retired"
    versions = db.scalars(select(ServiceVersion).order_by(ServiceVersion.version)).all()
    assert [v.version for v in versions] == [1, 2]  # version 1 is kept as it was published


def test_a_board_admin_downloads_the_catalogue_file_from_the_services_page(
    client: TestClient, db: Session, settings: Settings, run: CliRunner, tmp_path: Path
) -> None:
    from tests.staff import factories as staff_factories

    board, _students = _empty_board(db)
    path = tmp_path / "catalogue.json"
    path.write_text(json.dumps(GOOD, ensure_ascii=False), encoding="utf-8")
    assert run.invoke(main, ["catalogue", "import", str(path), "--board", "other"]).exit_code == 0
    admin = staff_factories.staff(db, board, "board_admin")
    teacher = staff_factories.staff(db, board, "teacher", db.scalars(select(School)).first())
    db.commit()
    sign_in_as(client, db, settings, admin)
    assert 'href="/staff/catalogue-file"' in client.get("/staff/services").text
    download = client.get("/staff/catalogue-file")
    assert download.status_code == 200 and "catalogue-other.yaml" in download.headers["content-disposition"]
    document = yaml.safe_load(download.text)
    assert [s["code"] for s in document["services"]] == ["drill"]
    assert document["services"][0]["coverage"] == [
        {"school": "E01", "grades": "P3-P6"},
        {"school": "J01", "homeroom": "2年1組"},
    ]
    as_json = client.get("/staff/catalogue-file?format=json")
    assert as_json.json()["services"][0]["choices"][0]["default"] == "deny"
    assert db.scalar(select(func.count()).where(AuditEvent.action == "catalogue.exported")) == 2
    client.cookies.clear()
    sign_in_as(client, db, settings, teacher)
    assert 'href="/staff/catalogue-file"' not in client.get("/staff/services").text
    assert client.get("/staff/catalogue-file").status_code in (403, 404)


def test_a_choice_is_not_changed_in_place_nor_a_retired_service_brought_back(
    db: Session, run: CliRunner, tmp_path: Path
) -> None:
    board, _students = _empty_board(db)
    path = tmp_path / "catalogue.json"
    retired = json.loads(json.dumps(GOOD))
    retired["services"].append({**retired["services"][0], "code": "old", "status": "retired", "choices": []})
    path.write_text(json.dumps(retired, ensure_ascii=False), encoding="utf-8")
    assert run.invoke(main, ["catalogue", "import", str(path), "--board", "other"]).exit_code == 0
    before = _counts(db, board.id)
    assert db.scalar(select(Service.status).where(Service.code == "old")) == "retired"

    changed = json.loads(json.dumps(retired))
    changed["services"][0]["choices"][0]["label"]["ja"] = "統計への利用（変更）"
    changed["services"][1]["status"] = "active"
    path.write_text(json.dumps(changed, ensure_ascii=False), encoding="utf-8")
    result = run.invoke(main, ["catalogue", "import", str(path), "--board", "other"])
    assert result.exit_code == 2
    assert "services[0].choices[0]: このコードの選択項目は別の設定で提供中です" in result.stderr
    assert "services[1].status: 利用を終了したサービスは戻せません" in result.stderr
    assert _counts(db, board.id) == before


def test_a_coverage_rule_added_by_a_file_is_a_version_and_tells_the_family_it_brings_in(
    db: Session, database: Database, settings: Settings, smtp: SmtpSink, run: CliRunner, tmp_path: Path
) -> None:
    _board, students = _empty_board(db)
    first = json.loads(json.dumps(GOOD))
    first["services"][0]["coverage"] = [{"school": "E01", "grades": "P3-P6"}]
    path = tmp_path / "catalogue.json"
    path.write_text(json.dumps(first, ensure_ascii=False), encoding="utf-8")
    assert run.invoke(main, ["catalogue", "import", str(path), "--board", "other"]).exit_code == 0
    run_jobs(database, settings)
    deliver_mail(database, settings)
    [new_service] = smtp.to("other-board@example.jp")
    assert students["P4"].given_name in body_of(new_service)

    path.write_text(json.dumps(GOOD, ensure_ascii=False), encoding="utf-8")  # adds the J01 homeroom
    assert run.invoke(main, ["catalogue", "import", str(path), "--board", "other"]).exit_code == 0
    db.expire_all()
    latest = db.scalars(select(ServiceVersion).order_by(ServiceVersion.version.desc())).first()
    assert latest is not None and latest.version == 2
    assert {"school": "J01", "class": "2年1組"} in latest.coverage
    run_jobs(database, settings)
    deliver_mail(database, settings)
    told = smtp.to("other-board@example.jp")
    assert len(told) == 2 and students["J2"].given_name in body_of(told[-1])


def test_a_board_wide_choice_travels_in_the_file(db: Session, run: CliRunner, tmp_path: Path) -> None:
    board, _students = _empty_board(db)
    document = json.loads(json.dumps(GOOD))
    document["choices"] = [
        {
            "code": "newsletter-photos",
            "kind": "toggle",
            "options": ["allow", "deny"],
            "default": "deny",
            "label": {"ja": "学校だよりへの写真の掲載", "en": "Photos in the school newsletter"},
        },
        {
            "code": "bad",
            "kind": "categories",
            "options": ["show", "hide_all", "hide_some"],
            "default": "show",
        },
    ]
    path = tmp_path / "catalogue.json"
    path.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    refused = run.invoke(main, ["catalogue", "import", str(path), "--board", "other"])
    assert refused.exit_code == 2 and "choices[1].kind" in refused.output

    document["choices"] = document["choices"][:1]
    path.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    done = run.invoke(main, ["catalogue", "import", str(path), "--board", "other"])
    assert done.exit_code == 0 and "choice (whole board)/newsletter-photos: add" in done.output
    db.expire_all()
    wide = db.scalar(
        select(ChoiceDefinition).where(
            ChoiceDefinition.board_id == board.id, ChoiceDefinition.service_id.is_(None)
        )
    )
    assert wide is not None and wide.default_value == "deny"
    english = translations.of_entities(db, "choice_definitions", [wide.id], ["en"])[wide.id]["en"]
    assert english["label"] == "Photos in the school newsletter"
    exported = tmp_path / "again.json"
    assert run.invoke(main, ["catalogue", "export", "--board", "other", "-o", str(exported)]).exit_code == 0
    assert json.loads(exported.read_text("utf-8"))["choices"][0]["code"] == "newsletter-photos"
    again = run.invoke(main, ["catalogue", "import", str(exported), "--board", "other"])
    assert again.exit_code == 0 and "choice (whole board): 1 choice(s) unchanged" in again.output

    document["choices"] = []
    path.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    assert run.invoke(main, ["catalogue", "import", str(path), "--board", "other"]).exit_code == 0
    db.expire_all()
    assert db.get_one(ChoiceDefinition, wide.id).status == "retired"


def test_translations_travel_in_the_file_beside_the_japanese(
    db: Session, run: CliRunner, tmp_path: Path
) -> None:
    """A text is {"ja": …, "en": …, "vi": …} (ADR 0101): exported, imported into another board,
    and a file that changes only a translation changes it without publishing a version."""
    seed_demo(db)
    db.commit()
    demo = db.scalar(select(Board).where(Board.code == "demo"))
    assert demo is not None
    dashboard = db.scalar(
        select(ChoiceDefinition).where(
            ChoiceDefinition.board_id == demo.id, ChoiceDefinition.code == "dashboard_display"
        )
    )
    assert dashboard is not None
    translations.save(db, demo.id, "choice_definitions", dashboard.id, {"vi": {"label": "Hiển thị"}})
    db.commit()
    board, _students = _empty_board(db)
    exported = tmp_path / "catalogue.yaml"
    assert run.invoke(main, ["catalogue", "export", "--board", "demo", "-o", str(exported)]).exit_code == 0
    document = yaml.safe_load(exported.read_text("utf-8"))
    [entry] = [c for s in document["services"] for c in s["choices"] if c["code"] == "dashboard_display"]
    assert entry["label"]["vi"] == "Hiển thị" and entry["label"]["en"] and entry["label"]["ja"]
    document["board"] = "other"
    path = tmp_path / "other.yaml"
    path.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    assert run.invoke(main, ["catalogue", "import", str(path), "--board", "other"]).exit_code == 0

    db.expire_all()
    copied = db.scalar(
        select(ChoiceDefinition).where(
            ChoiceDefinition.board_id == board.id, ChoiceDefinition.code == "dashboard_display"
        )
    )
    assert copied is not None
    held = translations.of_entities(db, "choice_definitions", [copied.id])[copied.id]
    assert held["vi"] == {"label": "Hiển thị"} and held["en"]["label"] == entry["label"]["en"]
    before = _counts(db, board.id)

    # Only a translation changes: it is saved, no version or notice is published.
    entry["label"]["vi"] = "Hiển thị trên bảng điều khiển"
    entry["label"].pop("en")
    path.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    again = run.invoke(main, ["catalogue", "import", str(path), "--board", "other"])
    assert again.exit_code == 0, again.output
    assert "translations: set as in the file" in again.output
    db.expire_all()
    held = translations.of_entities(db, "choice_definitions", [copied.id])[copied.id]
    assert held["vi"] == {"label": "Hiển thị trên bảng điều khiển"}
    assert "label" not in held["en"] and held["en"]["explanation"]  # as the file says
    after = _counts(db, board.id)
    assert (after["versions"], after["notices"], after["choices"]) == (
        before["versions"],
        before["notices"],
        before["choices"],
    )


def test_a_re_imported_file_is_on_the_next_guardian_page(
    client: TestClient, db: Session, settings: Settings, run: CliRunner, tmp_path: Path
) -> None:
    """The page keeps the catalogue in memory (ADR 0095): an import moves the board's
    catalogue version, so the next page shows what the file now says."""
    _board, students = _empty_board(db)
    path = tmp_path / "catalogue.json"
    path.write_text(json.dumps(GOOD, ensure_ascii=False), encoding="utf-8")
    assert run.invoke(main, ["catalogue", "import", str(path), "--board", "other"]).exit_code == 0
    [card] = _services_on_page(client, db, settings, students["P4"])
    assert "ドリル" in card and "統計への利用" in card
    renamed = json.loads(json.dumps(GOOD))
    renamed["services"][0]["name"]["ja"] = "計算ドリル"
    path.write_text(json.dumps(renamed, ensure_ascii=False), encoding="utf-8")
    assert run.invoke(main, ["catalogue", "import", str(path), "--board", "other"]).exit_code == 0
    page = client.get(f"/children/{students['P4'].id}").text
    assert "計算ドリル" in page and "統計への利用" in page

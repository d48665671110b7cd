"""The receipt JSON follows the project's JSON Schema of ISO/IEC TS 27560's fields, the
receipt page shows the same fields in words with Japan-time dates, and the disclosure package
follows its schema in a fixed number of statements whatever the history's length."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import jsonschema
from fastapi.testclient import TestClient
from referencing import Registry, Resource
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.config import Settings
from app.db import Database
from app.domain.audit.service import Actor, record
from app.domain.choices.models import ChoiceEvent
from app.domain.choices.service import record_confirmed
from app.domain.requests import service as requests
from app.domain.requests.package import build_package
from tests.guardian.factories import World
from tests.helpers import (
    SmtpSink,
    StatementCounter,
    csrf_token,
    deliver_mail,
    links_in,
    shown_notice,
    sign_in_as,
)
from tests.staff import factories as staff_factories

SCHEMAS = Path(__file__).resolve().parents[2] / "docs" / "schemas"
RECEIPT_SCHEMA = json.loads((SCHEMAS / "consent-receipt.schema.json").read_text(encoding="utf-8"))
PACKAGE_SCHEMA = json.loads((SCHEMAS / "disclosure-package.schema.json").read_text(encoding="utf-8"))
REGISTRY = Registry().with_resource(RECEIPT_SCHEMA["$id"], Resource.from_contents(RECEIPT_SCHEMA))


def _validate(instance: object, schema: dict[str, object]) -> None:
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(
        schema, registry=REGISTRY, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )
    errors = sorted(validator.iter_errors(instance), key=lambda e: list(e.path))
    assert not errors, [f"{list(e.path)}: {e.message}" for e in errors]


def _confirm_on_the_web(
    client: TestClient, db: Session, database: Database, settings: Settings, smtp: SmtpSink, world: World
) -> ChoiceEvent:
    sign_in_as(client, db, settings, world.account)
    client.post(
        f"/children/{world.hanako.id}/choices/{world.dashboard_choice.id}",
        data={
            "csrf_token": csrf_token(client, settings),
            "notice_version": shown_notice(db, world.board.id),
            "value": "hide_some",
            "category_codes": ["grades"],
        },
    )
    deliver_mail(database, settings)
    [link] = [link for m in smtp.to("yoko.yamada@example.jp") for link in links_in(m) if "/confirm/" in link]
    client.post(urlsplit(link).path, data={"csrf_token": csrf_token(client, settings)})
    db.expire_all()
    confirmed = db.scalar(select(ChoiceEvent).where(ChoiceEvent.kind == "confirmed"))
    assert confirmed is not None
    return confirmed


def test_the_receipt_validates_and_the_page_shows_japan_time(
    client: TestClient, db: Session, database: Database, settings: Settings, smtp: SmtpSink, world: World
) -> None:
    confirmed = _confirm_on_the_web(client, db, database, settings, smtp, world)
    url = f"/children/{world.hanako.id}/receipts/{confirmed.receipt_id}"
    receipt = client.get(url + "?format=json").json()
    _validate(receipt, RECEIPT_SCHEMA)
    processing = receipt["processing"]
    assert [r["role"] for r in processing["recipients"]] == ["processor", "subcontractor", "subcontractor"]
    assert processing["recipients"][2]["subcontracted_by"] == "クラウド基盤株式会社"
    assert processing["storage_location"] == {"country": "JP"}
    assert receipt["withdrawal"]["url"].endswith(f"/children/{world.hanako.id}")

    local = confirmed.created_at.astimezone(ZoneInfo("Asia/Tokyo"))
    shown = f"{local.year}年{local.month}月{local.day}日 {local:%H:%M}"
    page = client.get(url).text
    assert shown in page and "日本時間" in page
    for label in (
        "受付番号",
        "法的根拠",
        "保存期間",
        "情報を受け取る事業者",
        "取り消しの方法",
        "データ保守サービス株式会社",
    ):
        assert label in page, label

    # The e-mailed attachment is the same receipt.
    deliver_mail(database, settings)
    mail = [m for m in smtp.to("yoko.yamada@example.jp") if "受付記録" in str(m["Subject"])][-1]
    [attachment] = list(mail.iter_attachments())
    _validate(json.loads(attachment.get_content()), RECEIPT_SCHEMA)


def test_a_later_choice_withdraws_the_earlier_receipt(
    client: TestClient, db: Session, database: Database, settings: Settings, smtp: SmtpSink, world: World
) -> None:
    first = _confirm_on_the_web(client, db, database, settings, smtp, world)
    staff = staff_factories.staff(db, world.board, "school_admin", world.school)
    later = record_confirmed(
        db,
        definition=db.get_one(type(world.dashboard_choice), world.dashboard_choice.id),
        student_id=world.hanako.id,
        value="show",
        category_codes=[],
        channel="phone",
        reason="電話",
        actor_account_id=staff.id,
        guardian_id=world.mother.id,
    )
    db.commit()
    receipt = client.get(f"/children/{world.hanako.id}/receipts/{first.receipt_id}?format=json").json()
    _validate(receipt, RECEIPT_SCHEMA)
    assert receipt["header"]["state"] == "withdrawn"
    assert [e["event_type"] for e in receipt["events"]] == ["given", "withdrawn"]
    assert (
        receipt["events"][1]["method"] == "phone" and receipt["events"][1]["replaced_by"] == later.receipt_id
    )
    page = client.get(f"/children/{world.hanako.id}/receipts/{first.receipt_id}").text
    assert "取り消し（後の選択に置き換え）" in page


def test_the_package_validates_in_a_fixed_number_of_statements(
    db: Session, settings: Settings, world: World, sql_statements: StatementCounter
) -> None:
    staff = staff_factories.staff(db, world.board, "school_admin", world.school)
    made = requests.submit(
        db,
        settings,
        student=world.hanako,
        guardian=world.mother,
        account_id=world.account.id,
        kind="portability",
        details="",
    )
    db.commit()

    def choose(value: str, channel: str) -> None:
        record_confirmed(
            db,
            definition=db.get_one(type(world.dashboard_choice), world.dashboard_choice.id),
            student_id=world.hanako.id,
            value=value,
            category_codes=[],
            channel=channel,
            reason="書面",
            actor_account_id=staff.id,
            guardian_id=world.mother.id,
        )
        record(
            db,
            "student.viewed",
            actor=Actor.account(staff.id),
            board_id=world.board.id,
            target_type="student",
            target_id=world.hanako.id,
        )

    choose("hide_all", "paper")
    db.commit()
    counts = []
    for rounds in (0, 6):
        for n in range(rounds):
            choose("show" if n % 2 else "hide_all", "phone")
        db.commit()
        db.expunge_all()
        request = db.get_one(type(made), made.id)
        with sql_statements as counter:
            package = build_package(db, request)
        counts.append(counter.count)
        _validate(json.loads(json.dumps(package)), PACKAGE_SCHEMA)
    assert counts[0] == counts[1], sql_statements.report()
    assert len(package["receipts"]) == 7
    # the staff member's seven views of the record and the seven choices staff recorded
    assert sorted(a["kind"] for a in package["access_history"]) == ["record"] * 7 + ["view"] * 7
    assert [r["header"]["state"] for r in package["receipts"]].count("active") == 1

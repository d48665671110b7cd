"""Receipts (ISO/IEC TS 27560 / Kantara fields) and the per-child history of choices."""

from __future__ import annotations

from urllib.parse import urlsplit

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.config import Settings
from app.db import Database
from app.domain.choices.models import ChoiceEvent
from app.domain.choices.service import record_confirmed
from tests.guardian.factories import World, make_staff_account
from tests.helpers import SmtpSink, csrf_token, deliver_mail, links_in, shown_notice, sign_in_as


def _confirm_hide_grades(
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
    assert (
        client.post(urlsplit(link).path, data={"csrf_token": csrf_token(client, settings)}).status_code == 200
    )
    db.expire_all()
    confirmed = db.scalar(select(ChoiceEvent).where(ChoiceEvent.kind == "confirmed"))
    assert confirmed is not None and confirmed.receipt_id
    return confirmed


def test_receipt_carries_the_consent_receipt_fields(
    client: TestClient, db: Session, database: Database, settings: Settings, smtp: SmtpSink, world: World
) -> None:
    confirmed = _confirm_hide_grades(client, db, database, settings, smtp, world)
    url = f"/children/{world.hanako.id}/receipts/{confirmed.receipt_id}"
    data = client.get(url + "?format=json")
    assert data.status_code == 200
    assert data.headers["content-type"].startswith("application/json")
    assert "attachment" in data.headers["content-disposition"]
    receipt = data.json()
    header, processing = receipt["header"], receipt["processing"]
    parties = {p["party_type"]: p for p in receipt["parties"]}
    assert header["record_id"] == confirmed.receipt_id
    assert header["timestamps"]["created"].startswith(str(confirmed.created_at.year))
    assert processing["jurisdiction"] == "JP-11"
    assert parties["controller"]["name"] == "さいたま市教育委員会"
    assert parties["controller"]["contact"]["email"] == "kyoiku@city.example.jp"
    assert parties["pii_principal"]["name"] == "山田 花子"
    assert parties["representative"]["role"] == "guardian"
    assert processing["service"]["name"] == "スクールダッシュボード" and processing["service"]["version"] == 1
    assert [p["text"] for p in processing["purposes"]] == ["学習状況の把握のため", "不具合対応のため"]
    assert {c["code"] for c in processing["personal_data_categories"]} == {
        "identity",
        "grades",
        "health_attendance",
    }
    assert processing["choice"]["value"] == "hide_some" and processing["choice"]["category_codes"] == [
        "grades"
    ]
    assert processing["notice"]["version"] == 1
    assert processing["collection_method"] == "web"
    assert [e["event_type"] for e in receipt["events"]] == ["given"]

    page = client.get(url)
    assert page.status_code == 200
    for text in (
        confirmed.receipt_id,
        "<dt>管轄</dt><dd>日本</dd>",  # the jurisdiction in words, not JP-11
        "さいたま市教育委員会",
        "山田 花子",
        "スクールダッシュボード",
        "このサイト上で",
    ):
        assert text in page.text
    # Times in words, Japan time; not the ISO 8601 the JSON carries.
    assert "（日本時間）" in page.text and header["timestamps"]["created"][:19] not in page.text
    assert "JP-11" not in page.text
    assert client.get(f"/children/{world.jiro.id}/receipts/{confirmed.receipt_id}").status_code == 404


def test_history_shows_who_when_how_and_state(
    client: TestClient, db: Session, database: Database, settings: Settings, smtp: SmtpSink, world: World
) -> None:
    _confirm_hide_grades(client, db, database, settings, smtp, world)
    staff = make_staff_account(db)
    photo = db.get_one(type(world.photo_choice), world.photo_choice.id)
    record_confirmed(
        db,
        definition=photo,
        student_id=world.hanako.id,
        value="deny",
        category_codes=[],
        channel="paper",
        reason="保護者から書面で提出（職員A）",
        actor_account_id=staff.id,
        guardian_id=world.father.id,
    )
    db.commit()
    page = client.get(f"/children/{world.hanako.id}/history")
    assert page.status_code == 200
    text = page.text
    assert "あなた" in text  # the mother's own web request
    assert "学校の教職員（保護者の代理）" in text and "書面（学校へ提出）" in text
    assert "職員A" not in text  # staff reasons (which may name staff) are not shown
    assert "このサイト上で" in text
    assert "確認済み（有効）" in text
    assert "年" in text and "月" in text and "日" in text  # Japanese-style dates
    assert "許可しない" in text
    assert f"/children/{world.hanako.id}/receipts/" in text

    client.cookies.set("tobira_lang", "en")
    english = client.get(f"/children/{world.hanako.id}/history")
    assert "School staff, on a guardian's behalf" in english.text and "You" in english.text


def test_empty_history(client: TestClient, db: Session, settings: Settings, world: World) -> None:
    sign_in_as(client, db, settings, world.account)
    page = client.get(f"/children/{world.jiro.id}/history")
    assert page.status_code == 200 and "まだ選択はありません" in page.text


def test_receipt_cites_the_version_and_notice_the_guardian_was_shown(
    client: TestClient, db: Session, database: Database, settings: Settings, smtp: SmtpSink, world: World
) -> None:
    from dataclasses import replace

    from sqlalchemy.orm import selectinload

    from app.domain.catalog.models import ServiceVersion, ServiceVersionCategory
    from app.domain.catalog.service import CategoryInput, publish_service_version, version_input_from

    v1 = db.scalar(
        select(ServiceVersion)
        .options(
            selectinload(ServiceVersion.categories).joinedload(ServiceVersionCategory.category),
            selectinload(ServiceVersion.purposes),
            selectinload(ServiceVersion.subcontractors),
        )
        .where(ServiceVersion.service_id == world.dashboard.id)
    )
    assert v1 is not None
    data = version_input_from(v1)
    publish_service_version(
        db,
        service=world.dashboard,
        data=replace(data, categories=[*data.categories, CategoryInput("guidance", "面談記録")]),
        actor=world.admin_actor,
    )
    db.commit()
    confirmed = _confirm_hide_grades(client, db, database, settings, smtp, world)
    receipt = client.get(f"/children/{world.hanako.id}/receipts/{confirmed.receipt_id}?format=json").json()
    assert receipt["processing"]["service"]["version"] == 2
    assert receipt["processing"]["notice"]["version"] == 2
    assert "guidance" in {c["code"] for c in receipt["processing"]["personal_data_categories"]}


def test_guardian_without_an_address_on_file_is_told_and_nothing_is_recorded(
    client: TestClient, db: Session, settings: Settings, world: World
) -> None:
    mother = db.get_one(type(world.mother), world.mother.id)
    mother.email = None
    db.commit()
    sign_in_as(client, db, settings, world.account)
    response = client.post(
        f"/children/{world.hanako.id}/choices/{world.dashboard_choice.id}",
        data={
            "csrf_token": csrf_token(client, settings),
            "notice_version": shown_notice(db, world.board.id),
            "value": "hide_all",
        },
    )
    assert response.status_code == 422
    assert "学校にメールアドレスが登録されていない" in response.text
    db.expire_all()
    assert db.scalar(select(ChoiceEvent)) is None

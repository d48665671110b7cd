"""Choice kinds (ADR 0092): an opt-in board-wide choice from the staff form to the guardian's
confirmation, the e-mailed announcement, the export and the API; a new version of a choice's
wording that leaves the old receipt as the guardian saw it."""

from __future__ import annotations

import csv
import io
from urllib.parse import urlsplit

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.config import Settings
from app.db import Database
from app.domain.apikeys import service as keys
from app.domain.audit.models import AuditEvent
from app.domain.audit.service import Actor
from app.domain.catalog.models import ChoiceDefinition
from app.domain.choices.models import ChoiceEvent, CurrentChoice
from app.domain.jobs.models import Job
from app.domain.notifications.models import OutboxEmail
from tests.guardian.factories import World
from tests.helpers import (
    SmtpSink,
    body_of,
    csrf_token,
    deliver_mail,
    links_in,
    run_jobs,
    shown_notice,
    sign_in_as,
)
from tests.requests.test_receipt_schema import RECEIPT_SCHEMA, _validate
from tests.staff import factories as staff_factories

LABEL = "学校だよりへのお子様の写真の掲載"
LABEL_EN = "Photos of your child in the school newsletter"


def _post(client: TestClient, settings: Settings, url: str, **data: str):  # type: ignore[no-untyped-def]
    return client.post(url, data={"csrf_token": csrf_token(client, settings), **data}, follow_redirects=False)


def _create_board_choice(client: TestClient, settings: Settings) -> int:
    response = _post(
        client,
        settings,
        "/staff/choices",
        code="newsletter_photos",
        kind="opt_in",
        label=LABEL,
        explanation="学校だよりに行事の写真を掲載してよいかをお尋ねします。",
    )
    assert response.status_code == 303, response.text
    definition_id = int(response.headers["location"].rsplit("/", 1)[1])
    # Its English is entered on the translations page, beside the Japanese.
    page = client.get("/staff/translations?lang=en")
    assert page.status_code == 200 and LABEL in page.text
    saved = _post(
        client,
        settings,
        "/staff/translations",
        lang="en",
        **{f"t:choice_definitions:{definition_id}:label": LABEL_EN},
    )
    assert saved.status_code == 303, saved.text
    return definition_id


def _actions(db: Session) -> list[str]:
    db.expire_all()
    return list(db.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))


def _confirm_from_mail(client: TestClient, settings: Settings, smtp: SmtpSink, address: str) -> None:
    links = [link for m in smtp.to(address) for link in links_in(m) if "/confirm/" in link]
    assert links, f"no confirmation mail to {address}"
    link = links[-1]  # the latest request's
    client.cookies.clear()
    done = client.post(urlsplit(link).path, data={"csrf_token": csrf_token(client, settings)})
    assert done.status_code == 200 and "有効になりました" in done.text


def test_an_opt_in_board_wide_choice_is_created_announced_chosen_confirmed_and_exported(
    client: TestClient, db: Session, database: Database, settings: Settings, smtp: SmtpSink, world: World
) -> None:
    admin = staff_factories.staff(db, world.board, "board_admin")
    db.commit()
    sign_in_as(client, db, settings, admin)

    # The board admin offers an opt-in choice (default: do not allow) not tied to a service.
    definition_id = _create_board_choice(client, settings)
    definition = db.get_one(ChoiceDefinition, definition_id)
    assert definition.service_id is None and definition.default_value == "deny"
    assert definition.options == ["allow", "deny"]
    listed = client.get("/staff/choices")
    assert LABEL in listed.text

    # Announcing queues a job; nothing is mailed inside the request.
    assert _post(client, settings, f"/staff/definitions/{definition_id}/announce").status_code == 303
    assert db.scalar(select(func.count()).select_from(OutboxEmail)) == 0
    assert db.scalar(select(func.count()).select_from(Job).where(Job.kind == "choices.announce_choice")) == 1
    # A second announcement is refused and queues nothing more.
    assert _post(client, settings, f"/staff/definitions/{definition_id}/announce").status_code == 409
    run_jobs(database, settings)
    deliver_mail(database, settings)
    announced = [
        m for m in smtp.messages if "新しい選択" in str(m["Subject"]) or "A new choice" in str(m["Subject"])
    ]
    # Every guardian of the board, once each (not the other board's families).
    assert sorted(str(m["To"]) for m in announced) == [
        "misaki.sato@example.jp",
        "taro.yamada@example.jp",
        "yoko.yamada@example.jp",
    ]
    [mother_mail] = smtp.to("yoko.yamada@example.jp")
    assert LABEL in str(mother_mail["Subject"]) and "お知らせ" in str(mother_mail["Subject"])
    assert "許可しない" in body_of(mother_mail) and "オプトイン" in body_of(mother_mail)
    assert "花子" in body_of(mother_mail) and "次郎" in body_of(mother_mail)
    [father_mail] = smtp.to("taro.yamada@example.jp")
    assert LABEL_EN in str(father_mail["Subject"]) and "A new choice" in str(father_mail["Subject"])
    assert len(smtp.to("misaki.sato@example.jp")) == 1
    assert {"choice_definition.created", "choice_definition.announcement_requested"} <= set(_actions(db))
    assert "choice_definition.announced" in _actions(db)

    # The mother sees it in its own section, with the default and what is in force, and allows.
    client.cookies.clear()
    sign_in_as(client, db, settings, world.account)
    page = client.get(f"/children/{world.hanako.id}").text
    assert "教育委員会全体に関する選択" in page and LABEL in page
    assert "オプトイン" in page and f'id="choice-{definition_id}-allow"' in page
    chosen = _post(
        client,
        settings,
        f"/children/{world.hanako.id}/choices/{definition_id}",
        value="allow",
        notice_version=shown_notice(db, world.board.id),
    )
    assert chosen.status_code == 303
    deliver_mail(database, settings)
    _confirm_from_mail(client, settings, smtp, "yoko.yamada@example.jp")
    db.expire_all()
    current = db.scalar(select(CurrentChoice).where(CurrentChoice.definition_id == definition_id))
    assert current is not None and current.value == "allow" and current.student_id == world.hanako.id

    # The receipt names no service and says what the default is.
    sign_in_as(client, db, settings, world.account)
    confirmed = db.get_one(ChoiceEvent, current.event_id)
    receipt = client.get(f"/children/{world.hanako.id}/receipts/{confirmed.receipt_id}?format=json").json()
    assert receipt["processing"]["service"] is None
    _validate(receipt, RECEIPT_SCHEMA)  # the published schema allows it
    assert receipt["processing"]["choice"]["default_value"] == "deny"
    assert receipt["processing"]["choice"]["label"] == LABEL
    shown = client.get(f"/children/{world.hanako.id}/receipts/{confirmed.receipt_id}").text
    assert "教育委員会全体（特定のサービスではありません）" in shown

    # The CSV export lists who allowed, with the value and the default.
    client.cookies.clear()
    sign_in_as(client, db, settings, admin)
    exported = _post(client, settings, "/staff/exports", format="csv", choice="newsletter_photos")
    assert exported.status_code == 200
    rows = list(csv.reader(io.StringIO(exported.content.decode("utf-8-sig"))))
    header, body = rows[0], rows[1:]
    assert "初期値" in header
    mine = [row for row in body if row[header.index("児童生徒ID")] == world.hanako.sourced_id]
    assert len(mine) == 1
    assert LABEL in mine[0] and "allow" in mine[0] and "deny" in mine[0] and "教育委員会全体" in mine[0]

    # The API carries it with `service` null, the value per student and the definition's default.
    secret, _key = keys.create_key(db, board_id=world.board.id, name="Newsletter", actor=Actor("system"))
    db.commit()
    auth = {"Authorization": f"Bearer {secret}"}
    listing = client.get("/api/v1/choice-list?choice=newsletter_photos", headers=auth)
    assert listing.status_code == 200, listing.text
    body_json = listing.json()
    assert body_json["service"] is None and body_json["default"] == "deny" and body_json["kind"] == "toggle"
    assert body_json["items"] == [{"student_id": world.hanako.sourced_id, "value": "allow", "categories": []}]
    # The dashboard hide list is unchanged beside it.
    hide = client.get("/api/v1/hide-list?service=dashboard&choice=dashboard_display", headers=auth)
    assert hide.status_code == 200 and hide.json()["items"] == []


def test_a_new_version_of_the_wording_keeps_the_old_receipt_and_shows_the_new_one(
    client: TestClient, db: Session, database: Database, settings: Settings, smtp: SmtpSink, world: World
) -> None:
    admin = staff_factories.staff(db, world.board, "board_admin")
    db.commit()
    sign_in_as(client, db, settings, admin)
    definition_id = _create_board_choice(client, settings)

    client.cookies.clear()
    sign_in_as(client, db, settings, world.account)
    url = f"/children/{world.hanako.id}/choices/{definition_id}"
    assert (
        _post(
            client, settings, url, value="allow", notice_version=shown_notice(db, world.board.id)
        ).status_code
        == 303
    )
    deliver_mail(database, settings)
    _confirm_from_mail(client, settings, smtp, "yoko.yamada@example.jp")
    db.expire_all()
    first = db.scalar(
        select(ChoiceEvent).where(ChoiceEvent.definition_id == definition_id, ChoiceEvent.kind == "confirmed")
    )
    assert first is not None and first.definition_version == 1

    # Staff publish new wording: a new version, the definition (and the choice in force) stays.
    client.cookies.clear()
    sign_in_as(client, db, settings, admin)
    new_label = "学校だより・学校ホームページへのお子様の写真の掲載"
    edited = _post(
        client,
        settings,
        f"/staff/definitions/{definition_id}/edit",
        label=new_label,
    )
    assert edited.status_code == 303
    unchanged = _post(
        client,
        settings,
        f"/staff/definitions/{definition_id}/edit",
        label=new_label,
    )
    assert unchanged.status_code == 422  # nothing changed: no version
    staff_page = client.get(f"/staff/definitions/{definition_id}").text
    assert LABEL in staff_page and new_label in staff_page
    assert "choice_definition.edited" in _actions(db)

    client.cookies.clear()
    sign_in_as(client, db, settings, world.account)
    page = client.get(f"/children/{world.hanako.id}").text
    assert new_label in page
    db.expire_all()
    current = db.scalar(select(CurrentChoice).where(CurrentChoice.definition_id == definition_id))
    assert current is not None and current.value == "allow"  # carried forward: same definition
    old = client.get(f"/children/{world.hanako.id}/receipts/{first.receipt_id}?format=json").json()
    assert old["processing"]["choice"]["label"] == LABEL
    assert old["processing"]["choice"]["definition_version"] == 1
    old_page = client.get(f"/children/{world.hanako.id}/receipts/{first.receipt_id}").text
    assert LABEL in old_page and new_label not in old_page

    # A choice made now is made against the new wording, and its receipt says so.
    _post(client, settings, url, value="deny", notice_version=shown_notice(db, world.board.id))
    deliver_mail(database, settings)
    _confirm_from_mail(client, settings, smtp, "yoko.yamada@example.jp")
    sign_in_as(client, db, settings, world.account)
    db.expire_all()
    second = db.scalar(
        select(ChoiceEvent)
        .where(ChoiceEvent.definition_id == definition_id, ChoiceEvent.kind == "confirmed")
        .order_by(ChoiceEvent.id.desc())
    )
    assert second is not None and second.definition_version == 2
    new = client.get(f"/children/{world.hanako.id}/receipts/{second.receipt_id}?format=json").json()
    assert new["processing"]["choice"]["label"] == new_label


def test_an_opt_in_service_choice_is_on_the_choice_list_not_the_hide_list_and_retiring_stops_it(
    client: TestClient, db: Session, settings: Settings, world: World
) -> None:
    admin = staff_factories.staff(db, world.board, "board_admin")
    db.commit()
    sign_in_as(client, db, settings, admin)
    created = _post(
        client,
        settings,
        f"/staff/services/{world.learning.id}/definitions",
        code="research",
        kind="opt_in",
        label="研究への協力",
    )
    assert created.status_code == 303
    definition = db.scalar(select(ChoiceDefinition).where(ChoiceDefinition.code == "research"))
    assert definition is not None and definition.default_value == "deny" and definition.kind == "toggle"
    secret, _key = keys.create_key(db, board_id=world.board.id, name="Research", actor=Actor("system"))
    db.commit()
    auth = {"Authorization": f"Bearer {secret}"}
    learning_code = world.learning.code
    # "allow" would read as "hide everything" there: an opt-in choice is on the choice list.
    assert (
        client.get(f"/api/v1/hide-list?service={learning_code}&choice=research", headers=auth).status_code
        == 404
    )
    listing = client.get(f"/api/v1/choice-list?service={learning_code}&choice=research", headers=auth).json()
    assert listing["service"] == learning_code and listing["default"] == "deny" and listing["items"] == []
    assert (
        client.get("/api/v1/choice-list?choice=research", headers=auth).status_code == 404
    )  # not board-wide

    # Retiring stops offering it; the guardian's page no longer shows it and a post is refused.
    assert _post(client, settings, f"/staff/definitions/{definition.id}/retire").status_code == 303
    client.cookies.clear()
    sign_in_as(client, db, settings, world.account)
    assert "研究への協力" not in client.get(f"/children/{world.hanako.id}").text
    refused = _post(
        client,
        settings,
        f"/children/{world.hanako.id}/choices/{definition.id}",
        value="allow",
        notice_version=shown_notice(db, world.board.id),
    )
    assert refused.status_code == 404


def test_the_school_records_a_board_wide_choice_given_on_paper(
    client: TestClient, db: Session, database: Database, settings: Settings, smtp: SmtpSink, world: World
) -> None:
    admin = staff_factories.staff(db, world.board, "board_admin")
    clerk = staff_factories.staff(db, world.board, "school_admin", world.school)
    db.commit()
    sign_in_as(client, db, settings, admin)
    definition_id = _create_board_choice(client, settings)
    client.cookies.clear()
    sign_in_as(client, db, settings, clerk)
    student_page = client.get(f"/staff/students/{world.hanako.id}").text
    assert LABEL in student_page and "教育委員会全体" in student_page
    assert f'value="{definition_id}"' in client.get(f"/staff/students/{world.hanako.id}/record").text
    recorded = _post(
        client,
        settings,
        f"/staff/students/{world.hanako.id}/record",
        definition=str(definition_id),
        value="allow",
        channel="paper",
        reason="12月1日の同意書",
        guardian=str(world.mother.id),
    )
    assert recorded.status_code == 303
    db.expire_all()
    current = db.scalar(select(CurrentChoice).where(CurrentChoice.definition_id == definition_id))
    assert current is not None and current.value == "allow" and current.channel == "paper"
    deliver_mail(database, settings)
    [told] = [m for m in smtp.to("yoko.yamada@example.jp") if "記録" in str(m["Subject"])]
    assert "教育委員会全体（特定のサービスではありません）" in body_of(told) and LABEL in body_of(told)


def test_announcing_a_service_choice_mails_only_the_guardians_of_covered_children(
    client: TestClient, db: Session, database: Database, settings: Settings, smtp: SmtpSink, world: World
) -> None:
    from tests.guardian.factories import link, make_guardian, make_school, make_student

    elsewhere = make_school(db, world.board, name="けやき中学校", name_en="Keyaki JHS")
    uncovered = make_guardian(db, world.board, family="鈴木", given="花", email="hana.suzuki@example.jp")
    link(db, uncovered, make_student(db, elsewhere, family="鈴木", given="一郎", grade="J1"))
    admin = staff_factories.staff(db, world.board, "board_admin")
    db.commit()
    sign_in_as(client, db, settings, admin)
    # Teams covers the first school only; the new choice is announced to its families alone.
    created = _post(
        client,
        settings,
        f"/staff/services/{world.learning.id}/definitions",
        code="video_lessons",
        kind="opt_out",
        label="授業動画の録画",
    )
    assert created.status_code == 303
    definition = db.scalar(select(ChoiceDefinition).where(ChoiceDefinition.code == "video_lessons"))
    assert definition is not None and definition.default_value == "allow"
    assert _post(client, settings, f"/staff/definitions/{definition.id}/announce").status_code == 303
    run_jobs(database, settings)
    deliver_mail(database, settings)
    announced = [
        m for m in smtp.messages if "新しい選択" in str(m["Subject"]) or "A new choice" in str(m["Subject"])
    ]
    recipients = sorted(str(m["To"]) for m in announced)
    assert recipients == ["misaki.sato@example.jp", "taro.yamada@example.jp", "yoko.yamada@example.jp"]
    assert "オプトアウト" in body_of(next(m for m in announced if "yoko" in str(m["To"])))
    assert smtp.to("hana.suzuki@example.jp") == []

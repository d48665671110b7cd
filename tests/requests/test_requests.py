"""Guardians' requests: from the guardian to staff to a downloaded package, with due dates,
extensions and answers e-mailed; board and school scope; bad input changes nothing."""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.config import Settings
from app.db import Database, utcnow
from app.domain.audit.models import AuditEvent
from app.domain.choices.service import record_confirmed
from app.domain.requests.models import GuardianRequest
from tests.guardian.factories import World, make_school
from tests.helpers import SmtpSink, body_of, csrf_token, deliver_mail, links_in, sign_in_as
from tests.staff import factories as staff_factories


def jp(day: date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def _post(client: TestClient, settings: Settings, url: str, **data: Any) -> Any:
    return client.post(url, data={"csrf_token": csrf_token(client, settings), **data}, follow_redirects=False)


def _as(client: TestClient, db: Session, settings: Settings, account: Any) -> None:
    client.cookies.clear()
    sign_in_as(client, db, settings, account)


def _submit(client: TestClient, db: Session, settings: Settings, world: World, kind: str) -> GuardianRequest:
    _as(client, db, settings, world.account)
    response = _post(
        client, settings, f"/children/{world.hanako.id}/data-requests", kind=kind, details="全ての記録"
    )
    assert response.status_code == 303, response.text
    assert re.search(r"/data-requests/\d+\?sent=1$", response.headers["location"])
    db.expire_all()
    made = db.scalars(select(GuardianRequest).order_by(GuardianRequest.id.desc())).first()
    assert made is not None
    return made


def test_disclosure_goes_from_the_guardian_to_staff_to_a_downloaded_package(
    client: TestClient, db: Session, database: Database, settings: Settings, smtp: SmtpSink, world: World
) -> None:
    staff_account = staff_factories.staff(db, world.board, "board_admin")
    record_confirmed(
        db,
        definition=world.dashboard_choice,
        student_id=world.hanako.id,
        value="hide_all",
        category_codes=[],
        channel="paper",
        reason="書面（職員A）",
        actor_account_id=staff_account.id,
        guardian_id=world.mother.id,
    )
    db.commit()
    _as(client, db, settings, staff_account)
    assert client.get(f"/staff/students/{world.hanako.id}").status_code == 200  # in the access history

    made = _submit(client, db, settings, world, "disclosure")
    due = datetime_jst_today() + timedelta(days=30)
    assert made.due_on == due and made.status == "received"
    page = client.get(f"/children/{world.hanako.id}/data-requests/{made.id}?sent=1")
    assert page.status_code == 200
    assert jp(due) in page.text and "受け付けました" in page.text
    assert client.get(f"/children/{world.hanako.id}/data-requests/{made.id}/package").status_code == 404

    deliver_mail(database, settings)
    [received] = smtp.to("yoko.yamada@example.jp")
    body = body_of(received)
    assert "山田 洋子 様" in body and jp(due) in body and "。" in body
    assert f"/children/{world.hanako.id}/data-requests/{made.id}" in " ".join(links_in(received))

    _as(client, db, settings, staff_account)
    queue = client.get("/staff/requests")
    assert queue.status_code == 200 and jp(due) in queue.text and "山田 花子" in queue.text
    assert client.get(f"/staff/requests/{made.id}").status_code == 200
    package = client.get(f"/staff/requests/{made.id}/package?format=json")
    assert package.status_code == 200 and "attachment" in package.headers["content-disposition"]
    data = package.json()
    assert data["student"]["sourced_id"] == world.hanako.sourced_id
    assert data["student"]["given_name"] == "花子" and data["student"]["homeroom"] == "3年2組"
    assert [e["value"] for e in data["choice_events"] if e["kind"] == "confirmed"] == ["hide_all"]
    assert "書面（職員A）" not in package.text  # staff reasons stay out
    assert [(a["kind"], a["page"]) for a in data["access_history"]] == [
        ("view", "record"),
        ("record", "paper"),
    ]
    assert data["receipts"] and data["receipts"][0]["header"]["record_id"]
    assert [m["purpose"] for m in data["mails"]] == ["request_received"]
    assert [r["id"] for r in data["requests"]] == [made.id]
    printable = client.get(f"/staff/requests/{made.id}/package")
    assert printable.status_code == 200 and "山田 花子" in printable.text and "開示" in printable.text

    answered = _post(
        client, settings, f"/staff/requests/{made.id}/answer", answer="保有する情報を開示します。"
    )
    assert answered.status_code == 303
    deliver_mail(database, settings)
    answer_mail = smtp.to("yoko.yamada@example.jp")[-1]
    assert "保有する情報を開示します。" in body_of(answer_mail) and "山田 洋子 様" in body_of(answer_mail)

    _as(client, db, settings, world.account)
    mine = client.get(f"/children/{world.hanako.id}/data-requests/{made.id}/package?format=json")
    assert mine.status_code == 200
    assert mine.json()["student"]["sourced_id"] == world.hanako.sourced_id
    assert mine.json()["requests"][0]["status"] == "answered"
    assert client.get(f"/children/{world.hanako.id}/data-requests/{made.id}/package").status_code == 200
    # Staff opening the package is in who saw her child's data.
    history = client.get(f"/children/{world.hanako.id}/history").text
    assert "ご請求への回答のため、お子さまについて保有するすべての情報の写しを開きました" in history
    # The other guardian does not see this guardian's request.
    _as(client, db, settings, world.father_account)
    assert client.get(f"/children/{world.hanako.id}/data-requests/{made.id}").status_code == 404

    actions = set(db.scalars(select(AuditEvent.action).where(AuditEvent.target_type == "guardian_request")))
    assert {
        "guardian_request.received",
        "guardian_request.answered",
        "disclosure_package.downloaded",
    } <= actions


def datetime_jst_today() -> date:
    return utcnow().astimezone(ZoneInfo("Asia/Tokyo")).date()


def test_another_board_or_school_cannot_see_the_request(
    client: TestClient, db: Session, settings: Settings, world: World
) -> None:
    foreign = staff_factories.staff(db, world.foreign_board, "board_admin")
    elsewhere = staff_factories.staff(
        db, world.board, "school_admin", make_school(db, world.board, name="第二小学校")
    )
    teacher = staff_factories.staff(db, world.board, "teacher", world.school)
    school_admin = staff_factories.staff(db, world.board, "school_admin", world.school)
    db.commit()
    made = _submit(client, db, settings, world, "portability")
    for account in (foreign, elsewhere, teacher):
        _as(client, db, settings, account)
        assert client.get(f"/staff/requests/{made.id}").status_code == 404
        assert client.get(f"/staff/requests/{made.id}/package?format=json").status_code == 404
        assert _post(client, settings, f"/staff/requests/{made.id}/answer", answer="x").status_code == 404
        assert "山田 花子" not in client.get("/staff/requests").text
    _as(client, db, settings, school_admin)
    assert client.get(f"/staff/requests/{made.id}").status_code == 200
    db.expire_all()
    assert db.get_one(GuardianRequest, made.id).status == "received"


def test_an_extension_moves_the_due_date_and_tells_the_guardian(
    client: TestClient, db: Session, database: Database, settings: Settings, smtp: SmtpSink, world: World
) -> None:
    admin = staff_factories.staff(db, world.board, "school_admin", world.school)
    db.commit()
    made = _submit(client, db, settings, world, "correction")
    first_due = made.due_on
    _as(client, db, settings, admin)
    too_early = _post(
        client,
        settings,
        f"/staff/requests/{made.id}/extend",
        due_on=first_due.isoformat(),
        reason="多数のため",
    )
    assert too_early.status_code == 422 and 'class="error-summary"' in too_early.text
    assert "現在の期限より後の日付" in too_early.text
    new_due = first_due + timedelta(days=30)
    extended = _post(
        client,
        settings,
        f"/staff/requests/{made.id}/extend",
        due_on=new_due.isoformat(),
        reason="記録が多数にわたるため",
    )
    assert extended.status_code == 303
    db.expire_all()
    row = db.get_one(GuardianRequest, made.id)
    assert row.due_on == new_due and row.original_due_on == first_due and row.status == "extended"
    deliver_mail(database, settings)
    mail = smtp.to("yoko.yamada@example.jp")[-1]
    assert jp(new_due) in body_of(mail) and "記録が多数にわたるため" in body_of(mail)
    assert "延長" in str(mail["Subject"]) or "時間" in str(mail["Subject"])

    _as(client, db, settings, world.account)
    page = client.get(f"/children/{world.hanako.id}/data-requests/{made.id}").text
    assert jp(new_due) in page and "記録が多数にわたるため" in page
    listing = client.get(f"/children/{world.hanako.id}/data-requests").text
    assert jp(new_due) in listing and "延長" in listing
    client.cookies.set("tobira_lang", "en")
    english = client.get(f"/children/{world.hanako.id}/data-requests/{made.id}").text
    assert "Answer due by" in english and "Correction of the data" in english
    client.cookies.delete("tobira_lang")
    # A correction has no package, for anyone.
    assert client.get(f"/children/{world.hanako.id}/data-requests/{made.id}/package").status_code == 404


def test_overdue_requests_stand_out_in_the_queue(
    client: TestClient, db: Session, settings: Settings, world: World
) -> None:
    admin = staff_factories.staff(db, world.board, "board_admin")
    db.commit()
    made = _submit(client, db, settings, world, "stop_use")
    row = db.get_one(GuardianRequest, made.id)
    row.due_on = datetime_jst_today() - timedelta(days=1)
    db.commit()
    _as(client, db, settings, admin)
    queue = client.get("/staff/requests").text
    assert "row--overdue" in queue and "期限超過" in queue


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"details": "見せてください"}, "何を求めるかを選んでください"),
        ({"kind": "disclosure", "details": "あ" * 2001}, "2,000文字"),
        ({"kind": "disclosure", "details": "向き\u202e変更"}, "制御文字"),
        ({"kind": "disclosure", "details": "制御\x07文字"}, "制御文字"),
        ({"kind": "correction", "details": "  "}, "訂正すべき内容"),
    ],
)
def test_bad_input_is_explained_and_nothing_is_recorded(
    client: TestClient, db: Session, settings: Settings, world: World, data: dict[str, str], message: str
) -> None:
    _as(client, db, settings, world.account)
    response = _post(client, settings, f"/children/{world.hanako.id}/data-requests", **data)
    assert response.status_code == 422
    assert message in response.text
    if "\x07" not in data.get("details", ""):  # C0 controls are refused before any form (middleware)
        assert 'class="error-summary"' in response.text and 'href="#' in response.text
    db.expire_all()
    assert db.scalar(select(GuardianRequest)) is None


def test_another_familys_child_is_404(
    client: TestClient, db: Session, settings: Settings, world: World
) -> None:
    _as(client, db, settings, world.account)
    assert client.get(f"/children/{world.other_child.id}/data-requests").status_code == 404
    response = _post(client, settings, f"/children/{world.other_child.id}/data-requests", kind="disclosure")
    assert response.status_code == 404
    assert db.scalar(select(GuardianRequest)) is None


def test_the_board_sets_the_answer_period(
    client: TestClient, db: Session, settings: Settings, world: World
) -> None:
    from app.domain.requests.service import set_answer_days

    board = db.get_one(type(world.board), world.board.id)
    set_answer_days(db, board, 14)
    db.commit()
    made = _submit(client, db, settings, world, "disclosure")
    assert made.due_on == datetime_jst_today() + timedelta(days=14)


def test_the_queue_and_the_guardians_list_take_a_fixed_number_of_statements(
    client: TestClient, db: Session, settings: Settings, world: World, sql_statements: Any
) -> None:
    admin = staff_factories.staff(db, world.board, "board_admin")
    db.commit()
    counts: dict[str, list[int]] = {"queue": [], "list": []}
    for _round in range(2):
        for _n in range(1 if not counts["queue"] else 3):
            _submit(client, db, settings, world, "disclosure")
        _as(client, db, settings, world.account)
        with sql_statements as counter:
            assert client.get(f"/children/{world.hanako.id}/data-requests").status_code == 200
        counts["list"].append(counter.count)
        _as(client, db, settings, admin)
        with sql_statements as counter:
            assert client.get("/staff/requests").status_code == 200
        counts["queue"].append(counter.count)
    assert counts["list"][0] == counts["list"][1], counts
    assert counts["queue"][0] == counts["queue"][1], counts


def test_five_open_requests_about_a_child_are_the_most(
    client: TestClient, db: Session, settings: Settings, world: World
) -> None:
    for _n in range(5):
        _submit(client, db, settings, world, "disclosure")
    sixth = _post(client, settings, f"/children/{world.hanako.id}/data-requests", kind="stop_use")
    assert sixth.status_code == 422 and "回答待ちの請求が既に5件" in sixth.text
    db.expire_all()
    assert len(db.scalars(select(GuardianRequest)).all()) == 5


def test_an_answered_request_is_not_answered_or_extended_again(
    client: TestClient, db: Session, settings: Settings, world: World
) -> None:
    admin = staff_factories.staff(db, world.board, "board_admin")
    db.commit()
    made = _submit(client, db, settings, world, "stop_use")
    _as(client, db, settings, admin)
    assert _post(client, settings, f"/staff/requests/{made.id}/close").status_code == 409  # not answered yet
    assert (
        _post(client, settings, f"/staff/requests/{made.id}/answer", answer="停止しました。").status_code
        == 303
    )
    again = _post(client, settings, f"/staff/requests/{made.id}/answer", answer="別の回答")
    assert again.status_code == 409 and "既に回答" in again.text
    later = (made.due_on + timedelta(days=5)).isoformat()
    assert (
        _post(client, settings, f"/staff/requests/{made.id}/extend", due_on=later, reason="x").status_code
        == 409
    )
    assert _post(client, settings, f"/staff/requests/{made.id}/close").status_code == 303
    db.expire_all()
    row = db.get_one(GuardianRequest, made.id)
    assert (row.status, row.answer, row.due_on) == ("closed", "停止しました。", made.due_on)
    assert "完了" in client.get(f"/staff/requests/{made.id}").text

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.config import Settings
from app.db import Database
from app.domain.accounts.models import StaffRole
from app.domain.audit.models import AuditEvent
from app.domain.choices.models import ChoiceEvent, CurrentChoice
from tests.helpers import SmtpSink, body_of, csrf_token, deliver_mail, sign_in_as
from tests.staff import factories as f


@pytest.fixture
def world(db: Session) -> dict[str, Any]:
    board = f.board(db)
    first = f.school(db, board, "S1", "第一小学校")
    second = f.school(db, board, "S2", "第二小学校")
    klass = f.school_class(db, first, "2組", "P3")
    _service, _version, definition = f.dashboard_service(db, board)
    hanako = f.student(
        db,
        first,
        klass=klass,
        family="山田",
        given="花子",
        family_kana="やまだ",
        given_kana="はなこ",
        number=7,
    )
    taro = f.student(
        db, first, family="佐藤", given="太郎", family_kana="さとう", given_kana="たろう", number=3
    )
    other = f.student(db, second, family="田中", given="次郎", family_kana="たなか", given_kana="じろう")
    mother = f.guardian(db, board, hanako, "mother@example.test")
    father = f.guardian(db, board, hanako, "father@example.test", language="en")
    world = {
        "board": board,
        "definition": definition,
        "hanako": hanako,
        "taro": taro,
        "other": other,
        "mother": mother,
        "father": father,
        "admin": f.staff(db, board, "school_admin", first),
        "teacher": f.staff(db, board, "teacher", first),
        "board_admin": f.staff(db, board, "board_admin"),
        "auditor": f.staff(db, board, "auditor"),
    }
    db.commit()
    return world


def _post(client: TestClient, settings: Settings, url: str, **data: Any) -> Any:
    return client.post(url, data={"csrf_token": csrf_token(client, settings), **data}, follow_redirects=False)


def test_search_by_name_kana_class_and_number_within_the_school(
    client: TestClient, db: Session, settings: Settings, world: dict[str, Any]
) -> None:
    sign_in_as(client, db, settings, world["teacher"])
    by_name = client.get("/staff/students", params={"q": "花子"})
    assert by_name.status_code == 200
    assert "山田 花子" in by_name.text and "佐藤" not in by_name.text
    assert "山田 花子" in client.get("/staff/students", params={"q": "やまだ"}).text
    by_class = client.get("/staff/students", params={"class": "2組"}).text
    assert "山田 花子" in by_class and "佐藤 太郎" not in by_class
    by_number = client.get("/staff/students", params={"number": "3"}).text
    assert "佐藤 太郎" in by_number and "山田 花子" not in by_number
    everyone = client.get("/staff/students").text
    assert "田中" not in everyone  # another school
    searched = db.scalars(select(AuditEvent).where(AuditEvent.action == "student.searched")).all()
    assert len(searched) == 5
    assert "花子" not in str(searched[0].details)


def test_htmx_search_returns_only_the_results(
    client: TestClient, db: Session, settings: Settings, world: dict[str, Any]
) -> None:
    sign_in_as(client, db, settings, world["teacher"])
    response = client.get("/staff/students", params={"q": "花子"}, headers={"HX-Request": "true"})
    assert response.text.lstrip().startswith('<div id="student-results">')
    assert "HX-Request" in response.headers["vary"]


def test_board_admin_sees_every_school(
    client: TestClient, db: Session, settings: Settings, world: dict[str, Any]
) -> None:
    sign_in_as(client, db, settings, world["board_admin"])
    everyone = client.get("/staff/students").text
    assert "田中 次郎" in everyone and "山田 花子" in everyone
    assert client.get(f"/staff/students/{world['other'].id}").status_code == 200


def test_student_page_shows_effective_choices_and_is_audited(
    client: TestClient, db: Session, settings: Settings, world: dict[str, Any]
) -> None:
    f.confirmed(db, world["definition"], world["hanako"], "hide_all", channel="paper")
    db.commit()
    sign_in_as(client, db, settings, world["teacher"])
    page = client.get(f"/staff/students/{world['hanako'].id}")
    assert page.status_code == 200
    assert "すべてのデータを表示しない" in page.text and "書面（学校へ提出）" in page.text
    assert "代わりに記録" not in page.text  # teachers cannot record
    viewed = db.scalar(select(AuditEvent).where(AuditEvent.action == "student.viewed"))
    assert viewed is not None and viewed.target_id == str(world["hanako"].id)
    assert viewed.actor_id == world["teacher"].id


def test_teacher_cannot_see_another_school_or_record_choices(
    client: TestClient, db: Session, settings: Settings, world: dict[str, Any]
) -> None:
    sign_in_as(client, db, settings, world["teacher"])
    assert client.get(f"/staff/students/{world['other'].id}").status_code == 404
    assert client.get(f"/staff/students/{world['hanako'].id}/record").status_code == 404
    response = _post(
        client,
        settings,
        f"/staff/students/{world['hanako'].id}/record",
        definition=str(world["definition"].id),
        value="hide_all",
        channel="paper",
        reason="用紙",
    )
    assert response.status_code == 404
    assert db.scalar(select(CurrentChoice)) is None


def test_school_admin_records_a_choice_and_guardians_are_emailed(
    client: TestClient,
    db: Session,
    database: Database,
    settings: Settings,
    smtp: SmtpSink,
    world: dict[str, Any],
) -> None:
    sign_in_as(client, db, settings, world["admin"])
    page = client.get(f"/staff/students/{world['hanako'].id}")
    assert "代わりに記録" in page.text
    form = client.get(f"/staff/students/{world['hanako'].id}/record?definition={world['definition'].id}")
    assert form.status_code == 200
    response = _post(
        client,
        settings,
        f"/staff/students/{world['hanako'].id}/record",
        definition=str(world["definition"].id),
        value="hide_all",
        channel="phone",
        reason="11月20日に電話で母親から",
        guardian=str(world["mother"].id),
    )
    assert response.status_code == 303
    assert response.headers["location"] == f"/staff/students/{world['hanako'].id}?recorded=1"
    current = db.scalar(select(CurrentChoice).where(CurrentChoice.student_id == world["hanako"].id))
    assert current is not None and current.value == "hide_all" and current.channel == "phone"
    event = db.scalar(select(ChoiceEvent).where(ChoiceEvent.kind == "confirmed"))
    assert event is not None and event.actor_account_id == world["admin"].id
    assert event.reason == "11月20日に電話で母親から" and event.guardian_id == world["mother"].id
    assert deliver_mail(database, settings) == 2
    to_mother = smtp.to("mother@example.test")
    assert len(to_mother) == 1 and "花子" in str(to_mother[0]["Subject"])
    assert "電話" in body_of(to_mother[0]) and event.receipt_id in body_of(to_mother[0])
    # Written as the school office writes to a family: addressed with 様, full-width
    # punctuation, the school named, and a link to the child's page.
    assert str(to_mother[0]["Subject"]) == "【第一小学校】花子さんの選択を学校で記録しました"
    mother_body = body_of(to_mother[0])
    assert mother_body.splitlines()[0].endswith("様") or "様\n" in mother_body
    assert "第一小学校です。" in mother_body and f"受付番号：{event.receipt_id}" in mother_body
    assert f"/children/{world['hanako'].id}" in mother_body and ": " not in mother_body
    to_father = smtp.to("father@example.test")
    assert "recorded" in str(to_father[0]["Subject"])
    assert "By telephone to the school" in body_of(to_father[0])
    shown = client.get(f"/staff/students/{world['hanako'].id}?recorded=1").text
    assert "記録しました" in shown and "11月20日に電話で母親から" in shown


def test_recording_needs_a_reason_and_a_staff_channel(
    client: TestClient, db: Session, settings: Settings, world: dict[str, Any]
) -> None:
    sign_in_as(client, db, settings, world["admin"])
    response = _post(
        client,
        settings,
        f"/staff/students/{world['hanako'].id}/record",
        definition=str(world["definition"].id),
        value="hide_some",
        channel="web",
        reason="  ",
    )
    assert response.status_code == 422
    assert "理由" in response.text and "伝えた方法" in response.text and "1つ以上" in response.text
    assert db.scalar(select(ChoiceEvent)) is None


def test_auditor_reads_no_student_data(
    client: TestClient, db: Session, settings: Settings, world: dict[str, Any]
) -> None:
    sign_in_as(client, db, settings, world["auditor"])
    assert client.get("/staff/students").status_code == 404
    assert client.get(f"/staff/students/{world['hanako'].id}").status_code == 404
    home = client.get("/staff").text
    assert "/staff/audit" in home and "/staff/students" not in home


def test_home_links_every_staff_page_for_a_board_admin(
    client: TestClient, db: Session, settings: Settings, world: dict[str, Any]
) -> None:
    sign_in_as(client, db, settings, world["board_admin"])
    home = client.get("/staff")
    assert home.status_code == 200
    for path in (
        "/staff/students",
        "/staff/exports",
        "/staff/services",
        "/staff/api-keys",
        "/staff/audit",
        "/staff/roles",
        "/staff/providers",
        "/staff/letters",
        "/staff/roster",
    ):
        assert f'href="{path}"' in home.text


def test_guardians_are_not_staff(client: TestClient, db: Session, settings: Settings) -> None:
    from app.domain.accounts.models import Account

    account = Account(issuer="https://idp.test", subject="g1", kind="guardian")
    db.add(account)
    db.commit()
    sign_in_as(client, db, settings, account)
    assert client.get("/staff").status_code == 404
    assert client.get("/staff/students").status_code == 404


def test_search_wildcards_are_taken_literally(
    client: TestClient, db: Session, settings: Settings, world: dict[str, Any]
) -> None:
    sign_in_as(client, db, settings, world["teacher"])
    assert "0 人見つかりました" in client.get("/staff/students", params={"q": "%"}).text
    assert "0 人見つかりました" in client.get("/staff/students", params={"q": "_"}).text


def test_absurd_ids_are_refused_not_500(
    client: TestClient, db: Session, settings: Settings, world: dict[str, Any]
) -> None:
    sign_in_as(client, db, settings, world["board_admin"])
    for path in (
        "/staff/students/99999999999999999999",
        "/staff/services/99999999999999999999",
        "/staff/roster/imports/99999999999999999999",
    ):
        assert client.get(path).status_code == 422, path


def test_absurd_numbers_in_search_change_nothing(
    client: TestClient, db: Session, settings: Settings, world: dict[str, Any]
) -> None:
    sign_in_as(client, db, settings, world["board_admin"])
    huge = "9" * 25
    for params in ({"number": huge}, {"school": huge}, {"page": huge}, {"number": "１"}):
        assert client.get("/staff/students", params=params).status_code == 200, params
    assert client.get("/staff/audit", params={"actor": f"account:{huge}", "page": huge}).status_code == 200


def test_admin_of_another_school_cannot_record_where_they_only_teach(
    client: TestClient, db: Session, settings: Settings, world: dict[str, Any]
) -> None:
    """Teacher at Hanako's school, administrator at the other: may see Hanako, not record for her."""
    teacher = world["teacher"]
    db.add(
        StaffRole(
            board_id=world["board"].id,
            school_id=world["other"].school_id,
            account_id=teacher.id,
            role="school_admin",
        )
    )
    db.commit()
    sign_in_as(client, db, settings, teacher)
    assert client.get(f"/staff/students/{world['hanako'].id}").status_code == 200
    assert client.get(f"/staff/students/{world['hanako'].id}/record").status_code == 404
    response = _post(
        client,
        settings,
        f"/staff/students/{world['hanako'].id}/record",
        definition=str(world["definition"].id),
        value="hide_all",
        channel="paper",
        reason="用紙",
    )
    assert response.status_code == 404
    assert db.scalar(select(CurrentChoice)) is None
    assert client.get(f"/staff/students/{world['other'].id}/record").status_code == 200


def test_odd_digits_in_the_choice_field_are_a_message_not_a_500(
    client: TestClient, db: Session, settings: Settings, world: dict[str, Any]
) -> None:
    sign_in_as(client, db, settings, world["admin"])
    response = _post(
        client,
        settings,
        f"/staff/students/{world['hanako'].id}/record",
        definition="²",
        value="hide_all",
        channel="paper",
        reason="用紙",
    )
    assert response.status_code == 422
    assert "選択" in response.text
    assert db.scalar(select(CurrentChoice)) is None


def _toggle(db: Session, definition: Any) -> Any:
    from app.domain.catalog.models import ChoiceDefinition

    toggle = ChoiceDefinition(
        board_id=definition.board_id,
        service_id=definition.service_id,
        code="research",
        kind="toggle",
        options=["allow", "deny"],
        default_value="allow",
        label="研究への利用",
    )
    db.add(toggle)
    db.commit()
    return toggle


def test_record_form_offers_only_the_values_of_the_chosen_choice(
    client: TestClient, db: Session, settings: Settings, world: dict[str, Any]
) -> None:
    toggle = _toggle(db, world["definition"])
    sign_in_as(client, db, settings, world["admin"])
    url = f"/staff/students/{world['hanako'].id}/record"

    first = client.get(url).text
    assert 'type="radio"' not in first
    assert "選べる値が表示されます" in first and "値を表示" in first

    dashboard = client.get(url, params={"definition": world["definition"].id}).text
    assert 'value="hide_some"' in dashboard and 'value="show"' in dashboard
    assert 'value="allow"' not in dashboard and 'value="deny"' not in dashboard
    assert 'name="categories"' in dashboard

    research = client.get(url, params={"definition": toggle.id}).text
    assert 'value="allow"' in research and 'value="deny"' in research
    assert 'value="hide_all"' not in research and 'name="categories"' not in research


def test_a_value_of_another_choice_is_refused_in_words(
    client: TestClient, db: Session, settings: Settings, world: dict[str, Any]
) -> None:
    toggle = _toggle(db, world["definition"])
    sign_in_as(client, db, settings, world["admin"])
    response = _post(
        client,
        settings,
        f"/staff/students/{world['hanako'].id}/record",
        definition=str(toggle.id),
        value="hide_all",
        channel="phone",
        reason="電話で",
    )
    assert response.status_code == 422
    assert "「研究への利用」の値から選んでください（許可する、許可しない）。" in response.text
    assert 'href="#value-allow"' in response.text
    assert db.scalar(select(ChoiceEvent)) is None


def test_student_list_shows_each_choice_made_in_words(
    client: TestClient, db: Session, settings: Settings, world: dict[str, Any]
) -> None:
    definition = world["definition"]
    f.confirmed(db, definition, world["hanako"], "hide_some", [definition.category_codes[0]], channel="paper")
    db.commit()
    sign_in_as(client, db, settings, world["teacher"])
    listing = client.get("/staff/students", params={"grade": "P3"}).text
    assert "保護者の選択" in listing and "小学3年" in listing
    category = f"{definition.category_codes[0]}"
    assert "ダッシュボードでの表示：" in listing and category not in listing.split("保護者の選択")[1]
    everyone = client.get("/staff/students").text
    assert everyone.count("なし（初期設定のまま）") == 1  # 太郎; 花子 has a choice

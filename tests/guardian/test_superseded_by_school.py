"""A choice the school records on the family's word closes the guardian's older request: the
old link shows what is in force and can no longer overturn it, and the guardian is told."""

from __future__ import annotations

from urllib.parse import urlsplit

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.config import Settings
from app.db import Database
from app.domain.choices.models import SUPERSEDED_BY_SCHOOL, ChoiceEvent, CurrentChoice
from tests.guardian.factories import World
from tests.helpers import SmtpSink, body_of, csrf_token, deliver_mail, links_in, shown_notice, sign_in_as
from tests.staff import factories as staff_factories


def _current(db: Session, world: World) -> CurrentChoice | None:
    db.expire_all()
    return db.scalar(
        select(CurrentChoice).where(
            CurrentChoice.student_id == world.hanako.id,
            CurrentChoice.definition_id == world.dashboard_choice.id,
        )
    )


def test_stale_link_cannot_overturn_the_schools_record(
    client: TestClient, db: Session, database: Database, settings: Settings, smtp: SmtpSink, world: World
) -> None:
    # The mother asks to hide only grades and does not confirm.
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
    assert deliver_mail(database, settings) == 1
    [link] = [u for m in smtp.to("yoko.yamada@example.jp") for u in links_in(m) if "/confirm/" in u]
    old_link = urlsplit(link).path

    # Then she phones the school, which records "hide everything" at once.
    clerk = staff_factories.staff(db, world.board, "school_admin", world.school)
    db.commit()
    client.cookies.clear()
    sign_in_as(client, db, settings, clerk)
    recorded = client.post(
        f"/staff/students/{world.hanako.id}/record",
        data={
            "csrf_token": csrf_token(client, settings),
            "definition": str(world.dashboard_choice.id),
            "value": "hide_all",
            "channel": "phone",
            "reason": "2026-12-03 電話",
            "guardian": str(world.mother.id),
        },
        follow_redirects=False,
    )
    assert recorded.status_code == 303
    staff_page = client.get(f"/staff/students/{world.hanako.id}").text
    assert "保護者の確認を待っている申請があります" not in staff_page  # nothing is left waiting
    assert "学校の記録により置き換え" in staff_page
    current = _current(db, world)
    assert current is not None and current.value == "hide_all" and current.channel == "phone"

    # The request was closed with the reason, and both guardians were told; the mother also
    # learns that her request was closed.
    cancelled = db.scalar(select(ChoiceEvent).where(ChoiceEvent.kind == "cancelled"))
    assert cancelled is not None and cancelled.reason == SUPERSEDED_BY_SCHOOL
    assert deliver_mail(database, settings) == 2
    [to_mother] = [m for m in smtp.to("yoko.yamada@example.jp") if "記録しました" in str(m["Subject"])]
    assert "確認待ちでした" in body_of(to_mother) and "使えなくなりました" in body_of(to_mother)
    [to_father] = smtp.to("taro.yamada@example.jp")
    assert "recorded a choice" in str(to_father["Subject"])
    assert "waiting for your confirmation" not in body_of(to_father)

    # The old link says what happened and shows the setting in force; it cannot confirm.
    client.cookies.clear()
    shown = client.get(old_link)
    assert shown.status_code == 410
    assert "学校が新しい選択を記録しました" in shown.text
    assert "すべてのデータを表示しない" in shown.text  # the setting in force
    assert f'action="{old_link}"' not in shown.text  # no confirm button
    refused = client.post(old_link, data={"csrf_token": csrf_token(client, settings)})
    assert refused.status_code == 410
    current = _current(db, world)
    assert current is not None and current.value == "hide_all"


def test_confirm_page_shows_the_setting_in_force_and_what_would_change(
    client: TestClient, db: Session, database: Database, settings: Settings, smtp: SmtpSink, world: World
) -> None:
    sign_in_as(client, db, settings, world.account)
    base = f"/children/{world.hanako.id}/choices/{world.dashboard_choice.id}"
    client.post(
        base,
        data={
            "csrf_token": csrf_token(client, settings),
            "notice_version": shown_notice(db, world.board.id),
            "value": "hide_all",
        },
    )
    deliver_mail(database, settings)
    [first] = [u for m in smtp.to("yoko.yamada@example.jp") for u in links_in(m) if "/confirm/" in u]
    client.post(urlsplit(first).path, data={"csrf_token": csrf_token(client, settings)})

    # Now she asks to hide only grades: confirming would show the other kinds again.
    client.post(
        base,
        data={
            "csrf_token": csrf_token(client, settings),
            "notice_version": shown_notice(db, world.board.id),
            "value": "hide_some",
            "category_codes": ["grades"],
        },
    )
    deliver_mail(database, settings)
    links = [u for m in smtp.to("yoko.yamada@example.jp") for u in links_in(m) if "/confirm/" in u]
    page = client.get(urlsplit(links[-1]).path).text
    assert "現在の設定" in page and "すべてのデータを表示しない" in page
    shown_again = page.split("再び表示されるもの：")[1].split("</li>")[0]
    assert "進路・指導の記録" in shown_again and "成績・評価" not in shown_again
    assert "表示されなくなるもの" not in page

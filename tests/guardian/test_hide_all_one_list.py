""" "Hide all" hides one list of kinds of data: what the guardian reads on the page and in the
receipt is what the staff export and the downstream API carry."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.config import Settings
from app.db import Database
from app.domain.apikeys import service as keys
from app.domain.audit.service import Actor
from app.domain.catalog.models import DataCategory
from app.domain.choices.models import ChoiceEvent, CurrentChoice
from tests.guardian.factories import DASHBOARD_HIDEABLE, World
from tests.helpers import SmtpSink, csrf_token, deliver_mail, links_in, shown_notice, sign_in_as
from tests.staff import factories as staff_factories


def test_hide_all_lists_the_same_kinds_on_the_page_receipt_export_and_api(
    client: TestClient, db: Session, database: Database, settings: Settings, smtp: SmtpSink, world: World
) -> None:
    names = {code: name for code, name in db.execute(select(DataCategory.code, DataCategory.name))}
    told = "、".join(names[code] for code in DASHBOARD_HIDEABLE)

    sign_in_as(client, db, settings, world.account)
    child_page = f"/children/{world.hanako.id}"
    offered = client.get(child_page).text
    hide_all_text = f"すべてのデータを表示しない（{told}）"
    assert hide_all_text in offered  # the option names what it hides
    client.post(
        f"{child_page}/choices/{world.dashboard_choice.id}",
        data={
            "csrf_token": csrf_token(client, settings),
            "notice_version": shown_notice(db, world.board.id),
            "value": "hide_all",
        },
    )
    deliver_mail(database, settings)
    [link] = [u for m in smtp.to("yoko.yamada@example.jp") for u in links_in(m) if "/confirm/" in u]
    client.post(urlsplit(link).path, data={"csrf_token": csrf_token(client, settings)})

    db.expire_all()
    current = db.scalar(select(CurrentChoice).where(CurrentChoice.student_id == world.hanako.id))
    assert current is not None and current.value == "hide_all"
    assert current.category_codes == DASHBOARD_HIDEABLE

    # identity basics are held by the service but not offered for hiding, so never listed
    section = client.get(child_page).text.split(f'id="choice-{world.dashboard_choice.id}"')[1]
    in_effect = re.search(r"現在の設定：</strong>(.*?)<", section, re.S)
    assert in_effect is not None and in_effect.group(1).strip() == hide_all_text
    receipt_id = db.get_one(ChoiceEvent, current.event_id).receipt_id
    receipt = client.get(f"{child_page}/receipts/{receipt_id}").text
    assert hide_all_text in receipt

    admin = staff_factories.staff(db, world.board, "board_admin")
    secret, _key = keys.create_key(db, board_id=world.board.id, name="Dashboard", actor=Actor("system"))
    db.commit()
    api = client.get(
        "/api/v1/hide-list?service=dashboard&choice=dashboard_display",
        headers={"Authorization": f"Bearer {secret}"},
    ).json()
    assert api["items"] == [
        {"student_id": world.hanako.sourced_id, "hide": "all", "categories": DASHBOARD_HIDEABLE}
    ]

    client.cookies.clear()
    sign_in_as(client, db, settings, admin)
    export = client.post("/staff/exports", data={"csrf_token": csrf_token(client, settings), "format": "csv"})
    assert export.status_code == 200
    [row] = [
        line for line in export.content.decode("utf-8-sig").splitlines() if world.hanako.sourced_id in line
    ]
    value_words = hide_all_text.split("（")[0]  # the value as the guardian read it, without the kinds
    assert f",hide_all,{value_words},{' '.join(DASHBOARD_HIDEABLE)}," in row

"""Measure (temporary)."""

from __future__ import annotations

from urllib.parse import urlsplit

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.config import Settings
from app.db import Database
from tests.guardian.factories import World
from tests.helpers import SmtpSink, StatementCounter, csrf_token, deliver_mail, links_in, sign_in_as


def test_measure(
    client: TestClient,
    db: Session,
    database: Database,
    settings: Settings,
    smtp: SmtpSink,
    world: World,
    sql_statements: StatementCounter,
) -> None:
    sign_in_as(client, db, settings, world.account)
    url = f"/children/{world.hanako.id}"
    client.get(url)
    with sql_statements as counted:
        client.get(url)
    print("CHILD PAGE", counted.count)
    print("\n\n".join(counted.statements))
    token = csrf_token(client, settings)
    with sql_statements as counted:
        response = client.post(
            f"/children/{world.hanako.id}/choices/{world.photo_choice.id}",
            data={"value": "deny", "notice_version": str(world.notice.id)},
            headers={"HX-Request": "true", "X-CSRF-Token": token},
        )
    assert response.status_code == 200
    print("CHOICE", counted.count)
    print("\n\n".join(counted.statements))
    assert deliver_mail(database, settings) == 1
    [link] = [lk for m in smtp.to("yoko.yamada@example.jp") for lk in links_in(m) if "/confirm/" in lk]
    path = urlsplit(link).path
    client.cookies.clear()
    token = csrf_token(client, settings)
    with sql_statements as counted:
        done = client.post(path, data={"csrf_token": token})
    assert done.status_code == 200
    print("CONFIRM", counted.count)
    print("\n\n".join(counted.statements))

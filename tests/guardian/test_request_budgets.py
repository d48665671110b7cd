"""A guardian's three busiest requests run a fixed handful of SQL statements (ADR 0095).

The child page reads the board's catalogue from memory and what is the family's in a few
joined statements; the choice request writes its event, link, mail and audit row in one
statement each; the confirmation reads what it needs in one statement. The counts hold
whatever the size of the catalogue, and every row a user relies on is still written.
"""

from __future__ import annotations

import json
from urllib.parse import urlsplit

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.config import Settings
from app.db import Database
from app.domain.audit.models import AuditEvent
from app.domain.choices.models import ChoiceEvent, CurrentChoice
from app.domain.notifications.models import OutboxEmail
from app.domain.tokens.models import OneTimeToken
from tests.guardian.factories import World, make_service
from tests.guardian.test_page_budgets import _statements, _toggle
from tests.helpers import (
    SmtpSink,
    StatementCounter,
    body_of,
    csrf_token,
    deliver_mail,
    links_in,
    sign_in_as,
    translate,
)

CHILD_PAGE_BUDGET = 6
CHOICE_REQUEST_BUDGET = 8  # with its event, confirmation link, e-mail and audit row
CONFIRMATION_BUDGET = 10  # with the event, the choice in force, receipt and notices, audit


def _rows(db: Session, model: type) -> int:
    db.expire_all()
    return int(db.scalar(select(func.count()).select_from(model)) or 0)


def _add_definitions(db: Session, world: World, tag: str, services: int, each: int) -> None:
    for s in range(services):
        service = make_service(db, world.board, code=f"{tag}-{s}", use_group="learning")
        for c in range(each):
            _toggle(db, service, f"{tag}-{s}-{c}")
    db.commit()


def test_the_child_page_runs_at_most_six_statements_with_2_12_and_22_choices(
    client: TestClient, db: Session, settings: Settings, world: World, sql_statements: StatementCounter
) -> None:
    sign_in_as(client, db, settings, world.account)
    url = f"/children/{world.hanako.id}"
    counts = [_statements(client, sql_statements, url).count]  # the world offers 2 choices
    _add_definitions(db, world, "more", services=5, each=2)  # 12
    counts.append(_statements(client, sql_statements, url).count)
    _add_definitions(db, world, "most", services=2, each=5)  # 22
    large = _statements(client, sql_statements, url)
    counts.append(large.count)
    page = client.get(url).text
    assert "選択 more-4-1" in page and "選択 most-1-4" in page  # every new choice is on the page
    assert counts[0] == counts[1] == counts[2], large.report()
    assert max(counts) <= CHILD_PAGE_BUDGET, large.report()


def _choice_post(client: TestClient, settings: Settings, world: World) -> dict[str, object]:
    """The request htmx sends for "deny" on the photo choice (read before anything is counted)."""
    return {
        "url": f"/children/{world.hanako.id}/choices/{world.photo_choice.id}",
        "data": {"value": "deny", "notice_version": str(world.notice.id)},
        "headers": {"HX-Request": "true", "X-CSRF-Token": csrf_token(client, settings)},
    }


def _choose(client: TestClient, settings: Settings, world: World) -> tuple[int, str]:
    response = client.post(**_choice_post(client, settings, world))  # type: ignore[arg-type]
    return response.status_code, response.text


def test_the_choice_request_runs_at_most_eight_statements_and_writes_every_row(
    client: TestClient, db: Session, settings: Settings, world: World, sql_statements: StatementCounter
) -> None:
    sign_in_as(client, db, settings, world.account)
    client.get(f"/children/{world.hanako.id}")  # the page the guardian chooses on
    post = _choice_post(client, settings, world)
    before = (_rows(db, ChoiceEvent), _rows(db, OneTimeToken), _rows(db, OutboxEmail), _rows(db, AuditEvent))
    with sql_statements as counted:
        response = client.post(**post)  # type: ignore[arg-type]
    status, fragment = response.status_code, response.text
    assert status == 200 and "確認待ち" in fragment and "y***@example.jp" in fragment
    after = (_rows(db, ChoiceEvent), _rows(db, OneTimeToken), _rows(db, OutboxEmail), _rows(db, AuditEvent))
    assert [a - b for a, b in zip(after, before, strict=True)] == [1, 1, 1, 1]  # event, link, mail, audit
    assert counted.count <= CHOICE_REQUEST_BUDGET, counted.report()


def test_a_second_request_replaces_the_first_and_the_page_says_so(
    client: TestClient, db: Session, settings: Settings, world: World
) -> None:
    """The pending request read with the child is cancelled, its link revoked."""
    sign_in_as(client, db, settings, world.account)
    assert _choose(client, settings, world)[0] == 200
    status, fragment = _choose(client, settings, world)
    assert status == 200 and "確認待ち" in fragment
    db.expire_all()
    kinds = sorted(
        db.scalars(select(ChoiceEvent.kind).where(ChoiceEvent.definition_id == world.photo_choice.id))
    )
    assert kinds == ["cancelled", "requested", "requested"]
    live = db.scalars(
        select(OneTimeToken).where(OneTimeToken.revoked_at.is_(None), OneTimeToken.used_at.is_(None))
    )
    assert len(list(live)) == 1


def test_the_confirmation_runs_at_most_ten_statements_and_writes_every_row(
    client: TestClient,
    db: Session,
    database: Database,
    settings: Settings,
    smtp: SmtpSink,
    world: World,
    sql_statements: StatementCounter,
) -> None:
    sign_in_as(client, db, settings, world.account)
    assert _choose(client, settings, world)[0] == 200
    assert deliver_mail(database, settings) == 1
    [link] = [u for m in smtp.to("yoko.yamada@example.jp") for u in links_in(m) if "/confirm/" in u]
    client.cookies.clear()  # opened on a phone, without a session
    token = csrf_token(client, settings)
    photo_choice_id = world.photo_choice.id
    mails = _rows(db, OutboxEmail)
    with sql_statements as counted:
        done = client.post(urlsplit(link).path, data={"csrf_token": token})
    assert done.status_code == 200 and "有効になりました" in done.text
    db.expire_all()
    current = db.scalar(select(CurrentChoice).where(CurrentChoice.definition_id == photo_choice_id))
    assert current is not None and current.value == "deny"
    assert _rows(db, OutboxEmail) - mails == 2  # the receipt to the mother, a notice to the father
    assert db.scalar(select(func.count()).where(AuditEvent.action == "choice.confirmed")) == 1
    assert counted.count <= CONFIRMATION_BUDGET, counted.report()
    assert deliver_mail(database, settings) == 2
    [receipt] = [m for m in smtp.to("yoko.yamada@example.jp") if "受付記録" in str(m["Subject"])]
    assert len(list(receipt.iter_attachments())) == 1


VI_LABEL = "Cho phép đăng ảnh trên bản tin của trường"  # the photo choice, translated by the board


def _read_in_vietnamese(client: TestClient, db: Session, settings: Settings, world: World) -> None:
    """The board has translated the photo choice into Vietnamese; the mother reads Vietnamese."""
    translate(db, world.photo_choice, "vi", label=VI_LABEL)
    db.commit()
    sign_in_as(client, db, settings, world.account)
    saved = client.post(
        "/account/language",
        data={"csrf_token": csrf_token(client, settings), "lang": "vi"},
        follow_redirects=False,
    )
    assert saved.status_code == 303


def test_a_vietnamese_reader_s_child_page_runs_as_many_statements_as_a_japanese_one(
    client: TestClient, db: Session, settings: Settings, world: World, sql_statements: StatementCounter
) -> None:
    """The board's translations are kept with its catalogue (ADR 0095, 0101): reading them
    costs no statement, and a translation saved later is on the next page."""
    sign_in_as(client, db, settings, world.account)
    url = f"/children/{world.hanako.id}"
    japanese = _statements(client, sql_statements, url).count
    client.cookies.clear()
    _read_in_vietnamese(client, db, settings, world)
    vietnamese = _statements(client, sql_statements, url)
    page = client.get(url).text
    assert '<html lang="vi">' in page and VI_LABEL in page
    assert vietnamese.count == japanese, vietnamese.report()
    assert vietnamese.count <= CHILD_PAGE_BUDGET, vietnamese.report()

    translate(db, world.photo_choice, "vi", label="Ảnh trên bản tin (đã sửa)")
    db.commit()  # a translation corrected: the kept catalogue is not served again
    page = client.get(url).text
    assert "Ảnh trên bản tin (đã sửa)" in page and VI_LABEL not in page
    assert _statements(client, sql_statements, url).count == japanese


def test_a_vietnamese_reader_s_choice_and_confirmation_stay_within_their_budgets(
    client: TestClient,
    db: Session,
    database: Database,
    settings: Settings,
    smtp: SmtpSink,
    world: World,
    sql_statements: StatementCounter,
) -> None:
    """The confirmation mail, the receipt and its mail read the translations kept with the
    catalogue, in the mother's language, without a statement of their own."""
    _read_in_vietnamese(client, db, settings, world)
    client.get(f"/children/{world.hanako.id}")
    post = _choice_post(client, settings, world)
    with sql_statements as requested:
        response = client.post(**post)  # type: ignore[arg-type]
    assert response.status_code == 200 and VI_LABEL in response.text
    assert requested.count <= CHOICE_REQUEST_BUDGET, requested.report()
    assert deliver_mail(database, settings) == 1
    [mail] = smtp.to("yoko.yamada@example.jp")
    assert VI_LABEL in body_of(mail)
    [link] = [u for u in links_in(mail) if "/confirm/" in u]
    client.cookies.clear()  # opened on a phone, without a session
    token = csrf_token(client, settings)
    with sql_statements as confirmed:
        done = client.post(urlsplit(link).path, data={"csrf_token": token})
    assert done.status_code == 200
    assert confirmed.count <= CONFIRMATION_BUDGET, confirmed.report()
    assert deliver_mail(database, settings) == 2
    [receipt] = [m for m in smtp.to("yoko.yamada@example.jp") if m is not mail]
    assert VI_LABEL in body_of(receipt)
    attached = next(receipt.iter_attachments()).get_content()
    data = json.loads(attached if isinstance(attached, str) else attached.decode("utf-8"))
    assert data["processing"]["choice"]["translated"]["label"] == VI_LABEL

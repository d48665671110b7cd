"""Setting a choice end to end: pending → e-mail to the address on file → link → effective.

Mail goes through the outbox and the real dispatcher to a real SMTP server on loopback;
the links in the captured messages are followed.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx
from fastapi.testclient import TestClient
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from app.config import Settings
from app.db import Database, utcnow
from app.domain.audit.models import AuditEvent
from app.domain.choices.models import ChoiceEvent, CurrentChoice
from app.domain.notifications.models import OutboxEmail
from app.domain.tokens.models import OneTimeToken
from tests.guardian.factories import World
from tests.helpers import SmtpSink, body_of, csrf_token, deliver_mail, links_in, run_jobs, sign_in_as


def _choose(client: TestClient, settings: Settings, world: World, **data: object) -> httpx.Response:
    return client.post(
        f"/children/{world.hanako.id}/choices/{world.dashboard_choice.id}",
        data={"csrf_token": csrf_token(client, settings), "notice_version": str(world.notice.id), **data},
        follow_redirects=False,
    )


def _current(db: Session, world: World) -> CurrentChoice | None:
    db.expire_all()
    return db.scalar(
        select(CurrentChoice).where(
            CurrentChoice.student_id == world.hanako.id,
            CurrentChoice.definition_id == world.dashboard_choice.id,
        )
    )


def _confirmation_path(smtp: SmtpSink, address: str, nth: int = -1) -> str:
    messages = [m for m in smtp.to(address) if any("/confirm/" in link for link in links_in(m))]
    assert messages, f"no confirmation mail to {address}"
    [link] = [link for link in links_in(messages[nth]) if "/confirm/" in link]
    return urlsplit(link).path


def test_hide_grades_confirm_from_mailed_link(
    client: TestClient, db: Session, database: Database, settings: Settings, smtp: SmtpSink, world: World
) -> None:
    sign_in_as(client, db, settings, world.account)
    response = _choose(client, settings, world, value="hide_some", category_codes=["grades"])
    assert response.status_code == 303
    assert response.headers["location"] == (f"/children/{world.hanako.id}#choice-{world.dashboard_choice.id}")
    # pending: nothing in effect, the page says what is waiting and where the mail went
    assert _current(db, world) is None
    page = client.get(f"/children/{world.hanako.id}")
    assert "確認待ち" in page.text and "y***@example.jp" in page.text

    assert deliver_mail(database, settings) == 1
    [mail] = smtp.to("yoko.yamada@example.jp")
    assert smtp.to("idp-address@example.com") == []  # never the IdP address
    assert "花子" in str(mail["Subject"])
    assert "成績・評価" in body_of(mail)
    path = _confirmation_path(smtp, "yoko.yamada@example.jp")

    # the link works without a session (opened on a phone), and GET changes nothing
    client.cookies.clear()
    shown = client.get(path)
    assert shown.status_code == 200
    assert "スクールダッシュボードでの表示" in shown.text and "成績・評価" in shown.text
    assert _current(db, world) is None

    done = client.post(path, data={"csrf_token": csrf_token(client, settings)})
    assert done.status_code == 200
    assert "有効になりました" in done.text
    current = _current(db, world)
    assert current is not None and current.value == "hide_some" and current.category_codes == ["grades"]

    # a second click says it was already used and changes nothing
    again = client.post(path, data={"csrf_token": csrf_token(client, settings)})
    assert again.status_code == 410 and "すでに使用されています" in again.text
    assert client.get(path).status_code == 410
    assert (
        db.scalar(select(func.count()).select_from(ChoiceEvent).where(ChoiceEvent.kind == "confirmed")) == 1
    )

    # receipt to the requester (with the JSON attached), a notice to the other guardian in English
    assert deliver_mail(database, settings) == 2
    receipts = [m for m in smtp.to("yoko.yamada@example.jp") if "受付記録" in str(m["Subject"])]
    assert len(receipts) == 1
    # In words and full-width punctuation, as a school office writes: no codes, no ISO times.
    receipt_body = body_of(receipts[0])
    assert f"受付番号：{attached_id(receipts[0])}" in receipt_body and "（日本時間）" in receipt_body
    assert "管轄：日本" in receipt_body and "JP-" not in receipt_body
    [attachment] = list(receipts[0].iter_attachments())
    attached = json.loads(attachment.get_content())
    assert attached["references"]["event_id"] == current.event_id and attached["header"]["record_id"]
    [notice] = smtp.to("taro.yamada@example.jp")
    assert "was changed" in str(notice["Subject"])
    assert "Display on the School Dashboard" in body_of(notice)
    assert smtp.to("misaki.sato@example.jp") == []


def attached_id(message: Any) -> str:
    [attachment] = list(message.iter_attachments())
    return str(json.loads(attachment.get_content())["header"]["record_id"])


def test_expired_link_says_so_and_resend_works(
    client: TestClient, db: Session, database: Database, settings: Settings, smtp: SmtpSink, world: World
) -> None:
    sign_in_as(client, db, settings, world.account)
    _choose(client, settings, world, value="hide_all")
    deliver_mail(database, settings)
    old_path = _confirmation_path(smtp, "yoko.yamada@example.jp")
    token = db.scalar(select(OneTimeToken).where(OneTimeToken.purpose == "choice_confirmation"))
    assert token is not None
    assert token.expires_at - utcnow() > timedelta(hours=71)  # 72 hours
    token.expires_at = utcnow() - timedelta(minutes=1)
    db.commit()

    expired = client.get(old_path)
    assert expired.status_code == 410
    assert "有効期限が切れています" in expired.text and f'action="{old_path}/resend"' in expired.text
    assert client.post(old_path, data={"csrf_token": csrf_token(client, settings)}).status_code == 410
    assert _current(db, world) is None

    resent = client.post(f"{old_path}/resend", data={"csrf_token": csrf_token(client, settings)})
    assert resent.status_code == 200 and "新しいリンクを送信しました" in resent.text
    deliver_mail(database, settings)
    new_path = _confirmation_path(smtp, "yoko.yamada@example.jp")
    assert new_path != old_path
    assert client.post(new_path, data={"csrf_token": csrf_token(client, settings)}).status_code == 200
    current = _current(db, world)
    assert current is not None and current.value == "hide_all"
    actions = set(db.scalars(select(AuditEvent.action)))
    assert {"choice.confirmation_resent", "choice.confirmation_link_refused"} <= actions


def test_resend_from_the_page_revokes_the_old_link(
    client: TestClient, db: Session, database: Database, settings: Settings, smtp: SmtpSink, world: World
) -> None:
    sign_in_as(client, db, settings, world.account)
    _choose(client, settings, world, value="hide_all")
    request_id = db.scalar(select(ChoiceEvent.id).where(ChoiceEvent.kind == "requested"))
    deliver_mail(database, settings)
    old_path = _confirmation_path(smtp, "yoko.yamada@example.jp")
    response = client.post(
        f"/children/{world.hanako.id}/requests/{request_id}/resend",
        data={"csrf_token": csrf_token(client, settings)},
        follow_redirects=False,
    )
    assert response.status_code == 303
    deliver_mail(database, settings)
    assert len(smtp.to("yoko.yamada@example.jp")) == 2
    replaced = client.get(old_path)
    assert replaced.status_code == 410 and "新しいリンク" in replaced.text
    new_path = _confirmation_path(smtp, "yoko.yamada@example.jp")
    assert client.post(new_path, data={"csrf_token": csrf_token(client, settings)}).status_code == 200


def test_cancel_from_the_page(
    client: TestClient, db: Session, database: Database, settings: Settings, smtp: SmtpSink, world: World
) -> None:
    sign_in_as(client, db, settings, world.account)
    _choose(client, settings, world, value="hide_all")
    request_id = db.scalar(select(ChoiceEvent.id).where(ChoiceEvent.kind == "requested"))
    deliver_mail(database, settings)
    path = _confirmation_path(smtp, "yoko.yamada@example.jp")
    cancelled = client.post(
        f"/children/{world.hanako.id}/requests/{request_id}/cancel",
        data={"csrf_token": csrf_token(client, settings)},
    )
    assert cancelled.status_code == 200 and "確認待ち" not in cancelled.text
    link = client.get(path)
    assert link.status_code == 410 and "取り消されました" in link.text
    assert client.post(path, data={"csrf_token": csrf_token(client, settings)}).status_code == 410
    assert _current(db, world) is None
    assert "choice.request_cancelled" in set(db.scalars(select(AuditEvent.action)))


def test_cancel_from_the_link(
    client: TestClient, db: Session, database: Database, settings: Settings, smtp: SmtpSink, world: World
) -> None:
    sign_in_as(client, db, settings, world.account)
    _choose(client, settings, world, value="hide_all")
    deliver_mail(database, settings)
    path = _confirmation_path(smtp, "yoko.yamada@example.jp")
    client.cookies.clear()
    response = client.post(f"{path}/cancel", data={"csrf_token": csrf_token(client, settings)})
    assert response.status_code == 200 and "取り消しました" in response.text
    assert "取り消されました" in client.get(path).text
    assert _current(db, world) is None


def test_new_request_cancels_the_earlier_pending_one(
    client: TestClient, db: Session, database: Database, settings: Settings, smtp: SmtpSink, world: World
) -> None:
    sign_in_as(client, db, settings, world.account)
    _choose(client, settings, world, value="hide_all")
    deliver_mail(database, settings)
    first = _confirmation_path(smtp, "yoko.yamada@example.jp")
    _choose(client, settings, world, value="hide_some", category_codes=["grades", "guidance"])
    deliver_mail(database, settings)
    second = _confirmation_path(smtp, "yoko.yamada@example.jp")
    assert client.get(first).status_code == 410
    assert client.post(second, data={"csrf_token": csrf_token(client, settings)}).status_code == 200
    current = _current(db, world)
    assert current is not None and current.category_codes == ["grades", "guidance"]


def test_htmx_post_swaps_the_fragment_and_plain_get_is_a_full_page(
    client: TestClient, db: Session, settings: Settings, world: World
) -> None:
    sign_in_as(client, db, settings, world.account)
    response = client.post(
        f"/children/{world.hanako.id}/choices/{world.photo_choice.id}",
        data={"value": "deny", "notice_version": str(world.notice.id)},
        headers={"HX-Request": "true", "X-CSRF-Token": csrf_token(client, settings)},
    )
    assert response.status_code == 200
    assert "HX-Request" in response.headers["vary"]
    assert "<html" not in response.text and "<body" not in response.text
    assert response.text.lstrip().startswith(f'<section class="choice" id="choice-{world.photo_choice.id}"')
    assert "確認待ち" in response.text
    full = client.get(f"/children/{world.hanako.id}")
    assert "<html" in full.text and "HX-Request" in full.headers["vary"]
    assert f'hx-post="/children/{world.hanako.id}/choices/{world.photo_choice.id}"' in full.text


def test_bad_input_gets_a_clear_message_and_changes_nothing(
    client: TestClient, db: Session, settings: Settings, world: World
) -> None:
    sign_in_as(client, db, settings, world.account)
    unknown = _choose(client, settings, world, value="maybe")
    assert unknown.status_code == 422
    assert 'role="alert"' in unknown.text
    not_allowed = _choose(client, settings, world, value="hide_some", category_codes=["identity"])
    assert not_allowed.status_code == 422
    none_chosen = _choose(client, settings, world, value="hide_some")
    assert none_chosen.status_code == 422
    forged = client.post(
        f"/children/{world.hanako.id}/choices/{world.foreign_choice.id}",
        data={
            "csrf_token": csrf_token(client, settings),
            "notice_version": str(world.notice.id),
            "value": "hide_all",
        },
    )
    assert forged.status_code == 404
    assert "このお子さまには、この選択肢はありません" in forged.text
    htmx_bad = client.post(
        f"/children/{world.hanako.id}/choices/{world.dashboard_choice.id}",
        data={"value": "hide_some", "category_codes": "identity", "notice_version": str(world.notice.id)},
        headers={"HX-Request": "true", "X-CSRF-Token": csrf_token(client, settings)},
    )
    assert htmx_bad.status_code == 200 and 'role="alert"' in htmx_bad.text and "<html" not in htmx_bad.text
    db.expire_all()
    assert db.scalar(select(func.count()).select_from(ChoiceEvent)) == 0
    assert db.scalar(select(func.count()).select_from(OutboxEmail)) == 0
    assert db.scalar(select(func.count()).select_from(CurrentChoice)) == 0


def test_another_family_cannot_set_a_choice(
    client: TestClient, db: Session, settings: Settings, world: World
) -> None:
    sign_in_as(client, db, settings, world.other_account)
    response = _choose(client, settings, world, value="hide_all")
    assert response.status_code == 404
    assert "花子" not in response.text
    assert db.scalar(select(func.count()).select_from(ChoiceEvent)) == 0


def test_unknown_link_is_refused(client: TestClient, db: Session, settings: Settings, world: World) -> None:
    response = client.get("/confirm/not-a-real-token")
    assert response.status_code == 404 and "このリンクは無効です" in response.text
    posted = client.post("/confirm/not-a-real-token", data={"csrf_token": csrf_token(client, settings)})
    assert posted.status_code == 404
    assert db.scalar(select(func.count()).select_from(ChoiceEvent)) == 0


def test_english_guardian_gets_english_pages_and_mail(
    client: TestClient, db: Session, database: Database, settings: Settings, smtp: SmtpSink, world: World
) -> None:
    sign_in_as(client, db, settings, world.father_account)
    client.cookies.set("tobira_lang", "en")
    _choose(client, settings, world, value="hide_all")
    page = client.get(f"/children/{world.hanako.id}")
    assert "Waiting for confirmation" in page.text
    deliver_mail(database, settings)
    [mail] = smtp.to("taro.yamada@example.jp")
    assert str(mail["Subject"]).startswith("Please confirm")
    assert "Hide all data" in body_of(mail)


def test_resends_are_rate_limited_and_audited(
    client: TestClient, db: Session, database: Database, settings: Settings, smtp: SmtpSink, world: World
) -> None:
    sign_in_as(client, db, settings, world.account)
    _choose(client, settings, world, value="hide_all")
    request_id = db.scalar(select(ChoiceEvent.id).where(ChoiceEvent.kind == "requested"))
    url = f"/children/{world.hanako.id}/requests/{request_id}/resend"
    statuses = [
        client.post(
            url, data={"csrf_token": csrf_token(client, settings)}, follow_redirects=False
        ).status_code
        for _ in range(6)
    ]
    assert statuses == [303, 303, 303, 303, 303, 429]
    db.expire_all()
    assert db.scalar(select(func.count()).select_from(OutboxEmail)) == 6  # the first mail and 5 resends
    refused = db.scalar(
        select(func.count())
        .select_from(AuditEvent)
        .where(AuditEvent.action == "choice.confirmation_resent", AuditEvent.outcome == "failure")
    )
    assert refused == 1
    live = db.scalar(
        select(func.count())
        .select_from(OneTimeToken)
        .where(OneTimeToken.revoked_at.is_(None), OneTimeToken.used_at.is_(None))
    )
    assert live == 1  # only the latest link works


def test_an_unconfirmed_request_expires_when_its_link_runs_out(
    client: TestClient, db: Session, database: Database, settings: Settings, world: World
) -> None:
    sign_in_as(client, db, settings, world.account)
    _choose(client, settings, world, value="hide_all")
    assert "確認待ち" in client.get(f"/children/{world.hanako.id}").text
    request = db.scalar(select(ChoiceEvent).where(ChoiceEvent.kind == "requested"))
    token = db.scalar(select(OneTimeToken).where(OneTimeToken.purpose == "choice_confirmation"))
    assert request is not None and token is not None
    run_jobs(database, settings)  # a fresh request is left alone
    assert db.scalar(select(ChoiceEvent).where(ChoiceEvent.kind == "expired")) is None

    if db.get_bind().dialect.name == "postgresql":  # back-dating an append-only row: tests only
        db.execute(text("SET LOCAL tobira.removal = 'on'"))
    request.created_at = utcnow() - timedelta(hours=73)
    token.expires_at = utcnow() - timedelta(minutes=1)
    db.commit()
    run_jobs(database, settings)

    db.expire_all()
    expired = db.scalar(select(ChoiceEvent).where(ChoiceEvent.kind == "expired"))
    assert expired is not None and expired.request_id == request.id
    assert "確認待ち" not in client.get(f"/children/{world.hanako.id}").text
    assert _current(db, world) is None  # expiry changes nothing in effect
    audit = db.scalar(select(AuditEvent).where(AuditEvent.action == "choice.expired"))
    assert audit is not None and audit.actor_type == "system"

"""An incident notice: a board admin records it on a service, previews it and sends it; the
job runner writes one e-mail per covered family in its language; the child's card shows it."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.config import Settings
from app.db import Database
from app.domain.audit.models import AuditEvent
from app.domain.incidents.models import Incident
from app.domain.notifications.models import OutboxEmail
from tests.guardian.factories import World, build_world, link, make_guardian, make_school, make_student
from tests.helpers import SmtpSink, body_of, csrf_token, deliver_mail, run_jobs, sign_in_as
from tests.staff import factories as staff_factories


@pytest.fixture
def world(db: Session) -> World:
    return build_world(db)


FORM = {
    "title": "委託事業者における不正アクセスについて",
    "title_en": "Unauthorised access at the vendor",
    "body": "委託事業者のサーバーに外部から不正なアクセスがあり、児童生徒の氏名が閲覧された"
    "可能性があります。",
    "body_en": "Someone from outside gained access to the vendor's server; "
    "students' names may have been seen.",
    "vendor_action": "該当サーバーを停止し、外部の専門機関による調査を行っています。",
    "vendor_action_en": "The vendor shut the server down and an outside firm is investigating.",
    "period_start": "2026-11-20",
    "period_end": "2026-11-25",
}


def test_an_incident_notice_reaches_every_covered_family_in_their_language(
    client: TestClient,
    db: Session,
    database: Database,
    settings: Settings,
    smtp: SmtpSink,
    world: World,
) -> None:
    # Teams covers world.school only: a family at another school is not told.
    elsewhere = make_school(db, world.board, name="みどり小学校", name_en="Midori Elementary")
    outsider = make_guardian(db, world.board, given="外部", email="outsider@example.jp")
    link(db, outsider, make_student(db, elsewhere, given="遠子"))
    admin = staff_factories.staff(db, world.board, "board_admin")
    db.commit()
    sign_in_as(client, db, settings, admin)

    bad = client.post(
        f"/staff/services/{world.learning.id}/incidents",
        data={"csrf_token": csrf_token(client, settings), **FORM, "title": "", "period_start": "11/20"},
    )
    assert bad.status_code == 422 and "件名（日本語）を入力してください。" in bad.text
    assert db.scalar(select(Incident.id)) is None

    created = client.post(
        f"/staff/services/{world.learning.id}/incidents",
        data={"csrf_token": csrf_token(client, settings), **FORM, "categories": "identity"},
        follow_redirects=False,
    )
    assert created.status_code == 303
    preview = client.get(created.headers["location"])
    assert preview.status_code == 200
    assert "【重要】「Microsoft Teams」における個人情報に関する事故のお知らせ" in preview.text
    assert smtp.messages == [] and db.scalar(select(OutboxEmail.id)) is None  # a preview sends nothing

    incident_id = int(created.headers["location"].rsplit("/", 1)[1])
    # The English is entered on the translations page, where the draft is listed.
    english = {
        f"t:incidents:{incident_id}:{name}": FORM[f"{name}_en"] for name in ("title", "body", "vendor_action")
    }
    saved = client.post(
        "/staff/translations",
        data={"csrf_token": csrf_token(client, settings), "lang": "en", "service": "", **english},
        follow_redirects=False,
    )
    assert saved.status_code == 303
    preview = client.get(created.headers["location"])
    assert "Important: an incident concerning personal data at Microsoft Teams" in preview.text
    sent = client.post(
        f"/staff/incidents/{incident_id}/send", data={"csrf_token": csrf_token(client, settings)}
    )
    assert sent.status_code == 200
    assert db.scalar(select(OutboxEmail.id)) is None  # not written inside the request: a job does it
    assert run_jobs(database, settings) >= 1
    deliver_mail(database, settings)

    [mother] = smtp.to("yoko.yamada@example.jp")
    assert mother["Subject"] == "【重要】「Microsoft Teams」における個人情報に関する事故のお知らせ"
    text = body_of(mother)
    assert "保護者の皆様" in text and "深くお詫び申し上げます" in text
    assert "該当サーバーを停止し" in text and "2026年11月20日" in text
    [father] = smtp.to("taro.yamada@example.jp")  # English reader (one mail for two children)
    assert father["Subject"].startswith("Important: an incident") and "outside firm" in body_of(father)
    assert smtp.to("misaki.sato@example.jp")
    assert smtp.to("outsider@example.jp") == []
    run_jobs(database, settings)  # a second round writes nothing twice
    deliver_mail(database, settings)
    families = [m for m in smtp.messages if "kyoiku@" not in str(m["To"])]  # not the audit anchor
    assert sorted(str(m["To"]) for m in families) == [
        "misaki.sato@example.jp",
        "taro.yamada@example.jp",
        "yoko.yamada@example.jp",
    ]

    db.rollback()  # end the test session's read snapshot
    assert (
        db.scalar(select(Incident.emails).where(Incident.id == incident_id)) == 3
        and "3通のメール" in client.get(created.headers["location"]).text
    )
    actions = set(db.scalars(select(AuditEvent.action).where(AuditEvent.target_type == "incident")))
    assert actions == {"incident.recorded", "incident.sent", "incident.notified"}

    client.cookies.clear()
    sign_in_as(client, db, settings, world.account)
    card = client.get(f"/children/{world.hanako.id}").text.split(
        'id="service-' + str(world.learning.id) + '"'
    )[1]
    assert "事故のお知らせ: 委託事業者における不正アクセスについて" in card.split("</article>")[0]
    client.cookies.clear()
    sign_in_as(client, db, settings, admin)
    service_page = client.get(f"/staff/services/{world.learning.id}").text
    assert "委託事業者における不正アクセスについて" in service_page and "送信日時" in service_page

"""Renewal: a version that widens what happens to a child's data asks covered guardians to look
at their choice again. The choice stays in force meanwhile; the card and the e-mail say what
changed in words; a kind of data the service now holds can be hidden; staff see who has and has
not reviewed (ADR 0089)."""

from __future__ import annotations

from dataclasses import replace

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.config import Settings
from app.db import Database
from app.domain.audit.models import AuditEvent
from app.domain.catalog.models import ChoiceDefinition, ServiceReview
from app.domain.catalog.service import CategoryInput, publish_service_version, version_input_from
from app.domain.choices import service as choices
from app.domain.choices.jobs import request_announcement
from app.domain.choices.models import CurrentChoice
from tests.guardian.factories import World
from tests.guardian.test_notices import _latest
from tests.helpers import SmtpSink, body_of, csrf_token, deliver_mail, run_jobs, shown_notice, sign_in_as
from tests.staff import factories as staff_factories

MOVED = "データセンターの所在国：日本 → オーストラリア"
NEW_KIND = "新たに扱う情報：調査の回答"


def _publish(db: Session, world: World, **changes: object):  # type: ignore[no-untyped-def]
    data = replace(version_input_from(_latest(db, world.dashboard)), **changes)  # type: ignore[arg-type]
    result = publish_service_version(db, service=world.dashboard, data=data, actor=world.admin_actor)
    request_announcement(db, result, world.admin_actor, base_url="http://127.0.0.1")
    db.commit()
    return result


def _owed(db: Session) -> int:
    db.expire_all()
    return (
        db.scalar(select(func.count()).select_from(ServiceReview).where(ServiceReview.reviewed_at.is_(None)))
        or 0
    )


def test_a_material_change_asks_for_review_in_words_and_the_new_kind_can_be_hidden(
    client: TestClient, db: Session, database: Database, settings: Settings, smtp: SmtpSink, world: World
) -> None:
    # The mother had hidden grades on paper; that stays in force throughout.
    choices.record_confirmed(
        db,
        definition=world.dashboard_choice,
        student_id=world.hanako.id,
        value="hide_some",
        category_codes=["grades"],
        channel="paper",
        reason="紙の申出書",
        actor_account_id=None,
    )
    clerk = staff_factories.staff(db, world.board, "school_admin", world.school)
    db.commit()
    previous = _latest(db, world.dashboard)
    result = _publish(
        db,
        world,
        data_centre_country="AU",
        categories=[
            *version_input_from(previous).categories,
            CategoryInput("survey_answers", "生活習慣調査"),
        ],
    )
    assert result.asks_review
    run_jobs(database, settings)
    deliver_mail(database, settings)

    # The e-mail says what changed in words.
    [mail] = smtp.to("yoko.yamada@example.jp")
    assert MOVED in body_of(mail) and NEW_KIND in body_of(mail)
    # One review owed per covered guardian and child; the dashboard covers Hanako and Jiro.
    owed_at_first = _owed(db)
    assert owed_at_first >= 4
    # The choice that lets guardians pick kinds of data now offers the new kind.
    db.expire_all()
    definition = db.get_one(ChoiceDefinition, world.dashboard_choice.id)
    assert definition.category_codes[-1] == "survey_answers" and definition.version == 2  # a new version
    assert (
        db.scalar(select(AuditEvent).where(AuditEvent.action == "definition.categories_followed")) is not None
    )

    # The mother's card: not yet reviewed, the change in words, her choice still in force.
    sign_in_as(client, db, settings, world.account)
    page = client.get(f"/children/{world.hanako.id}").text
    assert "から未確認" in page and MOVED in page and NEW_KIND in page
    assert "確認しました（選択はこのままにする）" in page
    current = db.scalar(select(CurrentChoice).where(CurrentChoice.student_id == world.hanako.id))
    assert current is not None and (current.value, current.category_codes) == ("hide_some", ["grades"])

    # Staff see who has not reviewed yet.
    staff = TestClient(client.app)
    sign_in_as(staff, db, settings, clerk)
    overview = staff.get(f"/staff/services/{world.dashboard.id}/reviews").text
    assert "山田 洋子" in overview and "山田 花子" in overview

    # She keeps her choice: the note goes, her choice is unchanged, it is audited.
    kept = client.post(
        f"/children/{world.hanako.id}/services/{world.dashboard.id}/review",
        data={"csrf_token": csrf_token(client, settings)},
        follow_redirects=False,
    )
    assert kept.status_code == 303
    assert "から未確認" not in client.get(f"/children/{world.hanako.id}").text
    assert _owed(db) == owed_at_first - 1
    [reviewed] = db.scalars(select(AuditEvent).where(AuditEvent.action == "choice.reviewed"))
    assert reviewed.details["outcome"] == "kept"
    again = client.post(
        f"/children/{world.hanako.id}/services/{world.dashboard.id}/review",
        data={"csrf_token": csrf_token(client, settings)},
    )
    assert again.status_code == 404

    # For Jiro she hides the new kind of data: the request is accepted and closes the review.
    hide_new = client.post(
        f"/children/{world.jiro.id}/choices/{world.dashboard_choice.id}",
        data={
            "csrf_token": csrf_token(client, settings),
            "notice_version": shown_notice(db, world.board.id),
            "value": "hide_some",
            "category_codes": ["survey_answers"],
        },
        follow_redirects=False,
    )
    assert hide_new.status_code == 303
    assert _owed(db) == owed_at_first - 2
    db.expire_all()
    assert [
        e.details["outcome"]
        for e in db.scalars(
            select(AuditEvent).where(AuditEvent.action == "choice.reviewed").order_by(AuditEvent.id)
        )
    ] == [
        "kept",
        "changed",
    ]
    counts = staff.get(f"/staff/services/{world.dashboard.id}/reviews").text
    not_yet = counts.split("<tbody>")[-1]
    assert "山田 洋子" not in not_yet and "山田 太郎" in not_yet  # the father still owes his reviews


def test_a_change_of_wording_asks_no_review(
    client: TestClient, db: Session, database: Database, settings: Settings, world: World
) -> None:
    result = _publish(db, world, description="説明を書き直しました。")
    assert not result.asks_review
    run_jobs(database, settings)
    assert _owed(db) == 0
    sign_in_as(client, db, settings, world.account)
    assert "から未確認" not in client.get(f"/children/{world.hanako.id}").text

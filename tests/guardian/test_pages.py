"""What a guardian sees: their children, each child's services and facts, and nothing else."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.config import Settings
from app.domain.audit.models import AuditEvent
from app.domain.catalog.models import GuardianServiceView
from tests.guardian.factories import World, make_account, make_guardian
from tests.helpers import sign_in_as


def test_children_lists_only_linked_children(
    client: TestClient, db: Session, settings: Settings, world: World
) -> None:
    sign_in_as(client, db, settings, world.account)
    page = client.get("/children")
    assert page.status_code == 200
    assert "山田 花子" in page.text and "山田 次郎" in page.text
    assert "佐藤" not in page.text
    assert f'href="/children/{world.hanako.id}"' in page.text


def test_guardian_without_children_is_shown_how_to_link(
    client: TestClient, db: Session, settings: Settings, world: World
) -> None:
    lonely = make_account(db, make_guardian(db, world.board))
    db.commit()
    sign_in_as(client, db, settings, lonely)
    page = client.get("/children")
    assert page.status_code == 200
    assert 'href="/link"' in page.text
    assert "学校からのお知らせ" in page.text or "コード" in page.text


def test_signed_out_visitor_is_sent_to_sign_in(client: TestClient, world: World) -> None:
    response = client.get(f"/children/{world.hanako.id}", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/signin")


def test_child_page_shows_services_by_use_with_vendor_facts(
    client: TestClient, db: Session, settings: Settings, world: World
) -> None:
    sign_in_as(client, db, settings, world.account)
    page = client.get(f"/children/{world.hanako.id}")
    assert page.status_code == 200
    text = page.text
    # grouped by use, learning before the dashboard (the order of the Saitama notice), after
    # the decisions
    services = text.index('id="services-title"')
    assert text.index('id="decisions-title"') < services
    assert services < text.index("学習での利用") < text.index("スクールダッシュボード</h3>", services)
    # categories with items, purposes with permitted use
    assert "成績・評価" in text and "評価・評定" in text
    assert "不具合対応のため" in text and "サービスの保守や不具合の修正のため" in text
    assert "（覚書で認められた利用「ウ」：サービスの保守や不具合の修正のため）" in text
    # vendor facts
    assert "さいたま市教育研究所" in text
    assert "ISMS（ISO/IEC 27001）" in text and "プライバシーマーク" in text and "ISMAP" in text
    assert "日本" in text and "日本法" in text and "さいたま地方裁判所" in text
    assert "30日間保管した後、消去されます" in text
    assert "卒業時" in text and "契約終了時" in text
    assert "広告に利用しません" in text and "プロファイリングを行いません" in text
    assert "匿名化した統計" in text
    assert 'href="https://vendor.example.jp/privacy"' in text
    # subcontractor tree: the sub-subcontractor is nested under its contractor
    first = text.index("クラウド基盤株式会社")
    nested = text.index("データ保守サービス株式会社")
    assert first < nested and "バックアップの保守" in text
    # choices with default and explanation
    assert "スクールダッシュボードでの表示" in text
    assert "教員のダッシュボードにお子さまのデータが表示されなくなります" in text
    assert "クラスの共有スペースでの写真・動画" in text


def test_sibling_switcher(client: TestClient, db: Session, settings: Settings, world: World) -> None:
    sign_in_as(client, db, settings, world.account)
    page = client.get(f"/children/{world.hanako.id}")
    assert f'href="/children/{world.jiro.id}"' in page.text
    assert 'aria-current="page">花子' in page.text


def test_another_familys_child_is_404_and_leaks_nothing(
    client: TestClient, db: Session, settings: Settings, world: World
) -> None:
    sign_in_as(client, db, settings, world.other_account)
    for path in (
        f"/children/{world.hanako.id}",
        f"/children/{world.hanako.id}/history",
        f"/children/{world.hanako.id}/receipts/00000000-0000-0000-0000-000000000000",
        f"/children/{world.hanako.id}/receipts/00000000-0000-0000-0000-000000000000?format=json",
    ):
        response = client.get(path)
        assert response.status_code == 404, path
        assert "花子" not in response.text and "山田" not in response.text and "ヤマダ" not in response.text
    missing = client.get("/children/999999")
    assert missing.status_code == 404
    assert missing.text.replace("999999", "") == client.get("/children/999998").text.replace("999998", "")


def test_staff_account_gets_404_on_guardian_pages(
    client: TestClient, db: Session, settings: Settings, world: World
) -> None:
    from tests.guardian.factories import make_staff_account

    staff = make_staff_account(db)
    db.commit()
    sign_in_as(client, db, settings, staff)
    assert client.get(f"/children/{world.hanako.id}").status_code == 404


def test_english_page(client: TestClient, db: Session, settings: Settings, world: World) -> None:
    sign_in_as(client, db, settings, world.account)
    client.cookies.set("tobira_lang", "en")
    page = client.get(f"/children/{world.hanako.id}")
    assert page.status_code == 200
    assert 'lang="en"' in page.text
    assert "Display on the School Dashboard" in page.text
    assert "Saitama City Education Research Institute" in page.text
    assert "Kept for 30 days, then erased" in page.text
    assert "Japan" in page.text
    assert "スクールダッシュボードでの表示" not in page.text


def test_guardian_page_views_are_not_audited_but_remembered(
    client: TestClient, db: Session, settings: Settings, world: World
) -> None:
    sign_in_as(client, db, settings, world.account)
    before = len(list(db.scalars(select(AuditEvent))))
    assert client.get(f"/children/{world.hanako.id}").status_code == 200
    db.expire_all()
    assert len(list(db.scalars(select(AuditEvent)))) == before
    seen = list(
        db.scalars(select(GuardianServiceView).where(GuardianServiceView.student_id == world.hanako.id))
    )
    assert {row.service_id for row in seen} == {world.dashboard.id, world.learning.id}
    assert {row.guardian_id for row in seen} == {world.mother.id}

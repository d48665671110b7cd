"""A new board runs its own catalogue, from an empty board to an opt-out downstream, in a real
browser and with no seed code: the roster is imported and the first administrator invited from
the command line (as the README's set-up says); the administrator signs in through the loopback
provider, adds a service with kinds of data, vendor facts and a two-level subcontractor chain,
offers a choice, covers one school's J1–J3 and publishes the notice; a guardian of a covered
child sees the service and the notice, hides the data and confirms from the e-mail; the choice
is in the export and the downstream hide list; a guardian of an uncovered child never sees the
service."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from app.cli import main
from app.config import Settings, get_settings
from app.domain.boards.models import Board
from app.domain.people.models import School, Student
from tests.e2e.conftest import LiveServer, OpenPage
from tests.e2e.flows import (
    authorize_at_provider,
    block_provider_cdn,
    download_csv,
    rows_for,
)
from tests.e2e.support import Mailbox
from tests.helpers import links_in

SAMPLE = Path(__file__).parents[1] / "roster" / "fixtures" / "jp_sample.zip"
FATHER = "yamada.ichiro@example.jp"  # a first-grader at the primary school and one at the junior high
OTHER = "takahashi.keiko@example.jp"  # only a first-grader at the primary school
SERVICE = "まなびドリル"
_serial = itertools.count(1)


def _cli(settings: Settings, monkeypatch: pytest.MonkeyPatch, *args: str) -> str:
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    monkeypatch.setenv("ENVIRONMENT", "test")
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(main, list(args))
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    return result.output


def _newest_link(mailbox: Mailbox, address: str, path: str, after: int) -> str:
    """The newest link containing `path` in mail to `address` since the first `after` messages
    (other mail, such as the new service's announcement, may arrive in between)."""
    count = after + 1
    while True:
        arrived = mailbox.wait_for(address, count=count)[after:]
        links = [u for m in arrived for u in links_in(m) if path in u]
        if links:
            return links[-1]
        count += 1


def _guardian_signs_in_by_mail(page: Page, mailbox: Mailbox, address: str) -> None:
    before = len(mailbox.to(address))
    page.goto("/signin")
    page.fill("#email-address", address)
    page.click("form[action='/signin/email'] button[type=submit]")
    page.goto(_newest_link(mailbox, address, "/signin/email/", before))
    page.click("main form button[type=submit]")
    page.wait_for_url("**/children")


def test_a_new_board_publishes_its_catalogue_and_a_family_opts_out(
    open_page: OpenPage,
    e2e_db: Session,
    e2e_settings: Settings,
    e2e_idp: object,
    mailbox: Mailbox,
    live_server: LiveServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    n = next(_serial)
    code, admin_email, admin_sub = f"newcity{n}", f"admin{n}@newcity.example.jp", f"newcity-admin-{n}"
    _cli(e2e_settings, monkeypatch, "roster", "import", str(SAMPLE), "--board", code)
    _cli(
        e2e_settings,
        monkeypatch,
        "staff",
        "invite",
        "--board",
        code,
        "--email",
        admin_email,
        "--role",
        "board_admin",
    )
    board = e2e_db.scalar(select(Board).where(Board.code == code))
    assert board is not None
    junior_high = e2e_db.scalar(
        select(School).where(School.board_id == board.id, School.name.like("%中学校"))
    )
    assert junior_high is not None
    j1 = e2e_db.scalar(select(Student).where(Student.board_id == board.id, Student.grade == "J1"))
    assert j1 is not None
    e2e_idp.set_user(admin_sub, email=admin_email, email_verified=True)  # type: ignore[attr-defined]

    # The board administrator signs in and adds the service.
    staff = open_page(viewport="desktop")
    block_provider_cdn(staff)
    staff.goto("/signin")
    staff.click("a[href^='/auth/login/test-staff']")
    authorize_at_provider(staff, admin_sub)
    staff.wait_for_url("**/staff")
    staff.goto("/staff/services/new")
    staff.fill("#code", "manabi-drill")
    staff.fill("#name", SERVICE)
    staff.select_option("#use_group", "learning")
    staff.fill("#vendor_name", "まなび株式会社")
    staff.check("#category-identity")
    staff.fill("#items_identity", "氏名、学年・組")
    staff.check("#category-grades")
    staff.fill("#items_grades", "小テストの点数")
    staff.fill("#purposes", "a: 学習の個別最適化")
    staff.fill("#data_centre_country", "JP")
    staff.fill("#backup_retention_days", "30")
    staff.fill("#sub-0-name", "クラウド基盤株式会社")
    staff.fill("#sub-0-task", "サーバの運用")
    staff.fill("#sub-0-data_items", "全データ")
    staff.fill("#sub-1-name", "データ保守合同会社")
    staff.fill("#sub-1-task", "バックアップの保管")
    staff.select_option("#sub-1-parent", "0")
    staff.click("form[action='/staff/services/new'] button[type=submit]")
    staff.wait_for_url("**/staff/services/*")
    service_path = staff.url.split("#")[0].removeprefix(live_server.url)
    # Its English name is entered on the translations page, beside the Japanese.
    staff.get_by_role("link", name="翻訳", exact=True).click()
    staff.locator("input[name^='t:service_versions:'][name$=':name']").fill("Manabi Drill")
    staff.get_by_role("button", name="翻訳を保存する").click()
    expect(staff.get_by_role("status")).to_have_text("翻訳を保存しました。")
    staff.goto(service_path)

    # A choice that hides the data, then coverage of the junior high's J1–J3 (previewed first).
    staff.fill("#code", "hide-drill")
    staff.select_option("#kind", "categories")
    staff.fill("#label", "まなびドリルでの表示")
    staff.click(f"form[action='{service_path}/definitions'] button[type=submit]")
    staff.goto(f"{service_path}/coverage")
    staff.select_option("#school", str(junior_high.id))
    staff.select_option("#grade_from", "J1")
    staff.select_option("#grade_to", "J3")
    staff.click("button[name=action][value=preview]")
    expect(staff.locator("main")).to_contain_text("児童生徒 1 人")
    staff.click("button[name=action][value=add]")
    expect(staff.locator("main")).to_contain_text("現在の対象：児童生徒 1 人")

    # The notice, previewed, then published.
    staff.goto("/staff/notice")
    staff.fill("#title", "学習用クラウドサービスの利用について（お知らせ）")
    staff.fill(
        "#body", "本年度から、中学校でまなびドリルを利用します。\n\nご不明な点は学校へお問い合わせください。"
    )
    staff.click("button[name=action][value=preview]")
    expect(staff.locator("main")).to_contain_text("プレビュー")
    staff.click("button[name=action][value=publish]")
    expect(staff.locator("main")).to_contain_text("現在の版：第2版")  # the service was version 1

    # The father of the J1 pupil signs in with the address the school has on file.
    page = open_page(viewport="phone")
    _guardian_signs_in_by_mail(page, mailbox, FATHER)
    page.goto(f"/children/{j1.id}")
    expect(page.locator("main")).to_contain_text(SERVICE)
    expect(page.locator("main")).to_contain_text("データ保守合同会社")
    page.click(f"a[href='/children/{j1.id}/notice']")
    expect(page.locator("main")).to_contain_text("ご不明な点は学校へお問い合わせください。")
    page.goto(f"/children/{j1.id}")
    choice = page.locator("section.choice", has_text="まなびドリルでの表示")
    choice.locator(".choice__change > summary").click()  # the choice's form opens from its button
    choice.locator("input[value=hide_all]").check()
    before = len(mailbox.to(FATHER))
    choice.locator("button[type=submit]", has_text="確認メール").click()
    expect(
        page.locator("section.choice", has_text="まなびドリルでの表示").locator(".pending")
    ).to_be_visible()
    page.goto(_newest_link(mailbox, FATHER, "/confirm/", before))
    page.click("main form:not([action$='/cancel']) button[type=submit]")
    expect(page.locator(".notice[role=status]")).to_be_visible()
    # His first-grader at the primary school is not covered.
    taro = e2e_db.scalar(
        select(Student).where(
            Student.board_id == board.id, Student.grade == "P1", Student.family_name == "山田"
        )
    )
    assert taro is not None
    response = page.goto(f"/children/{taro.id}")
    assert response is not None and response.status == 200
    expect(page.locator("h1")).to_contain_text(taro.given_name)
    expect(page.locator("main")).not_to_contain_text(SERVICE)

    # The opt-out is in the export and in the downstream hide list.
    staff.goto("/staff/exports")
    assert rows_for(download_csv(staff), j1.sourced_id)
    staff.goto("/staff/api-keys")
    staff.fill("#name", "学習記録システム")
    staff.click("form[action='/staff/api-keys'] button[type=submit]")
    secret = staff.locator("#new-key").inner_text()
    listed = staff.request.get(
        f"{live_server.url}/api/v1/hide-list?service=manabi-drill&choice=hide-drill",
        headers={"Authorization": f"Bearer {secret}"},
    ).json()
    assert [entry["student_id"] for entry in listed["items"]] == [j1.sourced_id]

    # A guardian whose only child is at the primary school never sees the service.
    other = open_page(viewport="phone")
    _guardian_signs_in_by_mail(other, mailbox, OTHER)
    hrefs = [link.get_attribute("href") or "" for link in other.locator("main a[href^='/children/']").all()]
    assert hrefs
    for href in hrefs:
        other.goto(href)
        expect(other.locator("h1")).to_be_visible()
        expect(other.locator("main")).not_to_contain_text(SERVICE)

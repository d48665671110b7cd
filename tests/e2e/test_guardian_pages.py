"""The guardian's pages in a real browser: accessible, readable at 320 px, both languages.

A signed-in guardian (a real server-side session) with two children; the sign-in and
choice journeys themselves are separate tests.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.config import Settings
from app.domain.accounts.models import Account
from app.domain.catalog.models import ChoiceDefinition
from app.domain.people.models import Guardian
from app.surfaces.demo.seed import STORY_GUARDIAN_SOURCED_ID, seed_demo
from tests.e2e.conftest import VIEWPORTS, OpenPage
from tests.e2e.flows import confirmation_link
from tests.e2e.support import (
    Mailbox,
    axe,
    describe,
    horizontal_overflow,
    screenshot,
    sign_in_browser,
    small_targets,
)
from tests.guardian.factories import World, build_world, make_account


@pytest.fixture
def world(e2e_db: Session) -> World:
    world = build_world(e2e_db)
    e2e_db.commit()
    return world


def _pages(world: World) -> list[tuple[str, str]]:
    return [
        ("children", "/children"),
        ("child", f"/children/{world.hanako.id}"),
        ("history", f"/children/{world.hanako.id}/history"),
        ("notice", f"/children/{world.hanako.id}/notice"),
        ("data-requests", f"/children/{world.hanako.id}/data-requests"),
        ("language", "/account/language"),
    ]


# Vietnamese: another script's diacritics, and board content shown in Japanese with its note.
@pytest.mark.parametrize("lang", ["ja", "en", "vi"])
def test_guardian_pages_pass_axe_and_fit_320_pixels(
    open_page: OpenPage, e2e_db: Session, e2e_settings: Settings, world: World, lang: str
) -> None:
    for viewport in ("narrow", "desktop"):
        page = open_page(viewport=viewport, lang=lang)
        sign_in_browser(page, e2e_db, e2e_settings, world.account)
        for name, path in _pages(world):
            response = page.goto(path)
            assert response is not None and response.status == 200, path
            violations = axe(page)
            assert violations == [], f"{path}: {describe(violations)}"
            assert horizontal_overflow(page) == 0, path
            assert small_targets(page) == [], f"{path}: {small_targets(page)}"
            if lang == "ja":
                screenshot(page, f"guardian-{name}-ja-{viewport}")


# ---------------------------------------------------------------- phone first (390 × 844)

PHONE = VIEWPORTS["phone-390"]


def _demo_guardian(db: Session) -> tuple[Account, ChoiceDefinition, Guardian]:
    """The demo board; an account acting for its first guardian; the School Dashboard choice."""
    summary = seed_demo(db)
    guardian = db.scalar(select(Guardian).where(Guardian.sourced_id == STORY_GUARDIAN_SOURCED_ID))
    assert guardian is not None and guardian.email
    account = make_account(db, guardian)
    dashboard = db.scalar(
        select(ChoiceDefinition).where(
            ChoiceDefinition.board_id == summary.board_id, ChoiceDefinition.code == "dashboard_display"
        )
    )
    assert dashboard is not None
    db.commit()
    return account, dashboard, guardian


def _within_first_screen(page: Page, selector: str) -> None:
    box = page.locator(selector).bounding_box()
    assert box is not None, selector
    assert box["y"] >= 0 and box["y"] + box["height"] <= PHONE["height"], f"{selector}: {box}"


def test_school_dashboard_choice_is_on_the_first_screen_of_a_phone(
    open_page: OpenPage, e2e_db: Session, e2e_settings: Settings
) -> None:
    account, dashboard, _guardian = _demo_guardian(e2e_db)
    page = open_page(viewport="phone-390")
    sign_in_browser(page, e2e_db, e2e_settings, account)
    page.goto("/children")
    page.locator("main a[href^='/children/']").first.click()
    page.wait_for_url("**/children/*")
    choice = f"#choice-{dashboard.id}"
    # Its name, what is in effect now and the one button that opens it, without scrolling.
    _within_first_screen(page, f"{choice}-label")
    _within_first_screen(page, f"{choice} .choice__current")
    _within_first_screen(page, f"{choice} .choice__change > summary")
    expect(page.locator(f"{choice} .choice__current")).to_contain_text("表示する")
    # The form opens from that button; the services are one closed line each.
    expect(page.locator(f"{choice}-hide_some")).to_be_hidden()
    page.click(f"{choice} .choice__change > summary")
    expect(page.locator(f"{choice}-hide_some")).to_be_visible()
    services = page.locator("details.service")
    assert services.count() >= 10
    assert page.locator("details.service[open]").count() == 0
    first = services.first
    expect(first.locator("summary")).to_contain_text("扱うデータ")
    first.locator("summary").click()
    expect(first.locator("dl.facts")).to_be_visible()
    assert horizontal_overflow(page) == 0
    assert small_targets(page) == [], small_targets(page)
    violations = axe(page)
    assert violations == [], describe(violations)


@pytest.mark.parametrize("js", [False, True], ids=["nojs", "js"])
def test_hide_some_without_a_kind_lands_on_the_error(
    open_page: OpenPage, e2e_db: Session, e2e_settings: Settings, world: World, js: bool
) -> None:
    page = open_page(js=js, viewport="phone-390")
    sign_in_browser(page, e2e_db, e2e_settings, world.account)
    page.goto(f"/children/{world.hanako.id}")
    choice_id = world.dashboard_choice.id
    page.click(f"#choice-{choice_id} .choice__change > summary")
    page.check(f"#choice-{choice_id}-hide_some")
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        page.click(f"#choice-{choice_id} form[action*='/choices/'] button[type=submit]")
    if not js:
        # The whole page came back (422) and opened at the error summary, which has focus
        # and links to the first box to tick.
        assert answer.value.status == 422
        page.wait_for_load_state("load")
        summary = page.locator("#error-summary")
        expect(summary).to_be_focused()
        _within_first_screen(page, "#error-summary")
        assert page.evaluate("() => window.scrollY") > 0  # scrolled, not merely at the top
        link = summary.locator("a")
        expect(link).to_contain_text("1つ以上選んでください")
        link.click()
        expect(
            page.locator(f"#choice-{choice_id}-cat-{world.dashboard_choice.category_codes[0]}")
        ).to_be_visible()
    else:
        # htmx swapped the choice in place (200, ADR 0026) with its message, the form open.
        assert answer.value.status == 200
        error = page.locator(f"#choice-{choice_id}-error")
        expect(error).to_be_visible()
        box = error.bounding_box()
        assert box is not None and 0 <= box["y"] < PHONE["height"]
        assert "#error-summary" not in page.url


def test_phone_pages_after_a_confirmed_change_with_screenshots(
    open_page: OpenPage, e2e_db: Session, e2e_settings: Settings, mailbox: Mailbox
) -> None:
    """The demo's first child at 390 px: the page, then a change confirmed from the e-mail, the
    history with that change as one entry, and its receipt in words. Writes the screenshots
    docs/guardian.md shows (UPDATE_DOCS_SCREENSHOTS=1 copies them into docs/screenshots/)."""
    account, dashboard, guardian = _demo_guardian(e2e_db)
    page = open_page(viewport="phone-390")
    sign_in_browser(page, e2e_db, e2e_settings, account)
    page.goto("/children")
    page.locator("main a[href^='/children/']").first.click()
    page.wait_for_url("**/children/*")
    child_url = page.url
    screenshot(page, "guardian-child-ja-390")

    choice = f"#choice-{dashboard.id}"
    page.click(f"{choice} .choice__change > summary")
    page.check(f"{choice}-hide_some")
    page.check(f"{choice}-cat-grades")
    page.click(f"{choice} form[action*='/choices/'] button[type=submit]")
    expect(page.locator(f"{choice} .pending")).to_be_visible()
    page.goto(confirmation_link(mailbox, guardian.email or ""))
    page.click("main form:not([action$='/cancel']) button[type=submit]")
    expect(page.locator(".notice[role=status]")).to_be_visible()

    page.goto(f"{child_url}/history")
    entries = page.locator(".timeline__entry", has_text=dashboard.label)
    expect(entries).to_have_count(1)  # asked and confirmed: one entry, not two rows
    expect(entries.first).to_contain_text("申請")
    expect(entries.first).to_contain_text("確認済み（有効）")
    expect(entries.first).to_contain_text("成績")
    _readable_on_a_phone(page)
    screenshot(page, "guardian-history-ja-390")

    page.click(".timeline__entry a[href*='/receipts/']")
    page.wait_for_url("**/receipts/**")
    main = page.locator("main").inner_text()
    assert "（日本時間）" in main and "管轄\n日本" in main.replace("\t", "\n"), main
    assert re.search(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}", main) is None, main  # no ISO 8601 times
    _readable_on_a_phone(page)
    screenshot(page, "guardian-receipt-ja-390")


def _readable_on_a_phone(page: Page) -> None:
    """axe, and no sideways scrolling at 390 px or at the 320 px reflow width."""
    violations = axe(page)
    assert violations == [], describe(violations)
    assert horizontal_overflow(page) == 0
    page.set_viewport_size(VIEWPORTS["narrow"])
    assert horizontal_overflow(page) == 0, page.url
    assert small_targets(page) == [], small_targets(page)
    page.set_viewport_size(PHONE)

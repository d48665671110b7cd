"""The whole journey in a real browser, with JavaScript on (htmx) and off.

A guardian signs in through the loopback OpenID provider's page, links Hanako with the
code from the school's letter, hides her grades on the School Dashboard, confirms from the
e-mailed link and sees the receipt. A school admin signs in through the staff provider;
Hanako is in the CSV export once the choice is confirmed, and not before. Then the same
guardian journey by keyboard alone, with visible focus at every stop.
"""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.domain.choices.models import CurrentChoice
from tests.e2e.conftest import LiveServer, OpenPage
from tests.e2e.flows import (
    Journey,
    arrange_journey,
    authorize_at_provider,
    block_provider_cdn,
    confirmation_link,
    download_csv,
    expect_focused,
    rows_for,
    staff_sign_in,
    tab_to,
)
from tests.e2e.support import Mailbox, focus_is_visible


@pytest.fixture
def journey(e2e_db: Session, e2e_idp: Any, live_server: object) -> Journey:
    if e2e_idp is None:
        pytest.fail("tests/oidc.py is missing: the journey signs in through the loopback provider")
    return arrange_journey(e2e_db, e2e_idp)


def _current_choice(db: Session, journey: Journey) -> CurrentChoice | None:
    db.expire_all()
    return db.scalar(
        select(CurrentChoice).where(
            CurrentChoice.student_id == journey.world.hanako.id,
            CurrentChoice.definition_id == journey.world.dashboard_choice.id,
        )
    )


@pytest.mark.parametrize("js", [True, False], ids=["js", "nojs"])
def test_guardian_hides_grades_confirms_and_school_admin_exports(
    open_page: OpenPage,
    journey: Journey,
    mailbox: Mailbox,
    e2e_db: Session,
    live_server: LiveServer,
    js: bool,
) -> None:
    world = journey.world
    hanako = world.hanako
    choice_id = world.dashboard_choice.id

    # The school admin signs in first and finds no opt-out for Hanako yet.
    staff = open_page(js=js, viewport="desktop")
    staff_sign_in(staff, journey)
    staff.click("a[href='/staff/exports']")
    assert rows_for(download_csv(staff), hanako.sourced_id) == []

    # The guardian signs in through the provider's page.
    page = open_page(js=js)
    block_provider_cdn(page)
    page.goto("/")
    page.click("main a[href='/signin']")
    page.click("a[href^='/auth/login/test-guardian']")
    authorize_at_provider(page, journey.guardian_sub)

    # No child yet: the code from the letter.
    page.wait_for_url("**/link**")
    page.fill("#code", journey.code.lower())  # as typed on a phone: lower case is fine
    page.click("form[action='/link'] button[type=submit]")
    page.wait_for_url("**/children")
    page.click(f"a[href='/children/{hanako.id}']")
    expect(page.locator("h1")).to_contain_text(hanako.given_name)

    # Hide only grades on the School Dashboard: its form opens from the choice's one button.
    choice = page.locator(f"#choice-{choice_id}")
    choice.locator(".choice__change > summary").click()
    choice.locator(f"#choice-{choice_id}-hide_some").check()
    choice.locator(f"#choice-{choice_id}-cat-grades").check()
    choice.locator(f"form[action$='/choices/{choice_id}#error-summary'] button[type=submit]").click()
    pending = page.locator(f"#choice-{choice_id} .pending")
    expect(pending).to_be_visible()
    expect(pending).to_contain_text("成績")
    # With JavaScript htmx swapped the choice in place; without, the form posted and the
    # page came back at the choice's anchor.
    assert page.url.endswith(f"#choice-{choice_id}") is not js, page.url
    assert _current_choice(e2e_db, journey) is None  # nothing in effect until confirmed

    # Still not in the export while the request waits for confirmation.
    staff.goto("/staff/exports")
    assert rows_for(download_csv(staff), hanako.sourced_id) == []

    # The link from the e-mail (sent to the address the school has on file).
    link = confirmation_link(mailbox, journey.mother_email)
    page.goto(link)
    page.click("main form:not([action$='/cancel']) button[type=submit]")
    expect(page.locator(".notice[role=status]")).to_be_visible()
    page.click("a[href*='/receipts/']")
    expect(page.locator("main")).to_contain_text(hanako.family_name)
    receipt_url = page.url
    page.goto(link)  # the link works once
    expect(page.locator("h1")).to_have_text("このリンクはすでに使用されています")

    current = _current_choice(e2e_db, journey)
    assert current is not None and current.value == "hide_some" and current.category_codes == ["grades"]
    assert receipt_url.startswith(f"{live_server.url}/children/{hanako.id}/receipts/")

    # The receipt also came by e-mail, with the machine-readable receipt attached.
    receipt_mail = mailbox.wait_for(journey.mother_email, count=2)[-1]
    assert any(part.get_content_type() == "application/json" for part in receipt_mail.walk())

    # Now the school admin's export has Hanako, hiding grades.
    staff.goto("/staff/exports")
    rows = rows_for(download_csv(staff), hanako.sourced_id)
    assert len(rows) == 1, rows
    assert rows[0]["設定コード"] == "hide_some" and rows[0]["設定"] == "選んだ種類のデータだけ表示しない", (
        rows[0]
    )
    assert rows[0]["表示しないデータの種類（コード）"] == "grades", rows[0]


def test_guardian_journey_by_keyboard_alone(
    open_page: OpenPage, journey: Journey, mailbox: Mailbox, e2e_db: Session
) -> None:
    world = journey.world
    hanako = world.hanako
    choice_id = world.dashboard_choice.id
    page = open_page(js=True)
    block_provider_cdn(page)
    page.goto("/")

    # Sign-in choice.
    tab_to(page, "main a[href='/signin']")
    page.keyboard.press("Enter")
    page.wait_for_url("**/signin")
    tab_to(page, "a[href^='/auth/login/test-guardian']")
    page.keyboard.press("Enter")
    # The provider's page focuses its field itself (not our page: focus style not checked).
    page.wait_for_url("**/oauth2/authorize**")
    expect_focused(page, "input[name=sub]")
    page.keyboard.type(journey.guardian_sub)
    page.keyboard.press("Enter")

    # Code entry.
    page.wait_for_url("**/link**")
    tab_to(page, "#code")
    page.keyboard.type(journey.code)
    tab_to(page, "form[action='/link'] button[type=submit]")
    page.keyboard.press("Enter")
    page.wait_for_url("**/children")
    tab_to(page, f"a[href='/children/{hanako.id}']")
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/children/{hanako.id}")

    # Opening the choice's form: its button is a <summary>, opened with Enter.
    tab_to(page, f"#choice-{choice_id} .choice__change > summary")
    page.keyboard.press("Enter")
    expect(page.locator(f"#choice-{choice_id}-hide_some")).to_be_visible()

    # Choosing a value: Tab into the radio group (focus lands on the checked option),
    # arrows move within it, Space ticks a box.
    tab_to(page, f"input[name=value][id^='choice-{choice_id}-']")
    for _ in range(5):
        if page.evaluate("() => document.activeElement.value") == "hide_some":
            break
        page.keyboard.press("ArrowDown")
        assert focus_is_visible(page)
    expect(page.locator(f"#choice-{choice_id}-hide_some")).to_be_checked()
    tab_to(page, f"#choice-{choice_id}-cat-grades")
    page.keyboard.press("Space")
    expect(page.locator(f"#choice-{choice_id}-cat-grades")).to_be_checked()

    # Submitting.
    tab_to(page, f"#choice-{choice_id} form[action*='/choices/{choice_id}#'] button[type=submit]")
    page.keyboard.press("Enter")
    expect(page.locator(f"#choice-{choice_id} .pending")).to_be_visible()

    # Confirming from the e-mailed link.
    link = confirmation_link(mailbox, journey.mother_email)
    page.goto(link)
    tab_to(page, "main form:not([action$='/cancel']) button[type=submit]")
    page.keyboard.press("Enter")
    expect(page.locator(".notice[role=status]")).to_be_visible()
    tab_to(page, "a[href*='/receipts/']")
    page.keyboard.press("Enter")
    page.wait_for_url("**/receipts/**")
    current = _current_choice(e2e_db, journey)
    assert current is not None and current.value == "hide_some"

"""Every page, in Japanese and in English: axe-core finds nothing serious or critical, and
nothing scrolls sideways at 320 px. (The start, sign-in and 404 pages are checked the
same way in test_shell.py; the children list, child page and history without
any choice yet in test_guardian_pages.py; the staff console's pages in
test_staff_pages.py. Here: the pages those do not reach.) Japanese pages are also photographed at phone and
desktop width (test-artifacts/screenshots/page-<name>-ja-<width>.png).

Guardian and staff are signed in with real server-side sessions (the sign-in journey
itself is tests/e2e/test_journey.py); pages that only exist after an action (the e-mail
sign-in notice, the confirmed choice, the used and the expired link) are reached by doing
the action in the browser.
"""

from __future__ import annotations

import os
import shutil
from datetime import timedelta

import pytest
from playwright.sync_api import Page, ViewportSize, expect
from sqlalchemy import update
from sqlalchemy.orm import Session

from app.config import Settings
from app.db import utcnow
from app.domain.accounts.models import StaffRole
from app.domain.tokens.models import OneTimeToken
from tests.e2e.conftest import VIEWPORTS, OpenPage
from tests.e2e.support import (
    DOCS_SCREENSHOTS,
    Mailbox,
    axe,
    describe,
    horizontal_overflow,
    screenshot,
    sign_in_browser,
)
from tests.guardian.factories import World, build_world, make_staff_account
from tests.helpers import links_in

# The main pages photographed in Japanese at phone and desktop width (the start, sign-in
# and guardian pages are photographed by test_shell and test_guardian_pages).
PHOTOGRAPHED = {
    "link-code",
    "confirm",
    "confirmed",
    "receipt",
    "link-expired",
    "staff-student",
}

# Of those, the ones docs/ keeps (refreshed with UPDATE_DOCS_SCREENSHOTS=1, like
# KEY_SCREENSHOTS in support.py); docs/screenshots/ stays under 2 MB.
DOCS_KEPT = {"page-link-code-ja-phone", "page-confirm-ja-phone"}


class Sweep:
    """Checks the page as it is now; collects every problem so one run shows them all."""

    def __init__(self, lang: str) -> None:
        self.lang = lang
        self.problems: list[str] = []
        self.seen: list[str] = []

    def check(self, page: Page, name: str) -> None:
        self.seen.append(name)
        page.set_viewport_size(_size("narrow"))
        violations = axe(page)
        if violations:
            self.problems.append(f"{name} ({page.url}): axe {describe(violations)}")
        overflow = horizontal_overflow(page)
        if overflow:
            self.problems.append(f"{name} ({page.url}): {overflow} px horizontal scroll at 320 px")
        if self.lang == "ja" and (name in PHOTOGRAPHED or os.environ.get("SCREENSHOT_ALL_PAGES") == "1"):
            for width in ("phone", "desktop"):
                page.set_viewport_size(_size(width))
                path = screenshot(page, f"page-{name}-ja-{width}")
                if os.environ.get("UPDATE_DOCS_SCREENSHOTS") == "1" and path.stem in DOCS_KEPT:
                    shutil.copyfile(path, DOCS_SCREENSHOTS / path.name)
        page.set_viewport_size(_size("narrow"))

    def visit(self, page: Page, name: str, path: str, *, status: int | None = 200) -> None:
        """Open `path`; `status` None: a problem page, whatever its status."""
        response = page.goto(path)
        assert response is not None
        if status is not None and response.status != status:
            self.problems.append(f"{name} ({path}): HTTP {response.status}, expected {status}")
        self.check(page, name)


def _size(name: str) -> ViewportSize:
    return ViewportSize(width=VIEWPORTS[name]["width"], height=VIEWPORTS[name]["height"])


def _new_confirmation_link(mailbox: Mailbox, address: str, seen: set[str]) -> str:
    for count in range(1, 20):
        for message in mailbox.wait_for(address, count=count):
            for link in links_in(message):
                if "/confirm/" in link and link not in seen:
                    seen.add(link)
                    return link
    raise AssertionError("no new confirmation link")


@pytest.fixture
def world(e2e_db: Session) -> World:
    world = build_world(e2e_db)
    e2e_db.commit()
    return world


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_every_page_is_accessible_and_fits_320_pixels(
    open_page: OpenPage,
    e2e_db: Session,
    e2e_settings: Settings,
    world: World,
    mailbox: Mailbox,
    lang: str,
) -> None:
    sweep = Sweep(lang)
    hanako = world.hanako
    mother_email = world.mother.email or ""

    # Anyone.
    visitor = open_page(viewport="narrow", lang=lang)
    visitor.goto("/signin")
    visitor.fill("#email-address", mother_email)
    visitor.click("form[action='/signin/email'] button[type=submit]")
    visitor.wait_for_load_state()
    sweep.check(visitor, "email-sent")

    # A guardian.
    guardian = open_page(viewport="narrow", lang=lang)
    sign_in_browser(guardian, e2e_db, e2e_settings, world.account)
    sweep.visit(guardian, "link-code", "/link")
    guardian.goto(f"/children/{hanako.id}")

    seen: set[str] = set()
    photo = world.photo_choice.id
    guardian.click(f"#choice-{photo} .choice__change > summary")
    guardian.check(f"#choice-{photo}-deny")
    guardian.click(f"form[action$='/choices/{photo}#error-summary'] button[type=submit]")
    expect(guardian.locator(f"#choice-{photo} .pending")).to_be_visible()
    sweep.check(guardian, "child-pending")
    link = _new_confirmation_link(mailbox, mother_email, seen)
    sweep.visit(guardian, "confirm", link)
    guardian.click("main form:not([action$='/cancel']) button[type=submit]")
    expect(guardian.locator(".notice[role=status]")).to_be_visible()
    sweep.check(guardian, "confirmed")
    guardian.click("a[href*='/receipts/']")
    guardian.wait_for_url("**/receipts/**")
    sweep.check(guardian, "receipt")
    sweep.visit(guardian, "history", f"/children/{hanako.id}/history")  # now with rows
    sweep.visit(guardian, "link-used", link, status=None)

    # A second request whose link runs out before it is used.
    guardian.goto(f"/children/{hanako.id}")
    guardian.click(f"#choice-{photo} .choice__change > summary")
    guardian.check(f"#choice-{photo}-allow")
    guardian.click(f"form[action$='/choices/{photo}#error-summary'] button[type=submit]")
    expect(guardian.locator(f"#choice-{photo} .pending")).to_be_visible()
    expired = _new_confirmation_link(mailbox, mother_email, seen)
    e2e_db.execute(
        update(OneTimeToken)
        .where(OneTimeToken.purpose == "choice_confirmation", OneTimeToken.used_at.is_(None))
        .values(expires_at=utcnow() - timedelta(hours=1))
    )
    e2e_db.commit()
    sweep.visit(guardian, "link-expired", expired, status=None)

    # A board admin: the staff pages test_staff_pages.py does not open, and the student
    # with a pending request and a history.
    staff_account = make_staff_account(e2e_db)
    e2e_db.add(StaffRole(board_id=world.board.id, account_id=staff_account.id, role="board_admin"))
    e2e_db.commit()
    staff = open_page(viewport="narrow", lang=lang)
    sign_in_browser(staff, e2e_db, e2e_settings, staff_account)
    class_id = hanako.class_id
    for name, path in [
        ("staff-students", "/staff/students?q=%E5%B1%B1%E7%94%B0"),
        ("staff-student", f"/staff/students/{hanako.id}"),
        ("staff-service-new", "/staff/services/new"),
        ("staff-choices", "/staff/choices"),
        ("staff-definition", f"/staff/definitions/{photo}"),
        ("staff-providers", "/staff/providers"),
        ("staff-letters-class", f"/staff/letters/classes/{class_id}"),
    ]:
        sweep.visit(staff, name, path)
    staff.click(f"form[action='/staff/letters/classes/{class_id}'] button[type=submit]")
    staff.wait_for_load_state()
    sweep.check(staff, "staff-letters-print")

    assert sweep.problems == [], "\n\n".join(sweep.problems)

"""Arranging data and driving the journey in the browser, shared by the journey tests.

The world is tests/guardian/factories.py's (a board, one school, two families, a School
Dashboard with the display choice and Microsoft Teams with the photo choice); on top of
it a fresh enrolment code for the mother–Hanako pair, as a printed letter would carry,
and an invitation for a school admin, which binds at their first sign-in.
"""

from __future__ import annotations

import csv
import io
import itertools
from dataclasses import dataclass
from pathlib import Path

from playwright.sync_api import Page, expect
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.domain.accounts.linking import issue_enrolment_code
from app.domain.accounts.models import StaffRole
from app.domain.people.models import GuardianStudent
from tests.e2e.support import Mailbox, focus_is_visible
from tests.guardian.factories import World, build_world
from tests.helpers import links_in

_serial = itertools.count(1)


@dataclass
class Journey:
    world: World
    mother_email: str  # the address the school has on file, where confirmations go
    code: str  # the enrolment code on the mother's letter for Hanako
    guardian_sub: str  # the mother's identity at the loopback provider
    staff_sub: str  # the school admin's identity there
    staff_email: str


def arrange_journey(db: Session, idp: object) -> Journey:
    """The world, a letter code, a school-admin invitation, and both identities at the provider."""
    world = build_world(db)
    pair = db.scalar(
        select(GuardianStudent).where(
            GuardianStudent.guardian_id == world.mother.id, GuardianStudent.student_id == world.hanako.id
        )
    )
    assert pair is not None
    code = issue_enrolment_code(db, pair)
    n = next(_serial)
    staff_email = f"school-admin-{n}@school.example.jp"
    db.add(
        StaffRole(
            board_id=world.board.id, school_id=world.school.id, invited_email=staff_email, role="school_admin"
        )
    )
    db.commit()
    guardian_sub = f"parent-{n}"
    staff_sub = f"teacher-{n}"
    # The provider's address for the parent is not the one on file: linking is by the code.
    idp.set_user(guardian_sub, email=f"parent-{n}@mail.example.com", email_verified=True)  # type: ignore[attr-defined]
    idp.set_user(staff_sub, email=staff_email, email_verified=True)  # type: ignore[attr-defined]
    return Journey(
        world=world,
        mother_email=world.mother.email or "",
        code=code,
        guardian_sub=guardian_sub,
        staff_sub=staff_sub,
        staff_email=staff_email,
    )


def block_provider_cdn(page: Page) -> None:
    """The mock provider's page links a stylesheet on a CDN; the test machine is offline."""
    page.context.route("https://cdn.jsdelivr.net/**", lambda route: route.abort())


def authorize_at_provider(page: Page, sub: str) -> None:
    """On the provider's page: type who you are and press Authorize, as a person would."""
    page.wait_for_url("**/oauth2/authorize**")
    page.fill("input[name=sub]", sub)
    page.click("button[type=submit]:not([name])")


def confirmation_link(mailbox: Mailbox, address: str, count: int = 1) -> str:
    """The /confirm/ link in the newest confirmation e-mail to `address`."""
    message = mailbox.wait_for(address, count=count)[-1]
    links = [link for link in links_in(message) if "/confirm/" in link]
    assert links, f"no confirmation link in: {message['Subject']}"
    return links[0]


def download_csv(page: Page) -> list[dict[str, str]]:
    """On the exports page: CSV (UTF-8), all filters open, Download; the rows as dicts."""
    page.select_option("#format", "csv")
    with page.expect_download() as info:
        page.click("form[action='/staff/exports'] button[type=submit]")
    path = info.value.path()
    text = Path(path).read_text(encoding="utf-8-sig")
    return list(csv.DictReader(io.StringIO(text)))


def rows_for(rows: list[dict[str, str]], roster_id: str) -> list[dict[str, str]]:
    return [row for row in rows if roster_id in row.values()]


def staff_sign_in(page: Page, journey: Journey) -> None:
    """The school admin signs in through the staff provider and lands on the staff console."""
    block_provider_cdn(page)
    page.goto("/signin")
    page.click("a[href^='/auth/login/test-staff']")
    authorize_at_provider(page, journey.staff_sub)
    page.wait_for_url("**/staff")


# ---------------------------------------------------------------- keyboard


def focused_outer_html(page: Page) -> str:
    return str(page.evaluate("() => (document.activeElement || document.body).outerHTML.slice(0, 160)"))


def tab_to(page: Page, selector: str, *, limit: int = 60, check_focus: bool = True) -> None:
    """Press Tab until the focused element matches `selector`; every stop must show focus.

    Waits for the page's load event first: until the stylesheet has arrived the computed
    style has no focus outline (seen on a busy machine right after a form submission).
    """
    page.wait_for_load_state("load")
    for _ in range(limit):
        page.keyboard.press("Tab")
        if check_focus:
            assert focus_is_visible(page), f"{page.url}: no visible focus on {focused_outer_html(page)}"
        if page.evaluate("(selector) => !!document.activeElement?.matches(selector)", selector):
            return
    raise AssertionError(f"{page.url}: {selector} not reached in {limit} Tab presses")


def expect_focused(page: Page, selector: str) -> None:
    expect(page.locator(selector)).to_be_focused()

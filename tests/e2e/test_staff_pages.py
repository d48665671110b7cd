"""The staff console in a real browser: accessible, readable at 320 px, both languages.

A board administrator (a real server-side session) over one school with a student who
has a confirmed dashboard opt-out; the export and roster journeys are separate tests.
"""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect
from sqlalchemy.orm import Session

from app.config import Settings
from tests.e2e.conftest import OpenPage
from tests.e2e.support import (
    axe,
    describe,
    horizontal_overflow,
    screenshot,
    sign_in_browser,
    small_targets,
)
from tests.staff import factories as f


@pytest.fixture
def arranged(e2e_db: Session) -> dict[str, Any]:
    board = f.board(e2e_db)
    school = f.school(e2e_db, board)
    klass = f.school_class(e2e_db, school)
    hanako = f.student(e2e_db, school, klass=klass, number=12)
    f.guardian(e2e_db, board, hanako, "yoko.yamada@example.jp")
    service, _version, definition = f.dashboard_service(e2e_db, board)
    f.confirmed(e2e_db, definition, hanako, "hide_all")
    admin = f.staff(e2e_db, board, "board_admin")
    e2e_db.commit()
    return {"admin": admin, "student": hanako, "service": service}


def _pages(arranged: dict[str, Any]) -> list[tuple[str, str]]:
    return [
        ("home", "/staff"),
        ("students", "/staff/students"),
        ("student", f"/staff/students/{arranged['student'].id}"),
        ("record", f"/staff/students/{arranged['student'].id}/record"),
        ("services", "/staff/services"),
        ("service", f"/staff/services/{arranged['service'].id}"),
        ("service-edit", f"/staff/services/{arranged['service'].id}/edit"),
        ("coverage", f"/staff/services/{arranged['service'].id}/coverage"),
        ("reviews", f"/staff/services/{arranged['service'].id}/reviews"),
        ("notice", "/staff/notice"),
        ("translations", "/staff/translations?lang=vi"),
        ("translations-service", f"/staff/translations?lang=en&service={arranged['service'].id}"),
        ("reach", "/staff/reach"),
        ("retention", "/staff/retention"),
        ("student-messages", "/staff/student-messages"),
        ("requests", "/staff/requests"),
        ("downstream", "/staff/downstream"),
        ("incident-new", f"/staff/services/{arranged['service'].id}/incidents/new"),
        ("exports", "/staff/exports"),
        ("roster", "/staff/roster"),
        ("carry-over", "/staff/choices/import"),
        ("api-keys", "/staff/api-keys"),
        ("audit", "/staff/audit"),
        ("roles", "/staff/roles"),
        ("letters", "/staff/letters"),
    ]


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_staff_pages_pass_axe_and_fit_320_pixels(
    open_page: OpenPage, e2e_db: Session, e2e_settings: Settings, arranged: dict[str, Any], lang: str
) -> None:
    for viewport in ("narrow", "desktop"):
        page = open_page(viewport=viewport, lang=lang)
        sign_in_browser(page, e2e_db, e2e_settings, arranged["admin"])
        for name, path in _pages(arranged):
            response = page.goto(path)
            assert response is not None and response.status == 200, path
            violations = axe(page)
            assert violations == [], f"{path}: {describe(violations)}"
            assert horizontal_overflow(page) == 0, path
            assert small_targets(page) == [], f"{path}: {small_targets(page)}"
            if viewport == "desktop":
                # At a school office's 1280 px, tables wrap within the page: none scrolls sideways.
                clipped = page.evaluate(
                    "[...document.querySelectorAll('.table-scroll')]"
                    ".filter(box => box.scrollWidth > box.clientWidth + 1).length"
                )
                assert clipped == 0, f"{path}: {clipped} table(s) wider than the page"
            if lang == "ja":
                screenshot(page, f"staff-{name}-ja-{viewport}")


def test_a_refused_staff_form_without_javascript_opens_at_its_error_summary(
    open_page: OpenPage, e2e_db: Session, e2e_settings: Settings, arranged: dict[str, Any]
) -> None:
    """The retention policy form sits low on its page; the 422 answer opens with the summary
    in view and focused (autofocus), its link leading to the field."""
    page = open_page(js=False, viewport="phone")
    sign_in_browser(page, e2e_db, e2e_settings, arranged["admin"])
    page.goto("/staff/retention")
    page.fill("#student_years", "many")
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        page.click("form[action^='/staff/retention/policy'] button[type=submit]")
    assert answer.value.status == 422
    page.wait_for_load_state("load")
    summary = page.locator("#policy-errors")
    expect(summary).to_be_focused()
    box = summary.bounding_box()
    height = page.viewport_size["height"] if page.viewport_size else 0
    assert box is not None and box["y"] >= 0 and box["y"] + box["height"] <= height, box
    assert page.evaluate("() => window.scrollY") > 0
    summary.locator("a[href='#student_years']").click()
    expect(page.locator("#student_years")).to_be_in_viewport()

"""The student's own page in a real browser: accessible, readable at 320 px, in easy Japanese
with furigana for an elementary pupil and in English (ADR 0085)."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from app.config import Settings
from app.domain.accounts.models import Account
from app.domain.accounts.students import match_student
from tests.e2e.conftest import OpenPage
from tests.e2e.support import axe, describe, horizontal_overflow, screenshot, sign_in_browser, small_targets
from tests.guardian.factories import build_world


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_the_student_page_passes_axe_and_fits_320_pixels(
    open_page: OpenPage, e2e_db: Session, e2e_settings: Settings, lang: str
) -> None:
    world = build_world(e2e_db)
    account = Account(issuer="https://students.test", subject="s-hanako", kind="student")
    e2e_db.add(account)
    e2e_db.flush()
    assert match_student(e2e_db, account, board_code=world.board.code, roster_id=world.hanako.sourced_id)
    e2e_db.commit()
    for viewport in ("narrow", "desktop"):
        page = open_page(viewport=viewport, lang=lang)
        sign_in_browser(page, e2e_db, e2e_settings, account)
        response = page.goto("/student")
        assert response is not None and response.status == 200
        if lang == "ja":
            assert page.locator("ruby").count() > 0  # furigana for a third-grader
        violations = axe(page)
        assert violations == [], describe(violations)
        assert horizontal_overflow(page) == 0
        assert small_targets(page) == [], small_targets(page)
        if lang == "ja":
            screenshot(page, f"student-home-ja-{viewport}")

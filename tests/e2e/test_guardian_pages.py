"""The guardian's pages in a real browser: accessible, readable at 320 px, both languages.

A signed-in guardian (a real server-side session) with two children; the sign-in and
choice journeys themselves are separate tests.
"""

from __future__ import annotations

import pytest
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
from tests.guardian.factories import World, build_world


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

"""The building blocks of static/app.css, all on one page (tests/e2e/showcase.html).

Colleagues' pages are made of these classes; checking them here — contrast, target size,
reflow at 320 px, print layout — means a page assembled from them starts out right.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest
from playwright.sync_api import Page, expect

from app.i18n import current_language
from app.surfaces.web import templates_env
from tests.e2e.conftest import OpenPage
from tests.e2e.support import (
    PAGE_PROBLEMS,
    axe,
    describe,
    horizontal_overflow,
    screenshot,
    small_targets,
)

SHOWCASE = Path(__file__).with_name("showcase.html")


def _show(page: Page) -> None:
    """Render the showcase with the app's templates and CSS, on the app's origin."""
    token = current_language.set("ja")
    try:
        html = templates_env.from_string(SHOWCASE.read_text(encoding="utf-8")).render(
            request=SimpleNamespace(url=SimpleNamespace(query="")),
            lang="ja",
            csrf_token="showcase",
            principal=None,
            current_path="/showcase",
        )
    finally:
        current_language.reset(token)
    page.goto("/")  # same origin, so /static/... resolves against the served app
    page.set_content(html, wait_until="load")
    expect(page.get_by_role("heading", level=1)).to_have_text("部品一覧（スタイルの確認用）")


@pytest.mark.parametrize("viewport", ["narrow", "desktop"])
def test_building_blocks_pass_axe_and_fit_320_pixels(open_page: OpenPage, viewport: str) -> None:
    page = open_page(viewport=viewport)
    _show(page)
    violations = axe(page)
    assert violations == [], describe(violations)
    assert small_targets(page) == []
    assert horizontal_overflow(page) == 0
    screenshot(page, f"components-ja-{viewport}")


def test_wide_table_scrolls_inside_its_container_by_keyboard(open_page: OpenPage) -> None:
    page = open_page(viewport="narrow")
    _show(page)
    region = page.get_by_role("region", name="表示しない児童生徒（3人）")
    sizes = region.evaluate("el => [el.scrollWidth, el.clientWidth]")
    assert sizes[0] > sizes[1], "the table should be wider than the phone and scroll in its box"
    region.focus()
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    # Keyboard scrolling may animate: wait for it rather than read it at once.
    page.wait_for_function("el => el.scrollLeft > 0", arg=region.element_handle(), timeout=5000)
    assert horizontal_overflow(page) == 0


def test_form_errors_are_tied_to_their_fields(open_page: OpenPage) -> None:
    page = open_page(viewport="phone")
    _show(page)
    code = page.get_by_label("お手紙のコード")
    expect(code).to_have_attribute("aria-invalid", "true")
    expect(code).to_have_accessible_description(
        "学校から配られたお手紙に書かれている16文字のコードです。 お手紙のコードを入力してください"
    )
    page.get_by_role("alert").get_by_role("link", name="お手紙のコードを入力してください").click()
    expect(code).to_be_focused()


def test_print_layout_shows_only_the_letter_content(open_page: OpenPage) -> None:
    page = open_page(viewport="desktop")
    _show(page)
    page.emulate_media(media="print")
    expect(page.locator(".site-header")).to_be_hidden()
    expect(page.locator(".site-footer")).to_be_hidden()
    expect(page.locator(".letter__code").first).to_be_visible()
    # One guardian per sheet: a page break after each letter but the last.
    breaks = page.locator(".letter").evaluate_all("els => els.map(el => getComputedStyle(el).breakAfter)")
    assert breaks == ["page", "auto"]


def test_inline_style_blocked_by_the_csp_is_reported(open_page: OpenPage) -> None:
    """The watcher that fails every browser test on a CSP violation really sees one."""
    page = open_page()
    page.goto("/")
    page.evaluate(
        """() => { const el = document.createElement("div");
                   el.innerHTML = "<style>body { color: red }</style>";
                   document.body.append(el); }"""
    )
    page.wait_for_timeout(200)
    problems = PAGE_PROBLEMS[page]
    assert any("Content Security Policy" in p for p in problems), problems
    problems.clear()  # expected here; any other test fails on it

"""The app shell in a real browser: pages open to everyone, and the language switch.

Both languages, phone and desktop widths, JavaScript on and off. The journeys over the
guardian and staff pages build on the same fixtures (tests/e2e/conftest.py).
"""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import OpenPage
from tests.e2e.support import (
    axe,
    describe,
    focus_is_visible,
    horizontal_overflow,
    screenshot,
    small_targets,
)

# The pages that exist before sign-in: (name, path, expected HTTP status).
PAGES = [
    ("start", "/", 200),
    ("not-found", "/no-such-page", 404),
    ("signin", "/signin", 200),
    ("signin-link-invalid", "/signin/email/not-a-real-link", 400),
]
HEADINGS = {
    ("start", "ja"): "お子さまのデータを扱うクラウドサービスを確認し、選択できます",
    ("start", "en"): "See which cloud services hold your child's data, and choose",
    ("not-found", "ja"): "ページが見つかりません",
    ("not-found", "en"): "Page not found",
    ("signin", "ja"): "サインイン",
    ("signin", "en"): "Sign in",
    ("signin-link-invalid", "ja"): "サインイン用リンクが正しくありません",
    ("signin-link-invalid", "en"): "The sign-in link is not valid",
}


def _visit(page: Page, path: str, status: int) -> None:
    response = page.goto(path)
    assert response is not None and response.status == status


@pytest.mark.parametrize("lang", ["ja", "en"])
@pytest.mark.parametrize(("name", "path", "status"), PAGES)
def test_pages_have_no_serious_accessibility_violations(
    open_page: OpenPage, name: str, path: str, status: int, lang: str
) -> None:
    for viewport in ("phone", "desktop"):
        page = open_page(viewport=viewport, lang=lang)
        _visit(page, path, status)
        expect(page.locator("html")).to_have_attribute("lang", lang)
        expect(page.get_by_role("heading", level=1)).to_have_text(HEADINGS[(name, lang)])
        violations = axe(page)
        assert violations == [], describe(violations)
        if lang == "ja":
            screenshot(page, f"{name}-ja-{viewport}")


@pytest.mark.parametrize("lang", ["ja", "en"])
@pytest.mark.parametrize(("name", "path", "status"), PAGES)
def test_320_pixels_wide_without_horizontal_scrolling(
    open_page: OpenPage, name: str, path: str, status: int, lang: str
) -> None:
    page = open_page(viewport="narrow", lang=lang)
    _visit(page, path, status)
    assert horizontal_overflow(page) == 0
    # The language switch and the main heading are on screen, not pushed off the side.
    for locator in (page.locator(".language-switch"), page.get_by_role("heading", level=1)):
        box = locator.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 320


@pytest.mark.parametrize("viewport", ["narrow", "desktop"])
def test_every_control_is_at_least_44_pixels(open_page: OpenPage, viewport: str) -> None:
    page = open_page(viewport=viewport)
    _visit(page, "/", 200)
    assert small_targets(page) == []


def test_skip_link_is_first_visible_on_focus_and_moves_to_main(open_page: OpenPage) -> None:
    page = open_page(viewport="phone")
    _visit(page, "/", 200)
    skip = page.locator(".skip-link")
    page.keyboard.press("Tab")
    expect(skip).to_be_focused()
    expect(skip).to_have_text("本文へ移動")
    box = skip.bounding_box()
    assert box is not None and box["y"] >= 0 and box["height"] >= 44, "skip link is off screen"
    assert focus_is_visible(page)
    screenshot(page, "skip-link-focus-ja-phone")
    page.keyboard.press("Enter")
    expect(page.locator("main")).to_be_focused()
    # The next Tab continues inside the main content, not back in the header.
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.querySelector('main').contains(document.activeElement)")
    assert focus_is_visible(page)


@pytest.mark.parametrize("js", [True, False], ids=["js", "no-js"])
def test_keyboard_alone_reaches_and_uses_the_language_switch(open_page: OpenPage, js: bool) -> None:
    page = open_page(js=js, viewport="desktop")
    _visit(page, "/", 200)
    english = page.get_by_role("button", name="English")
    summary = page.locator(".language-switch__summary")
    for _ in range(15):
        page.keyboard.press("Tab")
        assert focus_is_visible(page), page.evaluate("() => document.activeElement.outerHTML")
        if page.evaluate("() => document.activeElement.classList.contains('language-switch__summary')"):
            break
    expect(summary).to_be_focused()
    page.keyboard.press("Enter")  # opens the list of languages (a <details>: no script needed)
    for _ in range(15):
        page.keyboard.press("Tab")
        assert focus_is_visible(page), page.evaluate("() => document.activeElement.outerHTML")
        if page.evaluate("() => document.activeElement.lang === 'en'"):
            break
    expect(english).to_be_focused()
    page.keyboard.press("Enter")
    page.wait_for_load_state()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("heading", level=1)).to_have_text(HEADINGS[("start", "en")])


@pytest.mark.parametrize("js", [True, False], ids=["js", "no-js"])
def test_language_switch_stays_on_the_page_and_is_remembered(open_page: OpenPage, js: bool) -> None:
    page = open_page(js=js, viewport="phone", lang="ja")
    _visit(page, "/no-such-page?from=letter", 404)
    expect(page.get_by_role("heading", level=1)).to_have_text("ページが見つかりません")
    page.locator(".language-switch__summary").click()
    page.get_by_role("button", name="English").click()
    # Back on the same page, query string included, now in English.
    page.wait_for_url("**/no-such-page?from=letter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Page not found")
    expect(page.locator(".language-switch__current")).to_have_text("English")

    # Remembered: another page, and a new tab of the same browser, despite Accept-Language ja.
    _visit(page, "/", 200)
    expect(page.locator("html")).to_have_attribute("lang", "en")
    second = page.context.new_page()
    second.goto("/")
    expect(second.get_by_role("heading", level=1)).to_have_text(HEADINGS[("start", "en")])

    # And back to Japanese.
    second.locator(".language-switch__summary").click()
    second.get_by_role("button", name="日本語").click()
    expect(second.get_by_role("heading", level=1)).to_have_text(HEADINGS[("start", "ja")])
    page.reload()
    expect(page.locator("html")).to_have_attribute("lang", "ja")


@pytest.mark.parametrize("lang", ["zh-Hans", "vi", "pt-BR", "fil", "ne", "ja-x-easy"])
def test_every_language_reads_at_320_pixels_with_the_picker_open(open_page: OpenPage, lang: str) -> None:
    """Each guardian language: the browser's (or the picker's) choice, accessible and
    readable at 320 px with the list of languages open."""
    page = open_page(viewport="narrow", lang=lang if lang != "ja-x-easy" else "ja")
    _visit(page, "/", 200)
    if lang == "ja-x-easy":  # no browser asks for it: picked in the header
        page.locator(".language-switch__summary").click()
        page.get_by_role("button", name="やさしい にほんご").click()
        page.wait_for_load_state()
    expect(page.locator("html")).to_have_attribute("lang", lang)
    page.locator(".language-switch__summary").click()
    expect(page.locator(".language-switch__current")).to_have_attribute("lang", lang)
    assert horizontal_overflow(page) == 0
    assert small_targets(page) == []
    violations = axe(page)
    assert violations == [], describe(violations)
    if lang == "vi":
        screenshot(page, "language-picker-vi-narrow")


def test_language_follows_accept_language_until_chosen(open_page: OpenPage) -> None:
    english_browser = open_page(lang="en")
    _visit(english_browser, "/", 200)
    expect(english_browser.locator("html")).to_have_attribute("lang", "en")
    japanese_browser = open_page(lang="ja")
    _visit(japanese_browser, "/", 200)
    expect(japanese_browser.locator("html")).to_have_attribute("lang", "ja")
    expect(japanese_browser.get_by_role("link", name="サインイン").first).to_be_visible()


def test_expired_form_page_is_understandable_and_accessible(open_page: OpenPage) -> None:
    """A form posted after its CSRF cookie is gone gets a clear page in the user's language."""
    page = open_page()
    _visit(page, "/", 200)
    page.context.clear_cookies()
    page.locator(".language-switch__summary").click()
    page.get_by_role("button", name="English").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("このフォームは有効期限が切れています")
    assert axe(page) == []
    expect(page.get_by_role("link", name="トップページへ戻る")).to_be_visible()

"""Helpers for the browser tests: axe-core, screenshots, overflow, target size, focus."""

from __future__ import annotations

import json
import os
import shutil
import time
import weakref
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from playwright.sync_api import ConsoleMessage, Error, Page

from tests.helpers import SmtpSink

ROOT = Path(__file__).resolve().parents[2]
AXE_JS = ROOT / "frontend" / "node_modules" / "axe-core" / "axe.min.js"
ARTIFACTS = ROOT / "test-artifacts" / "screenshots"
DOCS_SCREENSHOTS = ROOT / "docs" / "screenshots"
SERIOUS = ("serious", "critical")
# The screenshots docs/ keeps (refreshed with UPDATE_DOCS_SCREENSHOTS=1); the rest stay in
# test-artifacts/.
KEY_SCREENSHOTS = {
    "start-ja-phone",
    "start-ja-desktop",
    "signin-ja-phone",
    "signin-ja-desktop",
    "not-found-ja-phone",
    "skip-link-focus-ja-phone",
    "guardian-child-ja-narrow",
    "guardian-child-ja-desktop",
    "guardian-history-ja-desktop",
    "guardian-child-ja-390",
    "guardian-history-ja-390",
    "guardian-receipt-ja-390",
    "staff-student-ja-desktop",
    "staff-exports-ja-narrow",
    "components-ja-narrow",
    "components-ja-desktop",
}

# Pages opened with JavaScript off (open_page registers them): axe-core cannot run there,
# because its timers never fire; audit the same page in a JavaScript-on context instead
# (the server sends the same HTML either way).
NO_JS_PAGES: weakref.WeakSet[Page] = weakref.WeakSet()

# What the browser reported per page: Content-Security-Policy violations (an inline
# style or script that the CSP blocks, so the page looks or behaves differently than in
# the template) and uncaught JavaScript errors. open_page fails the test on any of them.
PAGE_PROBLEMS: weakref.WeakKeyDictionary[Page, list[str]] = weakref.WeakKeyDictionary()


def watch(page: Page) -> Page:
    """Record CSP violations and uncaught script errors of `page` in PAGE_PROBLEMS."""
    problems = PAGE_PROBLEMS.setdefault(page, [])

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error" and "Content Security Policy" in message.text:
            problems.append(f"{page.url}: {message.text}")

    def on_error(error: Error) -> None:
        problems.append(f"{page.url}: uncaught {error.name}: {error.message}")

    page.on("console", on_console)
    page.on("pageerror", on_error)
    return page


def axe(page: Page, *, impacts: tuple[str, ...] = SERIOUS) -> list[dict[str, Any]]:
    """Run axe-core on the page as it is now; return violations of the given impacts.

    The app's CSP (script-src 'self') blocks the inline <script> that
    `page.add_script_tag` would insert, so axe is evaluated through the DevTools
    protocol (`page.evaluate`), which CSP does not govern; the page's own policy stays
    in force for everything else. WCAG 2.2's target-size rule is switched on.
    """
    if page in NO_JS_PAGES:
        raise ValueError("axe-core needs JavaScript: audit this page in a js=True context")
    if not AXE_JS.exists():
        raise FileNotFoundError(f"{AXE_JS} is missing: run `make install` (npm ci in frontend/)")
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.evaluate(AXE_JS.read_text(encoding="utf-8"))
    result = page.evaluate(
        """async () => {
            const results = await window.axe.run(document, {
                resultTypes: ["violations"],
                rules: { "target-size": { enabled: true } },
            });
            return results.violations.map((v) => ({
                id: v.id, impact: v.impact, help: v.help, helpUrl: v.helpUrl,
                nodes: v.nodes.map((n) => ({ target: n.target, html: n.html, summary: n.failureSummary })),
            }));
        }"""
    )
    return [v for v in result if v["impact"] in impacts]


def describe(violations: list[dict[str, Any]]) -> str:
    """Readable assertion message for axe violations."""
    return json.dumps(violations, ensure_ascii=False, indent=2)


def screenshot(page: Page, name: str) -> Path:
    """Full-page PNG in test-artifacts/screenshots/<name>.png (gitignored).

    With UPDATE_DOCS_SCREENSHOTS=1 the ones named in KEY_SCREENSHOTS are also written to
    docs/screenshots/, which keeps the handful the documentation shows.
    """
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True, animations="disabled")
    if os.environ.get("UPDATE_DOCS_SCREENSHOTS") == "1" and name in KEY_SCREENSHOTS:
        DOCS_SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, DOCS_SCREENSHOTS / path.name)
    return path


def horizontal_overflow(page: Page) -> int:
    """How many CSS pixels the page is wider than the viewport (0 = no horizontal scroll)."""
    return int(
        page.evaluate("() => document.scrollingElement.scrollWidth - document.scrollingElement.clientWidth")
    )


def small_targets(page: Page, minimum: int = 44) -> list[str]:
    """Controls smaller than minimum x minimum CSS px (links inside running text are exempt)."""
    found: list[str] = page.evaluate(
        """(minimum) => {
            const selector = "button, select, textarea, input:not([type=hidden]), .button, "
                + "nav a, .language-switch__summary, .language-switch__current, .skip-link";
            const out = [];
            for (const el of document.querySelectorAll(selector)) {
                const box = el.getBoundingClientRect();
                const style = getComputedStyle(el);
                if (style.display === "none" || style.visibility === "hidden") continue;
                if (!el.getClientRects().length) continue;  // not rendered, e.g. in a closed <details>
                if (el.classList.contains("skip-link") && document.activeElement !== el) continue;
                let w = box.width, h = box.height;
                if ((el.type === "checkbox" || el.type === "radio") && el.labels && el.labels.length) {
                    // Clicking the label works the control: the target is input and label together.
                    let l = box.left, t = box.top, r = box.right, b = box.bottom;
                    for (const label of el.labels) {
                        const lb = label.getBoundingClientRect();
                        l = Math.min(l, lb.left); t = Math.min(t, lb.top);
                        r = Math.max(r, lb.right); b = Math.max(b, lb.bottom);
                    }
                    w = r - l; h = b - t;
                }
                if (w + 0.5 < minimum || h + 0.5 < minimum) {
                    out.push(`${el.outerHTML.slice(0, 120)} (${Math.round(w)}x${Math.round(h)})`);
                }
            }
            return out;
        }""",
        minimum,
    )
    return found


def focus_is_visible(page: Page) -> bool:
    """The focused element draws a focus indicator (outline or box-shadow)."""
    return bool(
        page.evaluate(
            """() => {
                const el = document.activeElement;
                if (!el || el === document.body) return false;
                const s = getComputedStyle(el);
                const outline = s.outlineStyle !== "none" && parseFloat(s.outlineWidth) >= 2;
                return outline || (s.boxShadow && s.boxShadow !== "none");
            }"""
        )
    )


class Mailbox:
    """The messages the served app sent during one test (the SMTP sink lives all session).

    The app dispatches its outbox in a background thread every couple of seconds, so
    `wait_for` polls until the message arrives.
    """

    def __init__(self, sink: SmtpSink) -> None:
        self.sink = sink
        self.start = len(sink.messages)

    @property
    def messages(self) -> list[EmailMessage]:
        return self.sink.messages[self.start :]

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if address in str(m["To"])]

    def wait_for(self, address: str, count: int = 1, timeout: float = 15.0) -> list[EmailMessage]:
        deadline = time.monotonic() + timeout
        while True:
            found = self.to(address)
            if len(found) >= count:
                return found
            if time.monotonic() > deadline:
                raise AssertionError(f"{len(found)} of {count} message(s) to {address} after {timeout}s")
            time.sleep(0.1)


def sign_in_browser(page: Page, db: Any, settings: Any, account: Any) -> None:
    """Give the page's browser a real server-side session for `account`.

    For checking pages behind sign-in (layout, axe); the sign-in journey itself goes
    through the loopback OpenID provider (e2e_idp).
    """
    from fastapi import Response

    from app.surfaces.sessions import SESSION_COOKIE, start_session

    response = Response()
    start_session(db, response, settings, account)
    db.commit()
    cookie = response.headers["set-cookie"].split(";")[0].split("=", 1)[1]
    page.context.add_cookies([{"name": SESSION_COOKIE, "value": cookie, "url": settings.base_url}])

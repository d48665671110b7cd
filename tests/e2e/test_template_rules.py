"""Rules every template must follow so that the strict CSP and the shell keep working.

Cheap static checks that fail with the file and line, before a browser ever sees the page:
no inline script, no inline style or style attribute, no hx-on handlers (CSP), a
scrolling table box is keyboard-focusable, every POST form carries the CSRF token, and
every page extends base.html (skip link, language switch, landmarks).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = ROOT / "templates"
HTML = sorted(TEMPLATES.rglob("*.html"))

FORBIDDEN = [
    (re.compile(r"<script(?![^>]*\ssrc=)[^>]*>", re.I), "inline <script> (CSP script-src 'self')"),
    (re.compile(r"<style[\s>]", re.I), "<style> element (CSP style-src 'self'): use static/app.css"),
    (re.compile(r"\sstyle\s*=", re.I), "style= attribute (CSP): use a class from static/app.css"),
    (re.compile(r"\shx-on[:-]", re.I), "hx-on handler (CSP forbids eval): use static/app.js"),
    (re.compile(r"\son[a-z]+\s*=\s*[\"']", re.I), "inline event handler (CSP)"),
    (re.compile(r"javascript:", re.I), "javascript: URL (CSP)"),
    (
        re.compile(r"class=\"table-scroll\"(?![^>]*tabindex=\"0\")", re.I),
        'table-scroll without tabindex="0" (keyboard users must be able to scroll it)',
    ),
]


def _lines(path: Path) -> list[tuple[int, str]]:
    return list(enumerate(path.read_text(encoding="utf-8").splitlines(), start=1))


@pytest.mark.parametrize("path", HTML, ids=[str(p.relative_to(TEMPLATES)) for p in HTML])
def test_template_keeps_to_the_csp(path: Path) -> None:
    found = [
        f"{path.relative_to(ROOT)}:{n}: {why}"
        for n, line in _lines(path)
        for pattern, why in FORBIDDEN
        if pattern.search(line)
    ]
    assert not found, "\n".join(found)


@pytest.mark.parametrize("path", HTML, ids=[str(p.relative_to(TEMPLATES)) for p in HTML])
def test_post_forms_carry_the_csrf_token(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    missing = []
    for match in re.finditer(r"<form\b[^>]*>.*?</form>", text, re.S | re.I):
        form = match.group(0)
        opening = form[: form.index(">") + 1]
        if not re.search(r"method\s*=\s*[\"']post", opening, re.I):
            continue
        if "csrf_token" not in form:
            line = text[: match.start()].count("\n") + 1
            missing.append(f"{path.relative_to(ROOT)}:{line}")
    assert not missing, "POST form without csrf_token: " + ", ".join(missing)


def test_pages_extend_the_shell() -> None:
    """Full pages extend base.html; fragments (_name.html), components, e-mails are exempt."""
    loose = []
    for path in HTML:
        relative = path.relative_to(TEMPLATES)
        if (
            path.name == "base.html"
            or path.name.startswith("_")
            or relative.parts[0] in ("components", "email")
        ):
            continue
        if '{% extends "base.html" %}' not in path.read_text(encoding="utf-8"):
            loose.append(str(relative))
    assert not loose, "pages that do not extend base.html: " + ", ".join(loose)

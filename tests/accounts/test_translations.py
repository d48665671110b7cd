"""Every string of the sign-in domain has its Japanese translation."""

from __future__ import annotations

from pathlib import Path

from babel.messages.extract import extract_from_file

from app.i18n import catalogue

ROOT = Path(__file__).resolve().parents[2]
JINJA_OPTIONS = {"extensions": "jinja2.ext.i18n", "trim_blocks": "true", "lstrip_blocks": "true"}
PY_KEYWORDS = {"_": None, "gettext": None, "Invalid": None, "Problem": None}


def _messages() -> set[str]:
    found: set[str] = set()
    templates = [
        *sorted((ROOT / "templates/accounts").glob("*.html")),
        *sorted((ROOT / "templates/email").glob("accounts_*.txt")),
    ]
    for path in templates:
        for _line, message, _comments, _ctx in extract_from_file(
            "jinja2.ext:babel_extract", str(path), options=JINJA_OPTIONS
        ):
            found.add(message if isinstance(message, str) else message[0])
    for name in ("surfaces/auth/problems.py", "domain/accounts/staff_admin.py", "surfaces/staff/roles.py"):
        for _line, message, _comments, _ctx in extract_from_file(
            "python", str(ROOT / "app" / name), keywords=PY_KEYWORDS
        ):
            parts = message if isinstance(message, tuple) else (message,)
            found.update(part for part in parts if part and not part.startswith("/"))
    return found


def test_every_sign_in_string_has_japanese() -> None:
    messages = _messages()
    assert len(messages) > 80
    japanese = catalogue("ja")
    missing = sorted(message for message in messages if message not in japanese)
    assert missing == []

"""Every string of the guardian pages and e-mails has its Japanese translation."""

from __future__ import annotations

from pathlib import Path

from babel.messages.extract import extract_from_dir

from app.i18n import catalogue

ROOT = Path(__file__).resolve().parents[2]
METHOD_MAP = [
    ("app/surfaces/guardian/**.py", "python"),
    ("app/domain/choices/**.py", "python"),
    ("templates/guardian/**.html", "jinja2"),
    ("templates/email/guardian_*.txt", "jinja2"),
]
OPTIONS = {"**.html": {"trim_blocks": "true", "lstrip_blocks": "true"}}
# Messages passed to _() as variables or as HTTPException details, which extraction cannot see.
INDIRECT = (
    "This choice is not offered for this child.",
    "This request is no longer waiting for confirmation.",
    "The school has no e-mail address on file for you, so the choice cannot be confirmed. "
    "Please ask the school to add it.",
)


def test_every_guardian_string_is_translated_into_japanese() -> None:
    japanese = catalogue("ja")
    found = {
        message if isinstance(message, str) else message[0]
        for _file, _line, message, _comments, _context in extract_from_dir(
            str(ROOT), method_map=METHOD_MAP, options_map=OPTIONS
        )
    }
    assert len(found) > 150
    missing = sorted(m for m in found | set(INDIRECT) if m not in japanese)
    assert missing == []

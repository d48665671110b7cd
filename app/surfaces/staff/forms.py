"""Parsing of staff form and query-string values that the form models share."""

from __future__ import annotations

MAX_ID = 2**63 - 1


def bounded_int(text: str, maximum: int = MAX_ID) -> int | None:
    """A query-string number within 0..maximum, or None (never an overflow in the database)."""
    text = text.strip()
    if not text or len(text) > 19 or not (text.isascii() and text.isdigit()):
        return None
    value = int(text)
    return value if value <= maximum else None

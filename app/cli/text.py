"""Text for the command line, which does not know its reader's language."""

from __future__ import annotations

from app.i18n import gettext


def both(message: str, **params: object) -> str:
    """Japanese, then English."""
    return f"{gettext(message, 'ja').format(**params)} / {message.format(**params)}"

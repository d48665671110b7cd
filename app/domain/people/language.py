"""The language a guardian reads: their saved setting, else Japanese (ADR 0078)."""

from __future__ import annotations

from app.domain.people.models import Guardian
from app.i18n import LANGUAGES, default_language


def language_of(guardian: Guardian | None) -> str:
    """The language of e-mails and receipts for this guardian (the default language if unset or unknown)."""
    if guardian is not None and guardian.preferred_language in LANGUAGES:
        return guardian.preferred_language
    return default_language()

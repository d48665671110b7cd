"""The one vocabulary of expected failures, raised by services and rendered by one handler.

Messages are English msgids (translated in locale/ja/*.po) with `{name}` placeholders filled
from `params` after translation, so the same error reads right on a page, in an htmx
fragment, in JSON and on the command line. `app.surfaces.errors` renders them; the CLI prints
them. Nothing here knows about HTTP beyond the status each kind answers with.

Writes that must outlast a failure (the audit row of a refused attempt, a rate-limit count)
are declared with `app.db.keep_after_rollback`: every failure rolls the unit of work back,
then the kept writes are applied and committed on their own.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from app.i18n import gettext


class TobiraError(Exception):
    """Base of every expected failure. `status` is what a web surface answers with."""

    status: ClassVar[int] = 400
    title: ClassVar[str] = "The request could not be understood"

    def __init__(self, message: str = "", **params: Any) -> None:
        super().__init__(message)
        self.message = message
        self.params = params

    def text(self, lang: str | None = None) -> str:
        """The message in `lang` (default: the language of the current request)."""
        if not self.message:
            return ""
        translated = gettext(self.message, lang)
        return translated.format(**self.params) if self.params else translated


class NotFound(TobiraError):
    """Absent, or outside the caller's board, school or family: the two look the same."""

    status = 404
    title = "Page not found"

    def __init__(
        self, message: str = "The page does not exist, or you do not have access to it.", **params: Any
    ) -> None:
        super().__init__(message, **params)


class Invalid(TobiraError):
    """Input that cannot be accepted. `fields` maps form field names to messages (msgids)."""

    status = 422
    title = "Some of the input is not valid"

    def __init__(self, message: str = "", *, fields: Mapping[str, str] | None = None, **params: Any) -> None:
        super().__init__(message or (next(iter(fields.values())) if fields else ""), **params)
        self.fields: dict[str, str] = dict(fields or {})

    def field_texts(self, lang: str | None = None) -> dict[str, str]:
        return {name: gettext(message, lang) for name, message in self.fields.items()}


class Conflict(TobiraError):
    """The thing changed in the meantime (a request already confirmed, a used link)."""

    status = 409
    title = "This has changed in the meantime"


class Refused(TobiraError):
    """Understood and well-formed, but not allowed for this caller."""

    status = 403
    title = "You cannot do this"


class RateLimited(TobiraError):
    """Too many attempts; `retry_after` seconds until the window reopens."""

    status = 429
    title = "Too many attempts"

    def __init__(
        self, message: str = "Please wait a while and try again.", *, retry_after: int = 60, **params: Any
    ) -> None:
        super().__init__(message, **params)
        self.retry_after = retry_after

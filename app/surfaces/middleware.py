"""Pure ASGI middleware (no BaseHTTPMiddleware): request id, language, CSRF, headers.

CSRF uses a signed double-submit token: a random value in the `tobira_csrf` cookie and,
in every page, an HMAC of it that state-changing requests send back — as the
`X-CSRF-Token` header (htmx, see static/app.js) or the `csrf_token` form field. Multipart
forms send it as their first field, read from the first kilobytes of the body, so uploads are
not buffered here and the token never appears in a URL (where logs and Referer keep it).
"""

from __future__ import annotations

import hashlib
import hmac
import json as json_module
import logging
import re
import secrets
import time
import uuid
from collections.abc import Awaitable, Callable, MutableMapping
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import parse_qs, unquote_plus

from starlette.responses import Response

from app.config import Settings
from app.i18n import (
    LANGUAGES,
    ContentScope,
    content_scope,
    current_language,
    gettext,
    negotiate,
    staff_language,
)
from app.request_context import request_id_var

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

CSRF_COOKIE = "tobira_csrf"
LANG_COOKIE = "tobira_lang"
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
MAX_FORM_BYTES = 1_000_000
# Paths whose callers authenticate without cookies, so CSRF does not apply.
CSRF_EXEMPT_PREFIXES = ("/api/",)

log = logging.getLogger("tobira.request")


def csrf_token_for(secret_key: str, cookie_value: str) -> str:
    return hmac.new(secret_key.encode(), cookie_value.encode(), hashlib.sha256).hexdigest()


def remember_language(response: Response, settings: Settings, lang: str) -> None:
    """Put `lang` in force on this browser: the cookie is the first thing the language is
    picked from. Set by the switch, by saving the setting and at a guardian's sign-in."""
    response.set_cookie(
        LANG_COOKIE,
        lang,
        max_age=365 * 24 * 3600,
        httponly=True,
        samesite="lax",
        secure=settings.cookies_secure,
        path="/",
    )


def _cookies(scope: Scope) -> dict[str, str]:
    jar: SimpleCookie = SimpleCookie()
    for name, value in scope.get("headers", []):
        if name == b"cookie":
            try:
                jar.load(value.decode("latin-1"))
            except Exception:  # noqa: S112  (a malformed cookie header is ignored)
                continue
    return {key: morsel.value for key, morsel in jar.items()}


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return str(value.decode("latin-1"))
    return None


def _cookie_header(name: str, value: str, *, secure: bool, max_age: int | None = None) -> bytes:
    parts = [f"{name}={value}", "Path=/", "SameSite=Lax", "HttpOnly"]
    if secure:
        parts.append("Secure")
    if max_age is not None:
        parts.append(f"Max-Age={max_age}")
    return "; ".join(parts).encode("latin-1")


class SecurityMiddleware:
    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.settings = settings
        issuers = " ".join(sorted({_origin(str(p.issuer)) for p in settings.oidc_providers}))
        # form-action must allow the IdP: sign-out posts to us and we redirect there.
        self.csp = (
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
            "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; "
            f"frame-ancestors 'none'; form-action 'self' {issuers}".strip()
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        started = time.monotonic()
        request_id = uuid.uuid4().hex
        request_id_var.set(request_id)
        cookies = _cookies(scope)
        lang = cookies.get(LANG_COOKIE)
        if lang not in LANGUAGES:
            lang = negotiate(_header(scope, b"accept-language"))
        if scope["path"].startswith("/staff"):
            lang = staff_language(lang)  # the console is written in Japanese and English
        current_language.set(lang)
        # Filled by the principal's guard: the board content translations this request shows.
        content_scope.set(ContentScope())

        csrf_cookie = cookies.get(CSRF_COOKIE)
        new_csrf_cookie = None
        if not csrf_cookie or len(csrf_cookie) < 32:
            csrf_cookie = new_csrf_cookie = secrets.token_urlsafe(32)
        state = scope.setdefault("state", {})
        state["request_id"] = request_id
        state["lang"] = lang
        state["csrf_token"] = csrf_token_for(self.settings.secret_key, csrf_cookie)

        path: str = scope["path"]
        method: str = scope["method"]
        receive, problem = await _input_problem(scope, receive)
        if problem == "too_large":
            title, text = gettext("The form is too large", lang), gettext("Nothing was changed.", lang)
            await self._plain_page(send, lang, 413, title, text)
            return
        if problem == "control_characters":
            await self._refuse_control_characters(send, lang, json=path.startswith("/api/"))
            return
        if method not in SAFE_METHODS and not path.startswith(CSRF_EXEMPT_PREFIXES):
            receive, ok = await self._check_csrf(scope, receive, state["csrf_token"], new_csrf_cookie)
            if not ok:
                await self._reject(send, lang)
                return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = message.setdefault("headers", [])
                headers.extend(self._security_headers())
                headers.append((b"x-request-id", request_id.encode()))
                if new_csrf_cookie:
                    headers.append(
                        (
                            b"set-cookie",
                            _cookie_header(CSRF_COOKIE, new_csrf_cookie, secure=self.settings.cookies_secure),
                        )
                    )
                # The access log: the route template, never the raw path or query (paths
                # carry one-time tokens, queries carry names searched for).
                route_path = getattr(scope.get("route"), "path", "-")
                elapsed_ms = (time.monotonic() - started) * 1000
                log.info("%s %s %s %s %.0fms", request_id, method, route_path, message["status"], elapsed_ms)
            await send(message)

        await self.app(scope, receive, send_with_headers)

    def _security_headers(self) -> list[tuple[bytes, bytes]]:
        headers = [
            (b"content-security-policy", self.csp.encode()),
            (b"x-content-type-options", b"nosniff"),
            (b"referrer-policy", b"no-referrer"),
            (b"x-frame-options", b"DENY"),
            (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
            (b"cross-origin-opener-policy", b"same-origin"),
        ]
        if self.settings.cookies_secure:
            headers.append((b"strict-transport-security", b"max-age=31536000; includeSubDomains"))
        return headers

    async def _check_csrf(
        self, scope: Scope, receive: Receive, expected: str, new_cookie: str | None
    ) -> tuple[Receive, bool]:
        if new_cookie is not None:  # no cookie came with the request: nothing to match
            return receive, False
        if _header(scope, b"sec-fetch-site") == "cross-site":
            return receive, False
        sent = _header(scope, b"x-csrf-token")
        full_type = _header(scope, b"content-type") or ""
        content_type = full_type.split(";")[0].strip().lower()
        if sent is None and content_type == "multipart/form-data":
            sent, receive = await _first_multipart_field(receive, full_type, "csrf_token")
        if sent is None and content_type == "application/x-www-form-urlencoded":
            body, receive = await _buffer_body(receive)
            if body is None:
                return receive, False
            form = parse_qs(body.decode("utf-8", "replace"))
            sent = next(iter(form.get("csrf_token", [])), None)
        ok = sent is not None and hmac.compare_digest(sent, expected)
        return receive, ok

    async def _reject(self, send: Send, lang: str) -> None:
        title = gettext("This form has expired", lang)
        text = gettext(
            "For your security the form could not be accepted. Go back, reload the page and try again.",
            lang,
        )
        await self._plain_page(send, lang, 403, title, text)

    async def _refuse_control_characters(self, send: Send, lang: str, *, json: bool) -> None:
        title = gettext("Some characters cannot be accepted", lang)
        text = gettext(
            "What was sent contains control characters (such as NUL) that no form field may hold. "
            "Remove them and try again; nothing was changed.",
            lang,
        )
        if json:
            body = json_module.dumps({"error": {"status": 422, "title": title, "detail": text}}).encode()
            headers = [(b"content-type", b"application/json"), *self._security_headers()]
            await send({"type": "http.response.start", "status": 422, "headers": headers})
            await send({"type": "http.response.body", "body": body})
            return
        await self._plain_page(send, lang, 422, title, text)

    async def _plain_page(self, send: Send, lang: str, status: int, title: str, text: str) -> None:
        """A page answered before the app runs (no templates, no session): CSRF, bad bytes."""
        body = (
            (
                "<!doctype html><html lang='{lang}'><meta charset='utf-8'><title>{title}</title>"
                "<h1>{title}</h1><p>{text}</p><p><a href='/'>{home}</a></p></html>"
            )
            .format(lang=lang, title=title, text=text, home=gettext("Back to the start page", lang))
            .encode()
        )
        headers = [(b"content-type", b"text/html; charset=utf-8"), *self._security_headers()]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})


MULTIPART_HEAD_BYTES = 16 * 1024


async def _first_multipart_field(
    receive: Receive, content_type: str, name: str
) -> tuple[str | None, Receive]:
    """The value of a multipart body's first field when it is `name`, read from the first
    few kilobytes only (an upload is never buffered); the body is replayed to the app. Forms
    with a file put the token first, so it never has to travel in the URL."""
    boundary = next(
        (part.split("=", 1)[1].strip().strip('"') for part in content_type.split(";") if "boundary=" in part),
        "",
    )
    head, _complete, replay = await _read_ahead(receive, MULTIPART_HEAD_BYTES)
    value = _field_in_head(head, boundary.encode("latin-1"), name) if boundary else None
    return value, replay


def _field_in_head(head: bytes, boundary: bytes, name: str) -> str | None:
    delimiter = b"--" + boundary
    if not head.startswith(delimiter):
        return None
    part_end = head.find(b"\r\n" + delimiter, len(delimiter))
    headers, _sep, value = head[len(delimiter) : part_end if part_end != -1 else None].partition(b"\r\n\r\n")
    if part_end == -1 or f'name="{name}"'.encode() not in headers or b"filename=" in headers:
        return None
    return value.decode("latin-1")


# C0 controls and DEL, except tab, line feed and carriage return (a textarea sends those).
CONTROL_CHARACTERS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


async def _input_problem(scope: Scope, receive: Receive) -> tuple[Receive, str | None]:
    """ "control_characters" when the query string or a form body holds one (PostgreSQL refuses
    NUL in text, and no name, reason or search term has any), "too_large" for a form body over
    MAX_FORM_BYTES; None when the input may go on to the app (with the body replayed)."""
    query = unquote_plus(scope.get("query_string", b"").decode("latin-1"))
    if CONTROL_CHARACTERS.search(query):
        return receive, "control_characters"
    content_type = (_header(scope, b"content-type") or "").split(";")[0].strip().lower()
    if content_type != "application/x-www-form-urlencoded":
        return receive, None
    body, receive = await _buffer_body(receive)
    if body is None:
        return receive, "too_large"
    if CONTROL_CHARACTERS.search(unquote_plus(body.decode("latin-1"))):
        return receive, "control_characters"
    return receive, None


async def _read_ahead(receive: Receive, up_to: int) -> tuple[bytes, bool, Receive]:
    """Read the body until it ends or `up_to` bytes are in hand; return them, whether that was
    all of it, and a `receive` that hands the app the same body from its first byte."""
    chunks: list[bytes] = []
    size, more = 0, True
    while more and size < up_to:
        message = await receive()
        if message["type"] != "http.request":  # the client went away
            break
        chunks.append(message.get("body", b""))
        size += len(chunks[-1])
        more = message.get("more_body", False)
    head = b"".join(chunks)
    replayed = False

    async def replay() -> Message:
        nonlocal replayed
        if not replayed:
            replayed = True
            return {"type": "http.request", "body": head, "more_body": more}
        return await receive()

    return head, not more, replay


async def _buffer_body(receive: Receive) -> tuple[bytes | None, Receive]:
    """The whole (small) form body, or None when it is over MAX_FORM_BYTES."""
    body, complete, replay = await _read_ahead(receive, MAX_FORM_BYTES + 1)
    return (body if complete and len(body) <= MAX_FORM_BYTES else None), replay


def _origin(url: str) -> str:
    scheme, _sep, rest = url.partition("://")
    return f"{scheme}://{rest.split('/')[0]}"

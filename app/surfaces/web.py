"""Template rendering: a full page or, for htmx requests, just the fragment.

Every response that can differ by `HX-Request` says so with `Vary: HX-Request`.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from app.i18n import current_language
from app.templating import templates_env


def is_htmx(request: Request) -> bool:
    """A request for a fragment: htmx, neither boosted nor restoring history (after a cache miss
    on Back, htmx asks for the whole page to put in place of the body)."""
    headers = request.headers
    return (
        headers.get("hx-request") == "true"
        and headers.get("hx-boosted") != "true"
        and headers.get("hx-history-restore-request") != "true"
    )


def base_context(request: Request) -> dict[str, Any]:
    return {
        "request": request,
        "lang": current_language.get(),
        "csrf_token": getattr(request.state, "csrf_token", ""),
        "principal": getattr(request.state, "principal", None),
        "current_path": request.url.path,
    }


def render(
    request: Request,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    fragment: str | None = None,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    """Render `template`, or `fragment` when htmx asked and one is given."""
    name = fragment if fragment and is_htmx(request) else template
    html = templates_env.get_template(name).render({**base_context(request), **(context or {})})
    response = HTMLResponse(html, status_code=status_code, headers=headers)
    response.headers["Vary"] = "HX-Request, Cookie, Accept-Language"
    response.headers["Cache-Control"] = "no-store"
    return response


def redirect(request: Request, url: str) -> Response:
    """POST-redirect-GET for plain forms; HX-Redirect for htmx so the whole page changes."""
    if is_htmx(request):
        return Response(status_code=204, headers={"HX-Redirect": url, "Vary": "HX-Request"})
    return RedirectResponse(url, status_code=303, headers={"Vary": "HX-Request"})


def json_download(body: str | bytes, filename: str) -> Response:
    """A JSON file to save (a receipt, a disclosure package): never cached on the way."""
    return Response(
        body,
        media_type="application/json",
        headers={"Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"},
    )


def safe_next(url: str | None, default: str = "/") -> str:
    """Only same-site relative paths, so `next` cannot send anyone elsewhere."""
    if not url:
        return default
    parts = urlsplit(url)
    if parts.scheme or parts.netloc or not url.startswith("/") or url.startswith("//"):
        return default
    return url

"""Template rendering: a full page or, for htmx requests, just the fragment.

Every response that can differ by `HX-Request` says so with `Vary: HX-Request`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from app.i18n import LANGUAGE_NAMES, LANGUAGES, current_language, format_date, gettext, ngettext

TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "templates"

templates_env = Environment(
    loader=FileSystemLoader(TEMPLATES_DIR),
    autoescape=select_autoescape(
        ["html", "xml"], disabled_extensions=["txt"], default_for_string=True, default=True
    ),
    undefined=StrictUndefined,
    extensions=["jinja2.ext.i18n"],
    trim_blocks=True,
    lstrip_blocks=True,
)
templates_env.install_gettext_callables(gettext, ngettext, newstyle=True)  # type: ignore[attr-defined]
templates_env.filters["date"] = lambda value, with_time=False: format_date(value, with_time=with_time)
templates_env.globals["LANGUAGES"] = LANGUAGES
templates_env.globals["LANGUAGE_NAMES"] = LANGUAGE_NAMES


def localized(obj: Any, field: str) -> str:
    """`obj.<field>_en` in English when it is filled in, else the Japanese `obj.<field>`."""
    if current_language.get() == "en":
        english = getattr(obj, f"{field}_en", "")
        if english:
            return str(english)
    return str(getattr(obj, field))


templates_env.globals["localized"] = localized


def is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true" and request.headers.get("hx-boosted") != "true"


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


def render_text(template: str, context: dict[str, Any]) -> str:
    """Plain-text templates (e-mails): autoescape off is right for text/plain only."""
    return templates_env.get_template(template).render(context)

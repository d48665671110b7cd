"""The one place errors become responses: a full page, an htmx fragment, or JSON under /api/.

Services raise the typed errors of `app.errors`; routes let them through unless they
re-render their own form with the field messages (`form_errors`). Everything else that
goes wrong is answered here too, so nobody sees a bare 500 or a traceback.
"""

from __future__ import annotations

import logging
from urllib.parse import quote

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from sqlalchemy.exc import DBAPIError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.errors import Invalid, RateLimited, TobiraError
from app.i18n import gettext
from app.surfaces.permissions import NotSignedIn, StepUpRequired
from app.surfaces.web import is_htmx, render

log = logging.getLogger("tobira.errors")

ERROR_TITLES = {
    400: "The request could not be understood",
    401: "Please sign in",
    403: "You cannot do this",
    404: "Page not found",
    405: "This action is not available here",
    409: "This has changed in the meantime",
    413: "The file is too large",
    422: "Some of the input is not valid",
    429: "Too many attempts",
    500: "Something went wrong on our side",
    503: "The service is busy or under maintenance",
}
ERROR_TEXTS = {
    404: "The page does not exist, or you do not have access to it.",
    429: "Please wait a while and try again.",
    500: "Nothing was changed. Please try again later.",
    503: "Nothing was changed. Please try again in a few minutes.",
}
# Starlette fills `detail` with the standard phrase; only our own messages are shown.
STANDARD_PHRASES = {"Not Found", "Method Not Allowed", "Unauthorized", "Forbidden"}


def is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def error_response(
    request: Request,
    status: int,
    text: str = "",
    *,
    api_detail: str = "",
    headers: dict[str, str] | None = None,
) -> Response:
    """The error page (or fragment, or JSON body) for `status`; `text` already translated."""
    if is_api(request):
        body = {"error": {"status": status, "title": ERROR_TITLES.get(status, "Error"), "detail": api_detail}}
        return JSONResponse(body, status_code=status, headers=headers)
    context = {
        "status": status,
        "title": gettext(ERROR_TITLES.get(status, "Error")),
        "text": text or gettext(ERROR_TEXTS.get(status, "")),
    }
    if is_htmx(request):
        # htmx does not swap 4xx/5xx answers; put the message where the page's content is.
        merged = {"HX-Retarget": "#main", "HX-Reswap": "innerHTML", **(headers or {})}
        return render(request, "errors/error.html", context, fragment="errors/_error.html", headers=merged)
    return render(request, "errors/error.html", context, status_code=status, headers=headers)


def form_errors(error: Invalid, lang: str | None = None) -> list[tuple[str, str]]:
    """(field id, message) pairs for `forms.error_summary`; the message alone if no field."""
    if error.fields:
        return list(error.field_texts(lang).items())
    return [("", error.text(lang))]


def install(app: FastAPI) -> None:
    @app.exception_handler(TobiraError)
    async def expected_error(request: Request, exc: TobiraError) -> Response:
        headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, RateLimited) else None
        if is_api(request) and isinstance(exc, Invalid) and exc.fields:
            detail = "Invalid fields: " + ", ".join(exc.fields)
        else:
            detail = exc.text("en")
        return error_response(request, exc.status, exc.text(), api_detail=detail, headers=headers)

    @app.exception_handler(StepUpRequired)
    async def step_up(request: Request, exc: StepUpRequired) -> Response:
        target = f"/auth/login/{exc.provider}?step_up=true&next=" + quote(exc.next_path)
        if request.headers.get("hx-request") == "true":
            return Response(status_code=204, headers={"HX-Redirect": target})
        return RedirectResponse(target, status_code=303)

    @app.exception_handler(NotSignedIn)
    async def not_signed_in(request: Request, exc: NotSignedIn) -> Response:
        if is_api(request):
            return error_response(request, 401)
        target = "/signin?next=" + quote(request.url.path)
        if request.headers.get("hx-request") == "true":
            return Response(status_code=204, headers={"HX-Redirect": target})
        return RedirectResponse(target, status_code=303)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        detail = exc.detail if isinstance(exc, HTTPException) and isinstance(exc.detail, str) else ""
        if detail in STANDARD_PHRASES:
            detail = ""
        return error_response(
            request,
            exc.status_code,
            gettext(detail) if detail else "",
            api_detail=detail,
            headers=dict(exc.headers or {}),
        )

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> Response:
        fields = [".".join(str(p) for p in err.get("loc", ())) for err in exc.errors()]
        return error_response(request, 422, api_detail="Invalid fields: " + ", ".join(fields))

    @app.exception_handler(DBAPIError)
    async def database_error(request: Request, exc: DBAPIError) -> Response:
        # A lost connection or a database that is down is not the caller's fault: 503.
        if exc.connection_invalidated or isinstance(exc, OperationalError):
            log.warning("database unavailable: %s", type(exc.orig).__name__)
            return error_response(request, 503, headers={"Retry-After": "30"})
        log.exception("database error in %s", getattr(request.scope.get("route"), "path", "-"))
        return error_response(request, 500)

    @app.exception_handler(Exception)
    async def unexpected_error(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error in %s", getattr(request.scope.get("route"), "path", "-"))
        return error_response(request, 500)

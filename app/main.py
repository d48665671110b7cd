"""create_app(): middleware, routers, error handlers, static files."""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from urllib.parse import quote

from fastapi import FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.config import Settings, get_settings
from app.db import Database
from app.domain.notifications import dispatcher
from app.i18n import gettext
from app.surfaces.api import router as api_router
from app.surfaces.auth import router as accounts_router
from app.surfaces.demo import router as demo_router
from app.surfaces.guardian import router as guardian_router
from app.surfaces.home import router as home_router
from app.surfaces.middleware import SecurityMiddleware
from app.surfaces.permissions import NotSignedIn
from app.surfaces.staff import router as staff_router
from app.surfaces.web import render

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"
log = logging.getLogger("tobira")

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
}
ERROR_TEXTS = {
    404: "The page does not exist, or you do not have access to it.",
    429: "Please wait a while and try again.",
    500: "Nothing was changed. Please try again later.",
}


def _is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def _error(request: Request, status: int, detail: str | None = None) -> Response:
    title = gettext(ERROR_TITLES.get(status, "Error"))
    if _is_api(request):
        return JSONResponse(
            {
                "error": {
                    "status": status,
                    "title": ERROR_TITLES.get(status, "Error"),
                    "detail": detail or "",
                }
            },
            status_code=status,
        )
    text = gettext(detail) if detail else gettext(ERROR_TEXTS.get(status, ""))
    return render(
        request,
        "errors/error.html",
        {"status": status, "title": title, "text": text},
        status_code=status,
    )


def create_app(settings: Settings | None = None, database: Database | None = None) -> FastAPI:
    settings = settings or get_settings()
    database = database or Database(settings.database_url)
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s %(message)s")

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        stop = threading.Event()
        worker = None
        if settings.dispatch_mail_in_app:
            worker = threading.Thread(
                target=dispatcher.run_forever,
                args=(database, settings, stop),
                daemon=True,
                name="mail",
            )
            worker.start()
        yield
        stop.set()
        if worker is not None:
            worker.join(timeout=5)

    app = FastAPI(
        title="Tobira",
        description="Student-data consent and visibility portal. The downstream API lives under /api/v1.",
        version="0.1.0",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url="/api/v1/openapi.json",
    )
    app.state.settings = settings
    app.state.database = database

    app.include_router(home_router.router)
    app.include_router(accounts_router.router)
    app.include_router(guardian_router.router)
    app.include_router(staff_router.router)
    app.include_router(api_router.router)
    if settings.is_dev:
        app.include_router(demo_router.router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    @app.exception_handler(NotSignedIn)
    async def not_signed_in(request: Request, exc: NotSignedIn) -> Response:
        if _is_api(request):
            return _error(request, 401)
        target = "/signin?next=" + quote(request.url.path)
        if request.headers.get("hx-request") == "true":
            return Response(status_code=204, headers={"HX-Redirect": target})
        return RedirectResponse(target, status_code=303)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        detail = exc.detail if isinstance(exc, HTTPException) and exc.detail not in (None, "") else None
        if detail is not None and not isinstance(detail, str):
            detail = None
        # Starlette fills detail with the standard phrase; only our own messages are shown.
        if detail in ("Not Found", "Method Not Allowed", "Unauthorized", "Forbidden"):
            detail = None
        response = _error(request, exc.status_code, detail)
        for key, value in (exc.headers or {}).items():
            response.headers[key] = value
        return response

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> Response:
        if _is_api(request):
            fields = [".".join(str(p) for p in err.get("loc", ())) for err in exc.errors()]
            return JSONResponse(
                {
                    "error": {
                        "status": 422,
                        "title": "Invalid request",
                        "detail": "Invalid fields: " + ", ".join(fields),
                    }
                },
                status_code=422,
            )
        return _error(request, 422)

    @app.exception_handler(Exception)
    async def unexpected_error(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error in %s", getattr(request.scope.get("route"), "path", "-"))
        return _error(request, 500)

    app.add_middleware(SecurityMiddleware, settings=settings)
    return app

"""create_app(): middleware, routers, error handlers, static files."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from app import i18n, worker
from app.config import Settings, get_settings
from app.db import Database
from app.resources import STATIC_DIR
from app.surfaces import errors
from app.surfaces.api import acknowledgements as api_acknowledgements
from app.surfaces.api import router as api_router
from app.surfaces.auth import router as accounts_router
from app.surfaces.demo import router as demo_router
from app.surfaces.guardian import router as guardian_router
from app.surfaces.home import router as home_router
from app.surfaces.middleware import SecurityMiddleware
from app.surfaces.staff import router as staff_router
from app.surfaces.student import router as student_router

log = logging.getLogger("tobira")


def create_app(settings: Settings | None = None, database: Database | None = None) -> FastAPI:
    settings = settings or get_settings()
    i18n.configure(settings.offered_languages, settings.default_language)
    database = database or Database(settings.database_url, settings.database_replica_url)
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s %(message)s")

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        in_process = worker.start_in_process(database, settings) if settings.worker_in_app else None
        yield
        if in_process is not None:
            thread, stop = in_process
            stop.set()
            thread.join(timeout=10)

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

    # The OpenAPI document describes the downstream API only, not the pages.
    app.include_router(home_router.router, include_in_schema=False)
    app.include_router(accounts_router.router, include_in_schema=False)
    app.include_router(guardian_router.router, include_in_schema=False)
    app.include_router(staff_router.router, include_in_schema=False)
    app.include_router(student_router.router, include_in_schema=False)
    app.include_router(api_router.router)
    app.include_router(api_acknowledgements.router)
    if settings.is_dev:
        app.include_router(demo_router.router, include_in_schema=False)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    errors.install(app)
    app.add_middleware(SecurityMiddleware, settings=settings)
    return app

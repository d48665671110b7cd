"""Request-scoped dependencies shared by every domain.

`DbSession` is the one transaction boundary of a request: it commits after the path
operation returns and before the response is sent (scope="function"); if the operation
raised, it rolls back and keeps only the writes declared with `keep_after_rollback`.
Services only flush. Streaming responses that read after the handler returns open their
own session from `request.app.state.database`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Path, Request
from sqlalchemy.orm import Session

from app.config import Settings
from app.db import Database, unit_of_work


def get_database(request: Request) -> Database:
    database: Database = request.app.state.database
    return database


def get_settings_dep(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_db(request: Request) -> Iterator[Session]:
    db = get_database(request).session()
    try:
        with unit_of_work(db):
            yield db
    finally:
        db.close()


# A row id in a path: larger numbers cannot exist (BIGINT) and are refused as invalid input.
RowId = Annotated[int, Path(ge=1, le=2**63 - 1)]

DbSession = Annotated[Session, Depends(get_db, scope="function")]
AppSettings = Annotated[Settings, Depends(get_settings_dep)]

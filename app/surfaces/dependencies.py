"""Request-scoped dependencies shared by every domain.

`DbSession` is the one transaction boundary of a request: it commits after the path
operation returns and before the response is sent (scope="function"), and rolls back
if the operation raised. Services only flush. Streaming responses that read after
the handler returns open their own session from `request.app.state.database`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Path, Request
from sqlalchemy.orm import Session

from app.config import Settings
from app.db import Database


def get_database(request: Request) -> Database:
    database: Database = request.app.state.database
    return database


def get_settings_dep(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_db(request: Request) -> Iterator[Session]:
    db = get_database(request).session()
    try:
        yield db
        db.commit()
    except BaseException:
        # Detach loaded objects first: the error page still reads the principal, and a
        # rollback would expire them into a closed session (DetachedInstanceError → 500).
        db.expunge_all()
        db.rollback()
        raise
    finally:
        db.close()


# A row id in a path: larger numbers cannot exist (BIGINT) and are refused as invalid input.
RowId = Annotated[int, Path(ge=1, le=2**63 - 1)]

DbSession = Annotated[Session, Depends(get_db, scope="function")]
AppSettings = Annotated[Settings, Depends(get_settings_dep)]

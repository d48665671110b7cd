"""Look-ups of what a board already holds, in chunks so that memory stays bounded."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any, TypeVar

from sqlalchemy import Integer, String, any_, bindparam, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from app.domain.people.models import Guardian, School, SchoolClass, SchoolYear, Student

CHUNK = 1000
T = TypeVar("T")


def chunks(items: Iterable[T], size: int = CHUNK) -> Iterator[list[T]]:
    batch: list[T] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def one_of(db: Session, column: Any, values: list[Any]) -> Any:
    """`column IN values`. On PostgreSQL as `= ANY(array)`: one parameter instead of a
    thousand, so the driver does not re-parse a huge statement for every chunk."""
    if db.get_bind().dialect.name == "postgresql":
        element_type = Integer() if values and isinstance(values[0], int) else String()
        return column == any_(bindparam(None, values, type_=ARRAY(element_type)))
    return column.in_(values)


def ids_by_sourced_id(
    db: Session, model: Any, board_id: int | None, sourced_ids: Iterable[str]
) -> dict[str, int]:
    """sourced_id -> id for those of `sourced_ids` the board already has."""
    found: dict[str, int] = {}
    if board_id is None:
        return found
    for batch in chunks(set(sourced_ids)):
        rows = db.execute(
            select(model.sourced_id, model.id).where(
                model.board_id == board_id, one_of(db, model.sourced_id, batch)
            )
        )
        found.update({sid: row_id for sid, row_id in rows})
    return found


def all_ids(db: Session, model: Any, board_id: int | None) -> dict[str, int]:
    """sourced_id -> id of every row (for the small tables: schools, classes, school years)."""
    if board_id is None:
        return {}
    return {
        sid: row_id
        for sid, row_id in db.execute(select(model.sourced_id, model.id).where(model.board_id == board_id))
    }


SMALL_TABLES = {"schools": School, "classes": SchoolClass, "school_years": SchoolYear}
PEOPLE = {"students": Student, "guardians": Guardian}

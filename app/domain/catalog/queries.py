"""Reads of the catalogue that every surface shares, defined once.

"The latest version of a service" is the published version with the highest id (versions
are only ever added); guardian pages, staff pages, exports and the downstream API all ask
through `latest_version_ids`.
"""

from __future__ import annotations

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from app.domain.catalog.models import DataCategory, Service, ServiceVersion


def latest_version_ids(board_id: int) -> Select[int]:
    """A subquery: the id of each service's latest version, for the services of `board_id`."""
    return (
        select(func.max(ServiceVersion.id))
        .join(Service, Service.id == ServiceVersion.service_id)
        .where(Service.board_id == board_id)
        .group_by(ServiceVersion.service_id)
    )


def category_names(db: Session) -> dict[str, DataCategory]:
    """The controlled vocabulary of data categories by code, in display order."""
    return {c.code: c for c in db.scalars(select(DataCategory).order_by(DataCategory.sort_order))}

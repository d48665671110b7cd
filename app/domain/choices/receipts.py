"""Consent receipts in the shape of ISO/IEC TS 27560 and the Kantara Consent Receipt.

One receipt per confirmed choice event; `receipt_id` is the event's UUID. The same
dictionary is shown as a page, downloaded as JSON and attached to the receipt e-mail.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload, selectinload

from app.domain.boards.models import Board
from app.domain.catalog.models import NoticeVersion, ServiceVersion, ServiceVersionCategory
from app.domain.choices.models import ChoiceEvent
from app.domain.people.language import language_of
from app.domain.people.models import Guardian, Student

RECEIPT_SCHEMA = "ISO/IEC TS 27560:2023 / Kantara Consent Receipt v1.1 fields"


def find_receipt_event(db: Session, student_id: int, receipt_id: str) -> ChoiceEvent | None:
    return db.scalar(
        select(ChoiceEvent)
        .options(joinedload(ChoiceEvent.definition))
        .where(
            ChoiceEvent.student_id == student_id,
            ChoiceEvent.kind == "confirmed",
            ChoiceEvent.receipt_id == receipt_id,
        )
    )


def version_at(
    db: Session, service_id: int, moment: datetime, notice: NoticeVersion | None = None
) -> ServiceVersion | None:
    """The service version the guardian was shown: the one in the notice's catalogue
    snapshot, else the one in force at `moment` (else the earliest one)."""
    query = select(ServiceVersion).options(
        selectinload(ServiceVersion.categories).joinedload(ServiceVersionCategory.category),
        selectinload(ServiceVersion.purposes),
    )
    snapshot = (notice.catalogue or {}).get("service_versions", {}) if notice else {}
    version_id = snapshot.get(str(service_id)) if isinstance(snapshot, dict) else None
    if isinstance(version_id, int):
        pinned = db.scalar(
            query.where(ServiceVersion.id == version_id, ServiceVersion.service_id == service_id)
        )
        if pinned is not None:
            return pinned
    found = db.scalar(
        query.where(ServiceVersion.service_id == service_id, ServiceVersion.published_at <= moment)
        .order_by(ServiceVersion.version.desc())
        .limit(1)
    )
    if found is None:
        found = db.scalar(
            query.where(ServiceVersion.service_id == service_id).order_by(ServiceVersion.version).limit(1)
        )
    return found


def build_receipt(db: Session, event: ChoiceEvent) -> dict[str, Any]:
    """All receipt fields, with Japanese and English text side by side (language-neutral)."""
    definition = event.definition
    board = db.get_one(Board, event.board_id)
    student = db.get_one(Student, event.student_id)
    guardian = db.get(Guardian, event.guardian_id) if event.guardian_id else None
    notice = db.get(NoticeVersion, event.notice_version_id) if event.notice_version_id else None
    version = version_at(db, definition.service_id, event.created_at, notice)
    hidden_codes = list(event.category_codes)
    categories = []
    purposes = []
    service: dict[str, Any] = {"id": definition.service_id}
    if version is not None:
        service |= {
            "version": version.version,
            "name": version.name,
            "name_en": version.name_en,
            "vendor": version.vendor_name,
            "vendor_en": version.vendor_name_en,
            "policy_url": version.policy_url,
        }
        categories = [
            {
                "code": c.category.code,
                "name": c.category.name,
                "name_en": c.category.name_en,
                "items": c.items,
                "items_en": c.items_en,
            }
            for c in version.categories
        ]
        purposes = [
            {"text": p.text, "text_en": p.text_en, "permitted_use": p.permitted_use} for p in version.purposes
        ]
    return {
        "schema": RECEIPT_SCHEMA,
        "receipt_id": event.receipt_id,
        "timestamp": event.created_at.isoformat(),
        "jurisdiction": board.jurisdiction,
        "language": language_of(guardian),
        "controller": {
            "name": board.name,
            "name_en": board.name_en,
            "contact_email": board.contact_email,
            "contact_phone": board.contact_phone,
        },
        "principal": {
            "type": "student",
            "id": student.sourced_id,
            "name": student.full_name,
            "represented_by": "guardian",
            "guardian_id": guardian.sourced_id if guardian else None,
        },
        "service": service,
        "purposes": purposes,
        "data_categories": categories,
        "choice": {
            "code": definition.code,
            "label": definition.label,
            "label_en": definition.label_en,
            "value": event.value,
            "category_codes": hidden_codes,
            "default_value": definition.default_value,
        },
        "notice_version": (
            {"id": notice.id, "version": notice.version, "title": notice.title, "title_en": notice.title_en}
            if notice
            else None
        ),
        "method_of_collection": event.channel,
        "request_event_id": event.request_id,
        "event_id": event.id,
    }


def receipt_json(receipt: dict[str, Any]) -> str:
    return json.dumps(receipt, ensure_ascii=False, indent=2)


def receipt_attachment(receipt: dict[str, Any]) -> dict[str, Any]:
    return {
        "filename": f"receipt-{receipt['receipt_id']}.json",
        "content_type": "application/json",
        "content": receipt_json(receipt),
    }

"""The disclosure package: everything Tobira holds about a child and the guardian who asked.

Roster facts of the child and the guardian, every choice event about the child with its
receipt (ISO/IEC TS 27560 structure), the staff views of the child's record (access history),
the e-mails sent to the guardian (subjects and dates; bodies only while they are still held),
and the guardian's requests. The same dictionary downloads as JSON
(docs/schemas/disclosure-package.schema.json, explained in docs/disclosure-package.md) and is
shown as a printable page. It is built in a fixed number of statements whatever the history's
length.

Staff reasons are left out of choice events: they may name staff (the history page hides them
too), and a guardian's package never names staff.
"""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from app.db import utcnow
from app.domain.boards.models import Board
from app.domain.choices.access_history import access_history
from app.domain.choices.models import ChoiceEvent
from app.domain.choices.receipts import build_receipts
from app.domain.notifications.models import OutboxEmail
from app.domain.people.models import Guardian, GuardianStudent, Student
from app.domain.requests.models import GuardianRequest
from app.domain.translations import service as translations

SCHEMA_VERSION = "tobira-disclosure-package/1"


def _iso(value: object) -> Any:
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return value


def _plain(value: object) -> Any:
    """Dataclasses, dates and times as JSON values (the access history may grow fields)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {k: _plain(v) for k, v in dataclasses.asdict(value).items()}
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return _iso(value)


def _request_entry(request: GuardianRequest) -> dict[str, Any]:
    return {
        "id": request.id,
        "kind": request.kind,
        "details": request.details,
        "status": request.status,
        "received_at": _iso(request.received_at),
        "due_on": _iso(request.due_on),
        "original_due_on": _iso(request.original_due_on),
        "extended_at": _iso(request.extended_at),
        "extension_reason": request.extension_reason,
        "answer": request.answer,
        "answered_at": _iso(request.answered_at),
        "closed_at": _iso(request.closed_at),
    }


def build_package(db: Session, request: GuardianRequest, *, base_url: str = "") -> dict[str, Any]:
    student = db.scalar(
        select(Student)
        .options(joinedload(Student.school), joinedload(Student.school_class))
        .where(Student.id == request.student_id)
    )
    assert student is not None
    guardian = db.get_one(Guardian, request.guardian_id)
    board = db.get_one(Board, request.board_id)
    children = db.execute(
        select(Student.sourced_id, Student.family_name, Student.given_name)
        .join(GuardianStudent, GuardianStudent.student_id == Student.id)
        .where(GuardianStudent.guardian_id == guardian.id, GuardianStudent.status == "active")
        .order_by(Student.id)
    ).all()
    events = list(
        db.scalars(
            select(ChoiceEvent)
            .options(joinedload(ChoiceEvent.definition))
            .where(ChoiceEvent.student_id == student.id, ChoiceEvent.board_id == board.id)
            .order_by(ChoiceEvent.created_at, ChoiceEvent.id)
        )
    )
    confirmed = [e for e in events if e.kind == "confirmed" and e.receipt_id]
    receipts = build_receipts(db, confirmed, base_url=base_url)
    mails = (
        list(
            db.scalars(
                select(OutboxEmail)
                .where(OutboxEmail.board_id == board.id, OutboxEmail.to_address == guardian.email)
                .order_by(OutboxEmail.created_at, OutboxEmail.id)
            )
        )
        if guardian.email
        else []
    )
    requests = list(
        db.scalars(
            select(GuardianRequest)
            .where(GuardianRequest.student_id == student.id, GuardianRequest.guardian_id == guardian.id)
            .order_by(GuardianRequest.received_at, GuardianRequest.id)
        )
    )
    homeroom = student.school_class.title if student.school_class else None
    english = translations.load(db, "en", [board.id])  # packages carry English beside Japanese
    return {
        "package": {
            "schema_version": SCHEMA_VERSION,
            "generated_at": _iso(utcnow()),
            "request": {
                "id": request.id,
                "kind": request.kind,
                "received_at": _iso(request.received_at),
                "due_on": _iso(request.due_on),
            },
        },
        "controller": {
            "name": board.name,
            "name_en": english.get(("boards", board.id, "name"), ""),
            "contact_email": board.contact_email,
            "contact_phone": board.contact_phone,
            "jurisdiction": board.jurisdiction,
        },
        "student": {
            "sourced_id": student.sourced_id,
            "family_name": student.family_name,
            "given_name": student.given_name,
            "family_name_kana": student.family_name_kana,
            "given_name_kana": student.given_name_kana,
            "school": {"code": student.school.code, "name": student.school.name},
            "grade": student.grade,
            "homeroom": homeroom,
            "attendance_number": student.attendance_number,
            "status": student.status,
        },
        "guardian": {
            "sourced_id": guardian.sourced_id,
            "family_name": guardian.family_name,
            "given_name": guardian.given_name,
            "family_name_kana": guardian.family_name_kana,
            "given_name_kana": guardian.given_name_kana,
            "email": guardian.email,
            "preferred_language": guardian.preferred_language,
            "status": guardian.status,
            "children": [
                {"sourced_id": sourced_id, "name": f"{family} {given}"}
                for sourced_id, family, given in children
            ],
        },
        "choice_events": [
            {
                "id": e.id,
                "time": _iso(e.created_at),
                "kind": e.kind,
                "choice": {
                    "code": e.definition.code,
                    "label": e.definition.label,
                    "label_en": english.get(("choice_definitions", e.definition.id, "label"), ""),
                },
                "service_id": e.definition.service_id,
                "value": e.value,
                "category_codes": list(e.category_codes),
                "channel": e.channel,
                "by": (
                    "you"
                    if e.guardian_id == guardian.id and e.channel == "web"
                    else "school_staff"
                    if e.channel != "web"
                    else "another_guardian"
                ),
                "request_event_id": e.request_id,
                "receipt_id": e.receipt_id,
            }
            for e in events
        ],
        "receipts": receipts,
        "access_history": _plain(access_history(db, student)),
        "mails": [
            {
                "subject": m.subject,
                "purpose": m.purpose,
                "created_at": _iso(m.created_at),
                "sent_at": _iso(m.sent_at),
                "status": m.status,
                # Bodies are emptied after MAIL_BODY_RETENTION_DAYS; unsent ones may still
                # carry a one-time link, so only sent bodies are given.
                "body": m.body_text if m.status == "sent" and m.body_text else None,
            }
            for m in mails
        ],
        "requests": [_request_entry(r) for r in requests],
    }


def package_json(package: dict[str, Any]) -> str:
    return json.dumps(package, ensure_ascii=False, indent=2)

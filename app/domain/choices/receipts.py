"""Consent receipts in the structure of ISO/IEC TS 27560:2023 (consent record information).

One receipt per confirmed choice event; `header.record_id` is the event's receipt UUID. The
same dictionary is shown as a page, downloaded as JSON, attached to the receipt e-mail and put
in the disclosure package. Its JSON Schema is `docs/schemas/consent-receipt.schema.json`
(docs/receipts.md explains every field).

The four parts follow TS 27560: `header` (schema version, record id, timestamps), `processing`
(purposes, personal data categories, storage location, retention, recipients with the
subcontractor chain, jurisdiction, legal basis, collection method, the notice and the choice),
`parties` (the controller with its contact from the board settings, the PII principal and the
guardian who represents them) and `events` (given, and withdrawn when a later choice replaced
it), with the `withdrawal` method.

`build_receipts` builds any number of receipts in a fixed number of statements.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select, tuple_
from sqlalchemy.orm import Session, joinedload, selectinload

from app.domain.boards.models import Board
from app.domain.catalog import published
from app.domain.catalog.definitions import wordings
from app.domain.catalog.models import (
    ChoiceDefinitionVersion,
    NoticeVersion,
    ServiceVersion,
    ServiceVersionCategory,
)
from app.domain.choices.models import ChoiceEvent
from app.domain.people.language import language_of
from app.domain.people.models import Guardian, Student
from app.domain.translations import service as translations
from app.i18n import ContentKey
from app.languages import SOURCE_LANGUAGE

SCHEMA_VERSION = "tobira-consent-receipt/2 (ISO/IEC TS 27560:2023)"
# A public body's handling of student data rests on its statutory duties, not on consent; the
# guardian's choice limits what is shown (Act on the Protection of Personal Information, art. 61).
LEGAL_BASIS = {
    "code": "public_task",
    "text": "個人情報の保護に関する法律第61条（法令の定める所掌事務の遂行に必要な範囲での保有）。保護者の選択により表示・利用の範囲を制限します。",  # noqa: E501
    "text_en": "Act on the Protection of Personal Information, art. 61 (held as needed for the duties the law gives the board); the guardian's choice limits what is shown and used.",  # noqa: E501
}
WITHDRAWAL = {
    "method": "web_or_school",
    "text": "お子さまのページでいつでも選択を変更・取り消しできます。学校へ書面・電話で伝えることもできます。",  # noqa: E501
    "text_en": "Change or withdraw the choice at any time on the child's page, or tell the school on paper or by phone.",  # noqa: E501
}

TOKYO_TIME = ZoneInfo("Asia/Tokyo")


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


def _pick_version(
    versions: list[ServiceVersion], moment: datetime, notice: NoticeVersion | None
) -> ServiceVersion | None:
    """The version the guardian was shown: the one in the notice's catalogue snapshot, else
    the one in force at `moment`, else the earliest one. `versions` are one service's, oldest first."""
    if not versions:
        return None
    snapshot = (notice.catalogue or {}).get("service_versions", {}) if notice else {}
    version_id = snapshot.get(str(versions[0].service_id)) if isinstance(snapshot, dict) else None
    for version in versions:
        if isinstance(version_id, int) and version.id == version_id:
            return version
    published = [v for v in versions if _naive(v.published_at) <= _naive(moment)]
    return published[-1] if published else versions[0]


def _naive(moment: datetime) -> datetime:
    return moment.replace(tzinfo=None) if moment.tzinfo else moment


def _iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).isoformat()


def build_receipt(db: Session, event: ChoiceEvent, *, base_url: str = "") -> dict[str, Any]:
    return build_receipts(db, [event], base_url=base_url)[0]


def build_receipts(db: Session, events: Sequence[ChoiceEvent], *, base_url: str = "") -> list[dict[str, Any]]:
    """The receipts of confirmed events (their `definition` loaded), in the same order; the
    statements run do not depend on how many there are."""
    if not events:
        return []
    boards = {b.id: b for b in db.scalars(select(Board).where(Board.id.in_({e.board_id for e in events})))}
    students = {
        s.id: s for s in db.scalars(select(Student).where(Student.id.in_({e.student_id for e in events})))
    }
    guardian_ids = {e.guardian_id for e in events if e.guardian_id}
    guardians = (
        {g.id: g for g in db.scalars(select(Guardian).where(Guardian.id.in_(guardian_ids)))}
        if guardian_ids
        else {}
    )
    notice_ids = {e.notice_version_id for e in events if e.notice_version_id}
    notices = (
        {n.id: n for n in db.scalars(select(NoticeVersion).where(NoticeVersion.id.in_(notice_ids)))}
        if notice_ids
        else {}
    )
    service_ids = {e.definition.service_id for e in events if e.definition.service_id is not None}
    # The wording each guardian was shown (ADR 0092): the version recorded with the event.
    shown = wordings(db, {(e.definition_id, e.definition_version or 1) for e in events})
    versions: dict[int, list[ServiceVersion]] = defaultdict(list)
    for found in db.scalars(
        select(ServiceVersion)
        .options(
            selectinload(ServiceVersion.categories).joinedload(ServiceVersionCategory.category),
            selectinload(ServiceVersion.purposes),
            selectinload(ServiceVersion.subcontractors),
        )
        .where(ServiceVersion.service_id.in_(service_ids))
        .order_by(ServiceVersion.service_id, ServiceVersion.version)
    ):
        versions[found.service_id].append(found)
    # Later confirmed choices on the same (student, choice) withdraw the earlier ones.
    pairs = {(e.student_id, e.definition_id) for e in events}
    later: dict[tuple[int, int], list[ChoiceEvent]] = defaultdict(list)
    for other in db.scalars(
        select(ChoiceEvent)
        .where(
            ChoiceEvent.kind == "confirmed",
            tuple_(ChoiceEvent.student_id, ChoiceEvent.definition_id).in_(sorted(pairs)),
        )
        .order_by(ChoiceEvent.created_at, ChoiceEvent.id)
    ):
        later[(other.student_id, other.definition_id)].append(other)
    languages = {"en", *(language_of(g) for g in guardians.values())} - {SOURCE_LANGUAGE}
    texts = translations.load_all(db, boards, languages)
    receipts = []
    for event in events:
        notice = notices.get(event.notice_version_id) if event.notice_version_id else None
        service_id = event.definition.service_id
        version = _pick_version(versions.get(service_id, []) if service_id else [], event.created_at, notice)
        following = [
            e
            for e in later[(event.student_id, event.definition_id)]
            if (_naive(e.created_at), e.id) > (_naive(event.created_at), event.id)
        ]
        receipts.append(
            _receipt(
                event,
                board=boards[event.board_id],
                student=students[event.student_id],
                guardian=guardians.get(event.guardian_id) if event.guardian_id else None,
                notice=notice,
                version=version,
                withdrawn_by=following[0] if following else None,
                base_url=base_url,
                wording=shown.get((event.definition_id, event.definition_version or 1)),
                texts=_Texts(
                    texts, language_of(guardians.get(event.guardian_id) if event.guardian_id else None)
                ),
            )
        )
    return receipts


class _Texts:
    """The translations a receipt carries: English in the `*_en` fields (receipts have always
    carried them) and the guardian's language, if another, under `translated` (ADR 0101)."""

    def __init__(self, found: Mapping[str, Mapping[ContentKey, str]], lang: str) -> None:
        self.found, self.lang = found, lang

    def _get(self, lang: str, obj: Any, field: str) -> str:
        return self.found.get(lang, {}).get((obj.__tablename__, obj.id, field), "")

    def en(self, obj: Any, field: str) -> str:
        return self._get("en", obj, field)

    def add(self, into: dict[str, Any], obj: Any, *fields: str) -> dict[str, Any]:
        """`into` with `<field>_en` for each field, and `translated` in the guardian's language."""
        for name in fields:
            into[f"{name}_en"] = self.en(obj, name)
        if self.lang not in ("en", SOURCE_LANGUAGE):
            local = {name: text for name in fields if (text := self._get(self.lang, obj, name))}
            if local:
                into["translated"] = local
        return into


def shown_version_id(notice: NoticeVersion | None, service_id: int) -> int | None:
    """The version of a service in the notice's catalogue snapshot (what the guardian saw)."""
    snapshot = (notice.catalogue or {}).get("service_versions", {}) if notice else {}
    version_id = snapshot.get(str(service_id)) if isinstance(snapshot, dict) else None
    return version_id if isinstance(version_id, int) else None


def fresh_receipt(
    event: ChoiceEvent,
    *,
    board: Board,
    student: Student,
    guardian: Guardian | None,
    notice: NoticeVersion | None,
    version: published.Version | None,
    wording: ChoiceDefinitionVersion | None,
    texts: Mapping[str, Mapping[ContentKey, str]],
    base_url: str = "",
) -> dict[str, Any]:
    """The receipt of a choice confirmed in this transaction, from rows the caller has read:
    nothing later can have withdrawn it yet, and `version` is the one the guardian was shown
    (`shown_version_id`), kept in memory (ADR 0095) with the board's translations (`texts`,
    the catalogue's: by language)."""
    return _receipt(
        event,
        board=board,
        student=student,
        guardian=guardian,
        notice=notice,
        version=version,
        withdrawn_by=None,
        base_url=base_url,
        wording=wording,
        texts=_Texts(texts, language_of(guardian)),
    )


def _recipients(version: ServiceVersion | published.Version, texts: _Texts) -> list[dict[str, Any]]:
    recipients: list[dict[str, Any]] = [
        {
            "name": version.vendor_name,
            "name_en": texts.en(version, "vendor_name"),
            "role": "processor",
            "country": version.data_centre_country,
            "certifications": list(version.certifications),
        }
    ]
    names = {sub.id: sub.name for sub in version.subcontractors}
    for sub in version.subcontractors:
        recipients.append(
            texts.add(
                {
                    "name": sub.name,
                    "role": "subcontractor",
                    "subcontracted_by": names.get(sub.parent_id) if sub.parent_id else version.vendor_name,
                    "task": sub.task,
                    "country": sub.country,
                    "certifications": list(sub.certifications),
                },
                sub,
                "name",
                "task",
            )
        )
    return recipients


def _receipt(
    event: ChoiceEvent,
    *,
    board: Board,
    student: Student,
    guardian: Guardian | None,
    notice: NoticeVersion | None,
    version: ServiceVersion | published.Version | None,
    withdrawn_by: ChoiceEvent | None,
    base_url: str,
    wording: ChoiceDefinitionVersion | None = None,
    texts: _Texts,
) -> dict[str, Any]:
    definition = event.definition
    # A board-wide choice (ADR 0092) is about no one service: `service` is null.
    service: dict[str, Any] | None = (
        None
        if definition.service_id is None
        else {"id": definition.service_id, "version": None, "name": "", "name_en": ""}
    )
    purposes: list[dict[str, Any]] = []
    categories: list[dict[str, Any]] = []
    storage: dict[str, Any] = {"country": None}
    retention: dict[str, Any] = {
        "backup_retention_days": None,
        "erased_at_graduation": None,
        "erased_at_contract_end": None,
        "erasure_certificate": None,
    }
    recipients: list[dict[str, Any]] = []
    if version is not None:
        service = texts.add(
            {
                "id": definition.service_id,
                "version": version.version,
                "name": version.name,
                "vendor": version.vendor_name,
                "vendor_en": texts.en(version, "vendor_name"),
                "policy_url": version.policy_url,
            },
            version,
            "name",
        )
        purposes = [
            texts.add({"text": p.text, "permitted_use": p.permitted_use}, p, "text") for p in version.purposes
        ]
        categories = []
        for c in version.categories:
            entry = texts.add({"code": c.category.code, "name": c.category.name}, c.category, "name")
            items = texts.add({"items": c.items}, c, "items")
            entry["items"], entry["items_en"] = items["items"], items["items_en"]
            if "translated" in items:
                entry["translated"] = {**entry.get("translated", {}), **items["translated"]}
            categories.append(entry)
        storage = {"country": version.data_centre_country}
        retention = {
            "backup_retention_days": version.backup_retention_days,
            "erased_at_graduation": version.erased_at_graduation,
            "erased_at_contract_end": version.erased_at_contract_end,
            "erasure_certificate": version.erasure_certificate,
        }
        recipients = _recipients(version, texts)
    by = "guardian" if event.channel == "web" else "school_staff"
    given: dict[str, Any] = {
        "event_type": "given",
        "event_time": _iso(event.created_at),
        "event_by": by,
        "method": event.channel,
    }
    if event.received_on is not None:  # carried over: given when the school received it
        given["event_time"] = datetime.combine(event.received_on, time(), TOKYO_TIME).isoformat()
        given["received_by"] = event.received_by
    events: list[dict[str, Any]] = [given]
    if withdrawn_by is not None:
        events.append(
            {
                "event_type": "withdrawn",
                "event_time": _iso(withdrawn_by.created_at),
                "event_by": "guardian" if withdrawn_by.channel == "web" else "school_staff",
                "method": withdrawn_by.channel,
                "replaced_by": withdrawn_by.receipt_id,
            }
        )
    child_path = f"/children/{student.id}"
    return {
        "header": {
            "schema_version": SCHEMA_VERSION,
            "record_id": event.receipt_id,
            "timestamps": {
                "created": _iso(event.created_at),
                "last_event": events[-1]["event_time"],
            },
            "language": language_of(guardian),
            "state": "withdrawn" if withdrawn_by is not None else "active",
        },
        "processing": {
            "service": service,
            "purposes": purposes,
            "personal_data_categories": categories,
            "storage_location": storage,
            "retention": retention,
            "recipients": recipients,
            "jurisdiction": board.jurisdiction,
            "legal_basis": dict(LEGAL_BASIS),
            "collection_method": event.channel,
            "notice": (
                texts.add(
                    {"id": notice.id, "version": notice.version, "title": notice.title}, notice, "title"
                )
                if notice
                else None
            ),
            "choice": {
                "code": definition.code,
                "label": wording.label if wording else definition.label,
                "explanation": wording.explanation if wording else definition.explanation,
                # The translations of the choice as it reads now; of the wording shown, if the same.
                **_choice_texts(texts, definition, wording),
                "definition_version": wording.version if wording else definition.version,
                "value": event.value,
                "category_codes": list(event.category_codes),
                "default_value": definition.default_value,
                "kind": definition.kind,
                "options": list(wording.options if wording else definition.options),
            },
        },
        "parties": [
            texts.add(
                {
                    "party_type": "controller",
                    "party_id": board.code,
                    "name": board.name,
                    "jurisdiction": board.jurisdiction,
                    "contact": {"email": board.contact_email, "phone": board.contact_phone},
                },
                board,
                "name",
            ),
            {
                "party_type": "pii_principal",
                "party_id": student.sourced_id,
                "name": student.full_name,
                "role": "student",
            },
            {
                # The guardian by roster id only: a child's other guardian opens this receipt too.
                "party_type": "representative",
                "party_id": guardian.sourced_id if guardian else None,
                "name": None,
                "role": "guardian",
            },
        ],
        "events": events,
        "withdrawal": {**WITHDRAWAL, "url": f"{base_url.rstrip('/')}{child_path}"},
        "references": {"event_id": event.id, "request_event_id": event.request_id},
    }


def _choice_texts(texts: _Texts, definition: Any, wording: ChoiceDefinitionVersion | None) -> dict[str, Any]:
    found = texts.add({}, definition, "label", "explanation")
    if wording is not None:  # a translation of other words than those shown does not belong here
        for name in ("label", "explanation"):
            if getattr(wording, name) != getattr(definition, name):
                found[f"{name}_en"] = ""
                found.get("translated", {}).pop(name, None)
        if not found.get("translated", True):
            found.pop("translated")
    return found


def party(receipt: dict[str, Any], party_type: str) -> dict[str, Any]:
    """The receipt's party of one type (controller, pii_principal, representative)."""
    return next(p for p in receipt["parties"] if p["party_type"] == party_type)


def receipt_json(receipt: dict[str, Any]) -> str:
    return json.dumps(receipt, ensure_ascii=False, indent=2)


def receipt_attachment(receipt: dict[str, Any]) -> dict[str, Any]:
    return {
        "filename": f"receipt-{receipt['header']['record_id']}.json",
        "content_type": "application/json",
        "content": receipt_json(receipt),
    }

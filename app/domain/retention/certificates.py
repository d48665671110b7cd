"""Vendors' erasure certificates (消去証明, seed 004): recorded per service and cohort — the
students who left in one school year (年度, April to March, Japan time), or everyone at the
end of the contract (the service retired) — and the ones overdue: a cohort that left, or a
contract that ended, more than the policy's `certificate_due_days` ago with none recorded.
A certificate is expected where the vendor's facts promise erasure at graduation or at the
contract's end. Files are PDF, PNG or JPEG (checked by their first bytes), 10 MB at most,
stored under UPLOAD_DIR/certificates/<board>/ with a random name."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import Session

from app.db import utcnow
from app.domain.audit.service import Actor, record
from app.domain.catalog.models import Service, ServiceVersion
from app.domain.catalog.queries import latest_version_ids
from app.domain.people.models import Student
from app.domain.retention.models import COHORT_KINDS, ErasureCertificate
from app.errors import Invalid, NotFound
from app.i18n import N_

TOKYO = ZoneInfo("Asia/Tokyo")
MAX_BYTES = 10 * 1024 * 1024
SIGNATURES = (
    (b"%PDF-", "application/pdf", ".pdf"),
    (b"\x89PNG\r\n\x1a\n", "image/png", ".png"),
    (b"\xff\xd8\xff", "image/jpeg", ".jpg"),
)
YEARS_LOOKED_AT = 10  # graduation cohorts of the last ten school years


def school_year(moment: datetime) -> int:
    local = moment.astimezone(TOKYO)
    return local.year if local.month >= 4 else local.year - 1


def year_start(year: int) -> datetime:
    return datetime(year, 4, 1, tzinfo=TOKYO).astimezone(UTC)


@dataclass(frozen=True)
class Overdue:
    service_id: int
    service_name: str
    vendor_name: str
    cohort_kind: str
    cohort_year: int | None
    ended_on: date
    students: int  # who left in that year (graduation cohorts)


def services_of(db: Session, board_id: int) -> list[tuple[Service, ServiceVersion]]:
    rows = db.execute(
        select(Service, ServiceVersion)
        .join(ServiceVersion, ServiceVersion.service_id == Service.id)
        .where(ServiceVersion.id.in_(latest_version_ids(board_id)))
        .order_by(Service.code)
    )
    return [(row[0], row[1]) for row in rows]


def _leavers_by_year(db: Session, board_id: int, years: list[int]) -> dict[int, int]:
    left_at = func.coalesce(Student.deactivated_at, Student.updated_at)
    columns = [
        func.sum(case((and_(left_at >= year_start(y), left_at < year_start(y + 1)), 1), else_=0))
        for y in years
    ]
    row = db.execute(select(*columns).where(Student.board_id == board_id, Student.status == "inactive")).one()
    return {year: int(count or 0) for year, count in zip(years, row, strict=True)}


def overdue(db: Session, board_id: int, due_days: int, *, now: datetime | None = None) -> list[Overdue]:
    """Certificates expected and not recorded (four statements whatever the board's size)."""
    now = now or utcnow()
    due = timedelta(days=due_days)
    ended_years = [
        y
        for y in range(school_year(now) - YEARS_LOOKED_AT, school_year(now))
        if year_start(y + 1) + due < now
    ]
    leavers = _leavers_by_year(db, board_id, ended_years) if ended_years else {}
    have = {
        (row.service_id, row.cohort_kind, row.cohort_year)
        for row in db.execute(
            select(
                ErasureCertificate.service_id, ErasureCertificate.cohort_kind, ErasureCertificate.cohort_year
            ).where(ErasureCertificate.board_id == board_id)
        )
    }
    found: list[Overdue] = []
    for service, version in services_of(db, board_id):
        for year in ended_years:
            start, end = year_start(year), year_start(year + 1)
            held = service.created_at < end and (service.retired_at is None or service.retired_at > start)
            if (
                version.erased_at_graduation
                and held
                and leavers.get(year)
                and (service.id, "graduation", year) not in have
            ):
                ended = (end - timedelta(days=1)).astimezone(TOKYO).date()
                found.append(
                    Overdue(
                        service.id,
                        version.name,
                        version.vendor_name,
                        "graduation",
                        year,
                        ended,
                        leavers[year],
                    )
                )
        retired = service.retired_at
        if (
            version.erased_at_contract_end
            and service.status == "retired"
            and retired is not None
            and retired + due < now
            and (service.id, "contract_end", None) not in have
        ):
            ended = retired.astimezone(TOKYO).date()
            found.append(
                Overdue(service.id, version.name, version.vendor_name, "contract_end", None, ended, 0)
            )
    return sorted(found, key=lambda o: (o.ended_on, o.service_name))


def recorded(db: Session, board_id: int) -> list[tuple[ErasureCertificate, str]]:
    """The board's certificates, newest first, with the service's current name."""
    rows = db.execute(
        select(ErasureCertificate, ServiceVersion.name)
        .join(ServiceVersion, ServiceVersion.service_id == ErasureCertificate.service_id)
        .where(ErasureCertificate.board_id == board_id, ServiceVersion.id.in_(latest_version_ids(board_id)))
        .order_by(ErasureCertificate.received_on.desc(), ErasureCertificate.id.desc())
    )
    return [(row[0], row[1]) for row in rows]


def file_kind(data: bytes) -> tuple[str, str] | None:
    for signature, content_type, suffix in SIGNATURES:
        if data.startswith(signature):
            return content_type, suffix
    return None


def folder(upload_dir: Path, board_id: int) -> Path:
    return upload_dir / "certificates" / str(board_id)


def record_certificate(
    db: Session,
    board_id: int,
    upload_dir: Path,
    *,
    service_id: int | None,
    cohort_kind: str,
    cohort_year: str,
    received_on: str,
    vendor_reference: str,
    data: bytes,
    actor: Actor,
) -> ErasureCertificate:
    """Check everything first (nothing is stored when anything is wrong), then save the file
    under a random name and the row, audited (ids and the kind only)."""
    problems: dict[str, str] = {}
    service = db.get(Service, service_id) if service_id is not None else None
    if service is None or service.board_id != board_id:
        problems["service"] = N_("Choose a service of this board.")
    if cohort_kind not in COHORT_KINDS:
        problems["cohort_kind"] = N_("Choose what the certificate covers.")
    year: int | None = None
    if cohort_kind == "graduation":
        text = cohort_year.strip()
        if not (text.isascii() and text.isdigit() and 2000 <= int(text) <= 2100):
            problems["cohort_year"] = N_("Enter the school year the students left, e.g. 2025.")
        else:
            year = int(text)
    try:
        received = date.fromisoformat(received_on.strip())
        if received > utcnow().astimezone(TOKYO).date():
            problems["received_on"] = N_("The date received cannot be in the future.")
    except ValueError:
        problems["received_on"] = N_("Enter the date received as YYYY-MM-DD.")
    reference = vendor_reference.strip()
    if not reference or len(reference) > 200:
        problems["vendor_reference"] = N_("Enter the vendor's reference (200 characters at most).")
    kind = file_kind(data)
    if not data:
        problems["file"] = N_("Choose the certificate file.")
    elif len(data) > MAX_BYTES:
        problems["file"] = N_("The file is larger than 10 MB; nothing was stored.")
    elif kind is None:
        problems["file"] = N_("The file is not a PDF, PNG or JPEG; nothing was stored.")
    if problems or kind is None or service is None:
        raise Invalid(fields=problems)
    content_type, suffix = kind
    stored_name = secrets.token_hex(16) + suffix
    row = ErasureCertificate(
        board_id=board_id,
        service_id=service.id,
        cohort_kind=cohort_kind,
        cohort_year=year,
        received_on=received,
        vendor_reference=reference,
        stored_name=stored_name,
        content_type=content_type,
        size_bytes=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        recorded_by_account_id=actor.id if actor.type == "account" else None,
    )
    db.add(row)
    db.flush()
    target = folder(upload_dir, board_id)
    target.mkdir(parents=True, exist_ok=True)
    (target / stored_name).write_bytes(data)
    record(
        db,
        "retention.certificate_recorded",
        actor=actor,
        board_id=board_id,
        target_type="erasure_certificate",
        target_id=row.id,
        details={
            "service_id": service.id,
            "cohort_kind": cohort_kind,
            "cohort_year": year,
            "bytes": len(data),
        },
    )
    return row


def certificate_file(
    db: Session, board_id: int, certificate_id: int, upload_dir: Path
) -> tuple[ErasureCertificate, Path]:
    row = db.get(ErasureCertificate, certificate_id)
    if row is None or row.board_id != board_id:
        raise NotFound()
    path = folder(upload_dir, board_id) / row.stored_name
    if not path.is_file():
        raise NotFound()
    return row, path

"""Vendors' erasure certificates: staff see which are overdue; a board administrator records
one (a PDF or image), and it leaves the overdue list; anything else is refused, storing nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.config import Settings
from app.db import utcnow
from app.domain.audit.models import AuditEvent
from app.domain.retention.certificates import school_year
from app.domain.retention.models import ErasureCertificate, RetentionPolicy
from app.domain.retention.policy import years_before
from tests.helpers import StatementCounter, csrf_token, sign_in_as
from tests.staff import factories as f

PDF = b"%PDF-1.7\n1 0 obj\n<<>>\nendobj\n%%EOF\n"


@pytest.fixture
def board_with_leavers(db: Session) -> dict[str, object]:
    board = f.board(db)
    school = f.school(db, board)
    service, _version, _definition = f.dashboard_service(db, board)
    service.created_at = years_before(utcnow(), 4)
    student = f.student(db, school)
    student.status, student.deactivated_at = "inactive", years_before(utcnow(), 2)
    admin = f.staff(db, board, "board_admin")
    auditor = f.staff(db, board, "auditor")
    teacher = f.staff(db, board, "teacher", school)
    db.commit()
    return {
        "board": board,
        "service": service,
        "year": school_year(student.deactivated_at),
        "admin": admin,
        "auditor": auditor,
        "teacher": teacher,
    }


def _form(client: TestClient, settings: Settings, service_id: int, year: int) -> dict[str, str]:
    return {
        "csrf_token": csrf_token(client, settings),
        "service": str(service_id),
        "cohort_kind": "graduation",
        "cohort_year": str(year),
        "received_on": "2026-11-30",
        "vendor_reference": "EDL-2026-0042",
    }


def test_an_overdue_certificate_is_listed_and_recording_it_clears_it(
    client: TestClient,
    db: Session,
    settings: Settings,
    board_with_leavers: dict[str, object],
    sql_statements: StatementCounter,
) -> None:
    w = board_with_leavers
    service_id, year = w["service"].id, w["year"]  # type: ignore[attr-defined]
    sign_in_as(client, db, settings, w["auditor"])  # type: ignore[arg-type]
    assert "/staff/retention" in client.get("/staff").text
    with sql_statements as counted:
        page = client.get("/staff/retention")
    assert page.status_code == 200 and f"{year}年度に在籍を終えた児童生徒（1 人）" in page.text
    assert counted.count <= 14, counted.report()
    assert "証明書を記録" not in page.text  # auditors read; board admins record

    client.cookies.clear()
    sign_in_as(client, db, settings, w["admin"])  # type: ignore[arg-type]
    files = {"file": ("証明書.pdf", PDF, "application/pdf")}
    done = client.post(
        "/staff/retention/certificates",
        data=_form(client, settings, service_id, year),
        files=files,
        follow_redirects=False,
    )
    assert done.status_code == 303
    page = client.get("/staff/retention")
    assert "期限を過ぎた消去証明書はありません。" in page.text and "EDL-2026-0042" in page.text
    row = db.scalar(select(ErasureCertificate))
    assert row is not None and row.content_type == "application/pdf" and "証明書" not in row.stored_name
    stored = Path(settings.upload_dir) / "certificates" / str(row.board_id) / row.stored_name
    assert stored.read_bytes() == PDF
    download = client.get(f"/staff/retention/certificates/{row.id}/file")
    assert download.status_code == 200 and download.content == PDF
    audited = db.scalar(select(AuditEvent).where(AuditEvent.action == "retention.certificate_recorded"))
    assert audited is not None and audited.details["cohort_year"] == year


@pytest.mark.parametrize(
    ("upload", "message"),
    [
        (("notes.txt", b"just text", "application/pdf"), "PDF、PNG、JPEG のいずれでもありません"),
        (("big.pdf", b"%PDF-" + b"0" * (10 * 1024 * 1024), "application/pdf"), "10 MB を超えています"),
    ],
)
def test_a_wrong_or_oversized_file_is_refused_and_nothing_is_stored(
    client: TestClient,
    db: Session,
    settings: Settings,
    board_with_leavers: dict[str, object],
    upload: tuple[str, bytes, str],
    message: str,
) -> None:
    w = board_with_leavers
    sign_in_as(client, db, settings, w["admin"])  # type: ignore[arg-type]
    form = _form(client, settings, w["service"].id, w["year"])  # type: ignore[attr-defined]
    refused = client.post("/staff/retention/certificates", data=form, files={"file": upload})
    assert refused.status_code == 422 and message in refused.text
    assert db.scalar(select(func.count()).select_from(ErasureCertificate)) == 0
    folder = Path(settings.upload_dir) / "certificates"
    assert not folder.exists() or not any(folder.rglob("*.*"))
    assert "期限を過ぎた" in refused.text and str(w["year"]) in refused.text  # still overdue


def test_the_policy_is_changed_by_a_board_admin_only(
    client: TestClient, db: Session, settings: Settings, board_with_leavers: dict[str, object]
) -> None:
    w = board_with_leavers
    sign_in_as(client, db, settings, w["teacher"])  # type: ignore[arg-type]
    assert client.get("/staff/retention").status_code == 404
    client.cookies.clear()
    sign_in_as(client, db, settings, w["admin"])  # type: ignore[arg-type]
    form = {
        "csrf_token": csrf_token(client, settings),
        "student_years": "5",
        "audit_years": "5",
        "mail_body_days": "",
        "upload_days": "7",
        "certificate_due_days": "90",
    }
    bad = client.post("/staff/retention/policy", data={**form, "student_years": "０"})
    assert bad.status_code == 422 and "1 から 30" in bad.text
    assert db.scalar(select(RetentionPolicy)) is None
    saved = client.post(
        "/staff/retention/policy", data={**form, "mail_body_days": "14"}, follow_redirects=False
    )
    assert saved.status_code == 303
    db.expire_all()
    policy = db.scalar(select(RetentionPolicy))
    assert policy is not None and policy.mail_body_days == 14 and policy.student_years == 5
    changed = db.scalar(select(AuditEvent).where(AuditEvent.action == "retention.policy_changed"))
    assert changed is not None and changed.details == {"changed": {"mail_body_days": 14}}

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.config import Settings
from app.domain.apikeys.models import ApiKey
from app.domain.audit.models import AuditEvent
from app.domain.catalog.models import ChoiceDefinition, NoticeVersion, Service, ServiceVersion
from app.domain.tokens.service import hash_secret
from tests.helpers import csrf_token, sign_in_as
from tests.staff import factories as f


@pytest.fixture
def world(db: Session) -> dict[str, Any]:
    board = f.board(db)
    school = f.school(db, board)
    service, _version, definition = f.dashboard_service(db, board)
    other_board = f.board(db, code="B2", name="よその教育委員会")
    other_service, _v, _d = f.dashboard_service(db, other_board, code="elsewhere")
    world = {
        "board": board,
        "service": service,
        "definition": definition,
        "other_service": other_service,
        "board_admin": f.staff(db, board, "board_admin"),
        "school_admin": f.staff(db, board, "school_admin", school),
        "auditor": f.staff(db, board, "auditor"),
    }
    db.commit()
    return world


def _post(client: TestClient, settings: Settings, url: str, data: Any = None) -> Any:
    payload = {"csrf_token": csrf_token(client, settings)}
    form: dict[str, list[str]] = {key: [value] for key, value in payload.items()}
    for key, value in data if isinstance(data, list) else (data or {}).items():
        form.setdefault(key, []).append(value)
    return client.post(url, data=form, follow_redirects=False)


SERVICE_FORM = [
    ("code", "drill"),
    ("name", "AI ドリル"),
    ("use_group", "learning"),
    ("vendor_name", "ドリル株式会社"),
    ("policy_url", "https://drill.example/privacy"),
    ("categories", "identity"),
    ("items_identity", "氏名, 学年"),
    ("purposes", "a: 学習の個別最適化\n授業での活用"),
    ("certifications", "ISMS, ISMAP"),
    ("data_centre_country", "jp"),
    ("backup_retention_days", "30"),
    ("anonymized_statistics", "none"),
    ("no_advertising", "on"),
    ("no_profiling", "on"),
]


def test_board_admin_creates_edits_and_retires_a_service(
    client: TestClient, db: Session, settings: Settings, world: dict[str, Any]
) -> None:
    sign_in_as(client, db, settings, world["board_admin"])
    assert client.get("/staff/services/new").status_code == 200
    created = _post(client, settings, "/staff/services/new", SERVICE_FORM)
    assert created.status_code == 303
    service = db.scalar(select(Service).where(Service.code == "drill"))
    assert service is not None
    page = client.get(created.headers["location"])
    assert "AI ドリル" in page.text and "学習の個別最適化" in page.text

    edit = client.get(f"/staff/services/{service.id}/edit")
    assert edit.status_code == 200 and 'value="AI ドリル"' in edit.text
    unchanged = _post(client, settings, f"/staff/services/{service.id}/edit", SERVICE_FORM[1:])
    assert unchanged.status_code == 422 and "変更がない" in unchanged.text

    changed = [(k, v) for k, v in SERVICE_FORM[1:]] + [("categories", "learning_records")]
    published = _post(client, settings, f"/staff/services/{service.id}/edit", changed)
    assert published.status_code == 303
    versions = db.scalars(select(ServiceVersion.version).where(ServiceVersion.service_id == service.id)).all()
    assert sorted(versions) == [1, 2]
    notice = db.scalars(select(NoticeVersion).order_by(NoticeVersion.version.desc())).first()
    assert notice is not None and notice.catalogue["changes"][0]["changed"] == ["categories"]

    retired = _post(client, settings, f"/staff/services/{service.id}/retire")
    assert retired.status_code == 303
    db.expire_all()
    assert db.get(Service, service.id).status == "retired"  # type: ignore[union-attr]
    actions = set(db.scalars(select(AuditEvent.action)))
    assert {"service.published", "service.retired", "notice.published"} <= actions


def test_bad_service_input_is_explained_and_changes_nothing(
    client: TestClient, db: Session, settings: Settings, world: dict[str, Any]
) -> None:
    sign_in_as(client, db, settings, world["board_admin"])
    bad = [
        ("code", "Bad Code!"),
        ("name", ""),
        ("use_group", "nope"),
        ("vendor_name", "x"),
        ("policy_url", "ftp://x"),
    ]
    response = _post(client, settings, "/staff/services/new", bad)
    assert response.status_code == 422
    assert "コード" in response.text and "サービス名を入力" in response.text and "https://" in response.text
    duplicate = [("code", "dashboard"), *SERVICE_FORM[1:]]
    assert "すでにあります" in _post(client, settings, "/staff/services/new", duplicate).text
    assert db.scalar(select(Service).where(Service.code == "drill")) is None


def test_choice_definitions_are_created_and_retired(
    client: TestClient, db: Session, settings: Settings, world: dict[str, Any]
) -> None:
    sign_in_as(client, db, settings, world["board_admin"])
    service = world["service"]
    response = _post(
        client,
        settings,
        f"/staff/services/{service.id}/definitions",
        {"code": "hide-grades", "kind": "categories", "label": "成績を表示しない", "label_en": "Hide grades"},
    )
    assert response.status_code == 303
    created = db.scalar(select(ChoiceDefinition).where(ChoiceDefinition.code == "hide-grades"))
    assert created is not None and created.options == ["show", "hide_all", "hide_some"]
    assert created.category_codes == world["definition"].category_codes
    assert _post(client, settings, f"/staff/definitions/{created.id}/retire").status_code == 303
    db.expire_all()
    assert db.get(ChoiceDefinition, created.id).status == "retired"  # type: ignore[union-attr]


def test_other_roles_and_boards_cannot_change_the_catalogue(
    client: TestClient, db: Session, settings: Settings, world: dict[str, Any]
) -> None:
    sign_in_as(client, db, settings, world["auditor"])
    listing = client.get("/staff/services")
    assert listing.status_code == 200 and "スクールダッシュボード" in listing.text
    assert "/staff/services/new" not in listing.text
    assert client.get("/staff/services/new").status_code == 404
    assert _post(client, settings, f"/staff/services/{world['service'].id}/retire").status_code == 404
    sign_in_as(client, db, settings, world["school_admin"])
    assert _post(client, settings, f"/staff/definitions/{world['definition'].id}/retire").status_code == 404
    sign_in_as(client, db, settings, world["board_admin"])
    other = world["other_service"]
    assert client.get(f"/staff/services/{other.id}").status_code == 404
    assert _post(client, settings, f"/staff/services/{other.id}/retire").status_code == 404


def test_api_key_is_shown_once_stored_hashed_and_revocable(
    client: TestClient, db: Session, settings: Settings, world: dict[str, Any]
) -> None:
    sign_in_as(client, db, settings, world["board_admin"])
    created = _post(client, settings, "/staff/api-keys", {"name": "スクールダッシュボード"})
    assert created.status_code == 201
    secret = created.text.split('<code id="new-key">')[1].split("</code>")[0]
    assert secret.startswith("tbr_") and created.headers["cache-control"] == "no-store"
    key = db.scalar(select(ApiKey))
    assert key is not None and key.key_hash == hash_secret(secret) and secret not in str(vars(key))
    listing = client.get("/staff/api-keys").text
    assert secret not in listing and key.prefix in listing and "未使用" in listing
    assert client.get("/api/v1/changes", headers={"Authorization": f"Bearer {secret}"}).status_code == 200
    assert "未使用" not in client.get("/staff/api-keys").text
    assert _post(client, settings, f"/staff/api-keys/{key.id}/revoke").status_code == 303
    assert client.get("/api/v1/changes", headers={"Authorization": f"Bearer {secret}"}).status_code == 401
    assert "失効" in client.get("/staff/api-keys").text
    assert _post(client, settings, "/staff/api-keys", {"name": " "}).status_code == 422

    sign_in_as(client, db, settings, world["auditor"])
    assert client.get("/staff/api-keys").status_code == 200
    assert _post(client, settings, "/staff/api-keys", {"name": "x"}).status_code == 404


def test_audit_log_filters_and_pages(
    client: TestClient, db: Session, settings: Settings, world: dict[str, Any]
) -> None:
    from app.domain.audit.service import Actor, record

    for n in range(60):
        record(
            db,
            "student.viewed",
            actor=Actor.account(7),
            board_id=world["board"].id,
            target_type="student",
            target_id=n,
        )
    record(db, "export.optouts", actor=Actor("cli"), board_id=world["board"].id, details={"row_count": 3})
    record(db, "student.viewed", actor=Actor.account(7), board_id=None, target_id="elsewhere")
    db.commit()
    sign_in_as(client, db, settings, world["auditor"])
    first = client.get("/staff/audit", params={"action": "student.viewed"})
    assert first.status_code == 200
    assert "60 件" in first.text and "1 / 2 ページ" in first.text
    assert "elsewhere" not in first.text
    exports = client.get("/staff/audit", params={"action": "export", "actor": "cli"}).text
    assert "1 件" in exports and "row_count" in exports
    # In words, each with its code beside it for whoever searches by code.
    assert "表示しない児童生徒の一覧を書き出しました" in exports and "export.optouts" in exports
    assert "コマンド" in exports and "完了" in exports and ">success<" not in exports
    second = client.get("/staff/audit", params={"action": "student.viewed", "page": "2"}).text
    assert "2 / 2 ページ" in second
    for params in ({"from": "yesterday"}, {"from": "0001-01-01"}, {"to": "9999-12-31"}):
        bad = client.get("/staff/audit", params=params)
        assert bad.status_code == 422 and "YYYY-MM-DD" in bad.text, params
    sign_in_as(client, db, settings, world["school_admin"])
    assert client.get("/staff/audit").status_code == 404


def test_every_staff_page_renders_in_english_and_japanese(
    client: TestClient, db: Session, settings: Settings, world: dict[str, Any]
) -> None:
    student = f.student(db, f.school(db, world["board"], "S9"))
    f.confirmed(db, world["definition"], student, "hide_some", [world["definition"].category_codes[0]])
    db.commit()
    sign_in_as(client, db, settings, world["board_admin"])
    pages = [
        "/staff",
        "/staff/students",
        f"/staff/students/{student.id}",
        f"/staff/students/{student.id}/record",
        "/staff/exports",
        "/staff/services",
        f"/staff/services/{world['service'].id}",
        f"/staff/services/{world['service'].id}/edit",
        "/staff/services/new",
        "/staff/api-keys",
        "/staff/audit",
    ]
    for lang, word in (("ja", "教職員メニュー"), ("en", "Staff console")):
        client.cookies.set("tobira_lang", lang)
        for page in pages:
            response = client.get(page)
            assert response.status_code == 200, page
            assert f'<html lang="{lang}">' in response.text and word in response.text, page
            assert " style=" not in response.text and "<script>" not in response.text, page


def test_publishing_a_change_tells_the_guardians_of_covered_children(
    client: TestClient,
    db: Session,
    database: Any,
    settings: Settings,
    smtp: Any,
    world: dict[str, Any],
) -> None:
    from tests.helpers import deliver_mail, run_jobs

    child = f.student(db, f.school(db, world["board"], "S7"), family="山田", given="花子")
    f.guardian(db, world["board"], child, "parent@example.test")
    db.commit()
    sign_in_as(client, db, settings, world["board_admin"])
    service = world["service"]
    form = client.get(f"/staff/services/{service.id}/edit")
    assert form.status_code == 200
    data = [(k, v) for k, v in SERVICE_FORM[1:] if k != "categories"] + [
        ("categories", "identity"),
        ("categories", "health_attendance"),
    ]
    assert _post(client, settings, f"/staff/services/{service.id}/edit", data).status_code == 303
    assert deliver_mail(database, settings) == 0  # the request only queued the announcement
    run_jobs(database, settings)
    assert deliver_mail(database, settings) >= 1
    assert len(smtp.to("parent@example.test")) == 1
    announced = db.scalar(select(AuditEvent).where(AuditEvent.action == "guardian.service_change_announced"))
    assert announced is not None

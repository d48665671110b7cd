"""The translations page (/staff/translations, ADR 0101): a board admin enters a service's
texts in Vietnamese beside the Japanese; guardians read them at once; a new version keeps the
translations of the texts it keeps; bad input changes nothing; others cannot reach it."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.config import Settings
from app.domain.audit.models import AuditEvent
from app.domain.catalog.models import ServiceVersion
from app.domain.translations import service as translations
from tests.helpers import csrf_token, sign_in_as
from tests.staff import factories as f


@pytest.fixture
def world(db: Session) -> dict[str, Any]:
    board = f.board(db)
    school = f.school(db, board)
    service, version, definition = f.dashboard_service(db, board)
    other_board = f.board(db, code="B2", name="よその教育委員会")
    other_service, _v, _d = f.dashboard_service(db, other_board, code="elsewhere")
    world = {
        "board": board,
        "service": service,
        "version": version,
        "definition": definition,
        "other_service": other_service,
        "board_admin": f.staff(db, board, "board_admin"),
        "school_admin": f.staff(db, board, "school_admin", school),
    }
    db.commit()
    return world


def _save(client: TestClient, settings: Settings, service: int | str, **texts: str) -> Any:
    return client.post(
        "/staff/translations",
        data={"csrf_token": csrf_token(client, settings), "lang": "vi", "service": str(service), **texts},
        follow_redirects=False,
    )


def _vi(db: Session, kind: str, entity_id: int) -> dict[str, str]:
    db.expire_all()
    return translations.of_entities(db, kind, [entity_id], ["vi"]).get(entity_id, {}).get("vi", {})


def test_a_board_admin_translates_a_service_into_vietnamese(
    client: TestClient, db: Session, settings: Settings, world: dict[str, Any]
) -> None:
    sign_in_as(client, db, settings, world["board_admin"])
    service, version, definition = world["service"], world["version"], world["definition"]
    page = client.get(f"/staff/translations?lang=vi&service={service.id}")
    assert page.status_code == 200
    assert '<p class="field__hint" id="t-1-ja" lang="ja">スクールダッシュボード</p>' in page.text
    assert f'name="t:service_versions:{version.id}:name"' in page.text and 'lang="vi"' in page.text
    assert f'name="t:choice_definitions:{definition.id}:label"' in page.text

    saved = _save(
        client,
        settings,
        service.id,
        **{
            f"t:service_versions:{version.id}:name": "Bảng điều khiển của trường",
            f"t:choice_definitions:{definition.id}:label": "Hiển thị trên bảng điều khiển",
        },
    )
    assert saved.status_code == 303 and saved.headers["location"].endswith("&saved=1")
    assert _vi(db, "service_versions", version.id) == {"name": "Bảng điều khiển của trường"}
    assert _vi(db, "choice_definitions", definition.id) == {"label": "Hiển thị trên bảng điều khiển"}
    shown = client.get(saved.headers["location"])
    assert 'value="Bảng điều khiển của trường"' in shown.text and "翻訳を保存しました。" in shown.text
    [event] = db.scalars(select(AuditEvent).where(AuditEvent.action == "translations.saved"))
    assert event.details == {"language": "vi", "entities": 2}
    # No version is published for a translation.
    assert db.scalars(select(ServiceVersion).where(ServiceVersion.service_id == service.id)).all() == [
        version
    ]

    # An empty field removes the translation (guardians then read the Japanese, with a note).
    _save(client, settings, service.id, **{f"t:service_versions:{version.id}:name": ""})
    assert _vi(db, "service_versions", version.id) == {}


def test_a_new_version_keeps_the_translations_of_the_texts_it_keeps(
    client: TestClient, db: Session, settings: Settings, world: dict[str, Any]
) -> None:
    sign_in_as(client, db, settings, world["board_admin"])
    service, version = world["service"], world["version"]
    _save(
        client,
        settings,
        service.id,
        **{
            f"t:service_versions:{version.id}:name": "Bảng điều khiển",
            f"t:service_versions:{version.id}:vendor_name": "Viện nghiên cứu",
        },
    )
    form = client.get(f"/staff/services/{service.id}/edit").text
    assert "name_en" not in form  # translations are entered on their own page
    edited = client.post(
        f"/staff/services/{service.id}/edit",
        data={
            "csrf_token": csrf_token(client, settings),
            "name": "スクールダッシュボード",
            "use_group": "dashboard",
            "vendor_name": "新しい教育データ研究所",
            "data_centre_country": "JP",
            "anonymized_statistics": "none",
        },
        follow_redirects=False,
    )
    assert edited.status_code == 303, edited.text
    db.expire_all()
    newest = db.scalars(
        select(ServiceVersion).where(ServiceVersion.service_id == service.id).order_by(ServiceVersion.version)
    ).all()[-1]
    assert newest.version == 2
    # The name is unchanged: its translation stays; the vendor's changed: it needs translating again.
    assert _vi(db, "service_versions", newest.id) == {"name": "Bảng điều khiển"}


def test_bad_input_changes_nothing_and_others_cannot_reach_the_page(
    client: TestClient, db: Session, settings: Settings, world: dict[str, Any]
) -> None:
    sign_in_as(client, db, settings, world["board_admin"])
    version = world["version"]
    too_long = _save(
        client, settings, world["service"].id, **{f"t:service_versions:{version.id}:name": "x" * 20_001}
    )
    assert too_long.status_code == 422 and "20,000文字以内" in too_long.text
    assert _vi(db, "service_versions", version.id) == {}
    # Another board's service, and Japanese (the source), are not on offer.
    assert client.get(f"/staff/translations?lang=vi&service={world['other_service'].id}").status_code == 404
    assert client.get("/staff/translations?lang=ja").status_code == 404
    # A text of another board named in the form is not written.
    other_version = db.scalar(
        select(ServiceVersion).where(ServiceVersion.service_id == world["other_service"].id)
    )
    assert other_version is not None
    _save(client, settings, world["service"].id, **{f"t:service_versions:{other_version.id}:name": "lạ"})
    assert _vi(db, "service_versions", other_version.id) == {}

    client.cookies.clear()
    sign_in_as(client, db, settings, world["school_admin"])
    assert client.get("/staff/translations?lang=vi").status_code in (403, 404)

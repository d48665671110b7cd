from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.domain.apikeys import service as keys
from app.domain.apikeys.models import ApiKey
from app.domain.audit.service import Actor
from app.domain.boards.models import Board
from app.domain.tokens.models import RateLimitBucket
from tests.staff import factories as f


@pytest.fixture
def world(db: Session) -> dict[str, Any]:
    board = f.board(db)
    school = f.school(db, board)
    _service, _version, definition = f.dashboard_service(db, board)
    students = [f.student(db, school, sourced_id=f"stu-{n}") for n in range(5)]
    f.confirmed(db, definition, students[0], "hide_all")
    f.confirmed(db, definition, students[1], "hide_some", [definition.category_codes[1]])
    f.confirmed(db, definition, students[2], "show")
    f.pending(db, definition, students[3], "hide_all")
    other_board = f.board(db, code="B2", name="別の教育委員会")
    other_school = f.school(db, other_board, "X1")
    _s2, _v2, other_definition = f.dashboard_service(db, other_board)
    f.confirmed(db, other_definition, f.student(db, other_school, sourced_id="other-1"), "hide_all")
    secret, key = keys.create_key(db, board_id=board.id, name="Dashboard", actor=Actor("system"))
    db.commit()
    return {"board": board, "definition": definition, "students": students, "secret": secret, "key": key}


def _get(client: TestClient, secret: str, path: str, **headers: str) -> Any:
    return client.get(path, headers={"Authorization": f"Bearer {secret}", **headers})


def test_hide_list_holds_confirmed_hides_with_categories(client: TestClient, world: dict[str, Any]) -> None:
    response = _get(client, world["secret"], "/api/v1/hide-list?service=dashboard&choice=hide")
    assert response.status_code == 200
    body = response.json()
    definition = world["definition"]
    assert body["items"] == [
        {"student_id": "stu-0", "hide": "all", "categories": definition.category_codes},
        {"student_id": "stu-1", "hide": "some", "categories": [definition.category_codes[1]]},
    ]
    assert body["next_cursor"] is None
    assert body["changes_cursor"].startswith("e")


def test_hide_list_pages_by_cursor(client: TestClient, world: dict[str, Any]) -> None:
    first = _get(client, world["secret"], "/api/v1/hide-list?service=dashboard&choice=hide&limit=1").json()
    assert [i["student_id"] for i in first["items"]] == ["stu-0"]
    assert first["next_cursor"]
    second = _get(
        client,
        world["secret"],
        f"/api/v1/hide-list?service=dashboard&choice=hide&limit=1&cursor={first['next_cursor']}",
    ).json()
    assert [i["student_id"] for i in second["items"]] == ["stu-1"]
    assert second["next_cursor"] is None
    for cursor in ("zzz", "c9999999999999999999", "c١٢"):
        bad = _get(
            client, world["secret"], f"/api/v1/hide-list?service=dashboard&choice=hide&cursor={cursor}"
        )
        assert bad.status_code == 422 and bad.json()["error"]["status"] == 422


def test_change_feed_returns_exactly_one_new_opt_out_and_one_withdrawal(
    client: TestClient, db: Session, world: dict[str, Any]
) -> None:
    start = _get(client, world["secret"], "/api/v1/hide-list?service=dashboard&choice=hide").json()
    cursor = start["changes_cursor"]
    assert _get(client, world["secret"], f"/api/v1/changes?since={cursor}").json()["changes"] == []
    definition = world["definition"]
    f.confirmed(db, definition, world["students"][4], "hide_all", channel="paper")
    f.confirmed(db, definition, world["students"][0], "show")
    db.commit()
    feed = _get(client, world["secret"], f"/api/v1/changes?since={cursor}").json()
    assert feed["changes"] == [
        {
            "student_id": "stu-4",
            "service": "dashboard",
            "choice": "hide",
            "action": "add",
            "categories": definition.category_codes,
        },
        {
            "student_id": "stu-0",
            "service": "dashboard",
            "choice": "hide",
            "action": "remove",
            "categories": [],
        },
    ]
    assert feed["has_more"] is False
    again = _get(client, world["secret"], f"/api/v1/changes?since={feed['next_cursor']}").json()
    assert again["changes"] == []


def test_etag_answers_304_until_something_changes(
    client: TestClient, db: Session, world: dict[str, Any]
) -> None:
    path = "/api/v1/hide-list?service=dashboard&choice=hide"
    first = _get(client, world["secret"], path)
    etag = first.headers["etag"]
    cached = _get(client, world["secret"], path, **{"If-None-Match": etag})
    assert cached.status_code == 304 and cached.content == b""
    f.confirmed(db, world["definition"], world["students"][4], "hide_all")
    db.commit()
    fresh = _get(client, world["secret"], path, **{"If-None-Match": etag})
    assert fresh.status_code == 200 and fresh.headers["etag"] != etag


def test_missing_unknown_and_revoked_keys_get_401(
    client: TestClient, db: Session, world: dict[str, Any]
) -> None:
    path = "/api/v1/changes"
    missing = client.get(path)
    assert missing.status_code == 401 and missing.json()["error"]["status"] == 401
    assert missing.headers["www-authenticate"] == "Bearer"
    assert _get(client, "tbr_not-a-key", path).status_code == 401
    assert _get(client, world["secret"], path).status_code == 200
    key = db.get(ApiKey, world["key"].id)
    assert key is not None
    keys.revoke_key(db, key, actor=Actor("system"))
    db.commit()
    revoked = _get(client, world["secret"], path)
    assert revoked.status_code == 401
    assert "revoked" in revoked.json()["error"]["detail"]


def test_last_used_time_is_kept(client: TestClient, db: Session, world: dict[str, Any]) -> None:
    assert world["key"].last_used_at is None
    _get(client, world["secret"], "/api/v1/changes")
    db.expire_all()
    key = db.scalar(select(ApiKey).where(ApiKey.id == world["key"].id))
    assert key is not None and key.last_used_at is not None


def test_another_boards_service_is_404_and_never_leaks(
    client: TestClient, db: Session, world: dict[str, Any]
) -> None:
    other_board = db.scalar(select(Board).where(Board.code == "B2"))
    assert other_board is not None
    _service, _version, only_theirs = f.dashboard_service(db, other_board, code="their-dashboard")
    f.confirmed(
        db, only_theirs, f.student(db, f.school(db, other_board, "X2"), sourced_id="other-2"), "hide_all"
    )
    db.commit()
    response = _get(client, world["secret"], "/api/v1/hide-list?service=their-dashboard&choice=hide")
    assert response.status_code == 404 and "error" in response.json()
    assert "other-2" not in response.text
    feed = _get(client, world["secret"], "/api/v1/changes").json()
    assert "other-1" not in [c["student_id"] for c in feed["changes"]]
    assert {c["student_id"] for c in feed["changes"]} == {"stu-0", "stu-1", "stu-2"}


def test_rate_limit_per_key_answers_429_with_retry_after(client: TestClient, world: dict[str, Any]) -> None:
    client.app.state.api_rate_limit = 3  # type: ignore[attr-defined]
    for _ in range(3):
        assert _get(client, world["secret"], "/api/v1/changes").status_code == 200
    limited = _get(client, world["secret"], "/api/v1/changes")
    assert limited.status_code == 429
    assert int(limited.headers["retry-after"]) >= 1
    assert limited.json()["error"] == {
        "status": 429,
        "title": "Too many attempts",
        "detail": "Limit is 3 per minute.",
    }
    # The refused request still counts (its rollback keeps the rate-limit write), so the key
    # stays limited for the rest of the window: five hits counted, two of them refused.
    assert _get(client, world["secret"], "/api/v1/changes").status_code == 429
    with client.app.state.database.session() as session:  # type: ignore[attr-defined]
        assert session.scalar(select(func.sum(RateLimitBucket.count))) == 5


def test_bad_query_gets_a_json_error(client: TestClient, world: dict[str, Any]) -> None:
    response = _get(client, world["secret"], "/api/v1/hide-list?service=dashboard&choice=hide&limit=0")
    assert response.status_code == 422
    assert "limit" in response.json()["error"]["detail"]


def test_openapi_documents_the_api(client: TestClient) -> None:
    spec = client.get("/api/v1/openapi.json").json()
    assert "/api/v1/hide-list" in spec["paths"] and "/api/v1/changes" in spec["paths"]
    assert "HideList" in spec["components"]["schemas"]
    assert "HTTPBearer" in spec["components"]["securitySchemes"]
    assert not any(path.startswith("/staff/exports") for path in spec["paths"])


def test_change_feed_pages_and_filters_by_service(client: TestClient, world: dict[str, Any]) -> None:
    first = _get(client, world["secret"], "/api/v1/changes?limit=1").json()
    assert len(first["changes"]) == 1 and first["has_more"] is True
    rest = _get(client, world["secret"], f"/api/v1/changes?since={first['next_cursor']}&limit=10").json()
    assert rest["has_more"] is False
    seen = [c["student_id"] for c in first["changes"] + rest["changes"]]
    assert seen == ["stu-0", "stu-1", "stu-2"]
    # stu-2 chose the default ("show"): for the dashboard that is a removal.
    assert rest["changes"][-1]["action"] == "remove"
    filtered = _get(client, world["secret"], "/api/v1/changes?service=dashboard&choice=hide").json()
    assert len(filtered["changes"]) == 3
    unknown = _get(client, world["secret"], "/api/v1/changes?service=dashboard&choice=nope")
    assert unknown.status_code == 404

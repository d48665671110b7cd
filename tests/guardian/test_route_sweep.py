"""Every route with a path parameter, given ids no row can have, answers 404 or 422 — never
500 — for a guardian and for a board administrator alike (on PostgreSQL, a value beyond
BIGINT used to reach the database)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.config import Settings
from tests.guardian.factories import World
from tests.helpers import csrf_token, sign_in_as
from tests.staff import factories as staff_factories

HOSTILE = ("0", "-1", str(2**63), "99999999999999999999", "abc", "1.5")
PARAMETER = re.compile(r"{([^}:]+)(?::[^}]+)?}")


def _walk(routes: list[Any], prefix: str = "") -> Iterator[tuple[str, str]]:
    """(method, path) of every route, through included routers and their prefixes."""
    for route in routes:
        if isinstance(route, APIRoute):
            path = prefix + route.path
            yield from ((method, path) for method in sorted(route.methods) if method != "HEAD")
        elif hasattr(route, "original_router"):  # an included router
            yield from _walk(route.original_router.routes, prefix + route.include_context.prefix)


def _routes(client: TestClient) -> list[tuple[str, str]]:
    return sorted({pair for pair in _walk(client.app.routes) if "{" in pair[1]})  # type: ignore[attr-defined]


def test_no_path_parameter_makes_a_server_error(
    client: TestClient, db: Session, settings: Settings, world: World
) -> None:
    admin = staff_factories.staff(db, world.board, "board_admin")
    db.commit()
    routes = _routes(client)
    assert len(routes) > 20
    failures = []
    for who in (world.account, admin):
        client.cookies.clear()
        sign_in_as(client, db, settings, who)
        token = csrf_token(client, settings)
        for method, template in routes:
            for value in HOSTILE:
                path = PARAMETER.sub(value, template)
                response = client.request(method, path, data={"csrf_token": token}, follow_redirects=False)
                if response.status_code >= 500:
                    failures.append(f"{who.kind} {method} {path}: {response.status_code}")
    assert failures == []

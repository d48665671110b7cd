from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy.orm import Session

from app.config import OIDCProvider, Settings
from tests.guardian.factories import World, build_world
from tests.oidc import MockProvider, mock_provider


@pytest.fixture(scope="session")
def _idp_server() -> Iterator[MockProvider]:
    with mock_provider() as provider:
        yield provider


@pytest.fixture
def idp(_idp_server: MockProvider) -> MockProvider:
    return _idp_server


@pytest.fixture
def world(db: Session) -> World:
    world = build_world(db)
    db.commit()
    return world


def student_provider(idp: MockProvider, name: str, board_code: str) -> OIDCProvider:
    """A board's student provider: the roster id travels in the `roster_id` claim."""
    return OIDCProvider.model_validate(
        {
            **idp.config(name, audience="staff", client_id=f"{name}-client").model_dump(),
            "audience": "student",
            "board": board_code,
            "student_claim": "roster_id",
            "display_name": f"School account ({name})",
        }
    )


@pytest.fixture
def settings(settings: Settings, idp: MockProvider, world: World) -> Settings:
    settings.oidc_providers = [
        idp.config("family", audience="guardian", display_name="Family ID"),
        idp.config("staffidp", audience="staff", client_id="staff-client", display_name="Board ID"),
        student_provider(idp, "students", world.board.code),
        student_provider(idp, "toda-students", world.foreign_board.code),
    ]
    return settings

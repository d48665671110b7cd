from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from tests.guardian.factories import World, build_world


@pytest.fixture
def world(db: Session) -> World:
    return build_world(db)

from __future__ import annotations

from collections.abc import Iterator

import pytest

from app.config import Settings
from tests.oidc import MockProvider, mock_provider


@pytest.fixture(scope="session")
def _idp_server() -> Iterator[MockProvider]:
    """One provider for the session: starting one costs an RSA key generation."""
    with mock_provider() as provider:
        yield provider


@pytest.fixture
def idp(_idp_server: MockProvider) -> Iterator[MockProvider]:
    _idp_server.wrong_issuer = False
    yield _idp_server
    _idp_server.wrong_issuer = False


@pytest.fixture
def settings(settings: Settings, idp: MockProvider) -> Settings:
    """Two guardian providers (one the board will trust) and one staff provider, all real."""
    settings.oidc_providers = [
        idp.config("demo", audience="guardian", display_name="Demo ID"),
        idp.config("other", audience="guardian", client_id="other-client", display_name="Other ID"),
        idp.config("staffidp", audience="staff", client_id="staff-client", display_name="Board ID"),
    ]
    return settings

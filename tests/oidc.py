"""A real OpenID provider (oidc-provider-mock) on a free loopback port, for end-to-end tests.

Usage in a test module::

    from tests.oidc import MockProvider, mock_provider, sign_in_through

    @pytest.fixture
    def idp() -> Iterator[MockProvider]:
        with mock_provider() as provider:
            yield provider

    def test_x(idp, settings, client):
        settings.oidc_providers = [idp.config("demo", audience="guardian")]
        idp.set_user("alice", email="a@example.jp", email_verified=True)
        response = sign_in_through(client, idp, "demo", "alice")  # drives the browser flow

The provider issues ID tokens whose `iss` is the URL it was reached at
(`http://127.0.0.1:<port>`). `wrong_issuer = True` makes its token endpoint sign
tokens for `http://localhost:<port>` instead, to test the issuer check.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx
import oidc_provider_mock
import werkzeug.serving
from fastapi.testclient import TestClient

from app.config import OIDCProvider
from tests.helpers import free_port


class MockProvider:
    def __init__(self, port: int) -> None:
        self.port = port
        self.issuer = f"http://127.0.0.1:{port}"
        self.wrong_issuer = False

    def config(
        self,
        name: str,
        *,
        audience: str = "guardian",
        client_id: str = "tobira-test",
        client_secret: str = "tobira-test-secret",  # noqa: S107 (a test client of a local mock)
        display_name: str | None = None,
        groups_claim: str = "groups",
    ) -> OIDCProvider:
        return OIDCProvider.model_validate(
            {
                "name": name,
                "issuer": self.issuer,
                "client_id": client_id,
                "client_secret": client_secret,
                "audience": audience,
                "display_name": display_name or f"Test IdP ({name})",
                "groups_claim": groups_claim,
            }
        )

    def set_user(self, sub: str, **claims: Any) -> None:
        """Create or replace a user whose claims the provider asserts at sign-in."""
        response = httpx.put(f"{self.issuer}/users/{sub}", json=claims, timeout=10)
        response.raise_for_status()

    def authorize(self, authorize_url: str, sub: str | None, *, deny: bool = False) -> str:
        """Act as the user's browser at the provider; return the redirect back to the app."""
        with httpx.Client(timeout=10, follow_redirects=False) as browser:
            page = browser.get(authorize_url)
            if page.status_code != 200:
                raise AssertionError(f"provider refused the request: {page.status_code} {page.text[:300]}")
            form = {"action": "deny"} if deny else {"sub": sub or ""}
            answer = browser.post(authorize_url, data=form)
        if answer.status_code not in (302, 303):
            raise AssertionError(f"provider did not redirect: {answer.status_code} {answer.text[:300]}")
        return answer.headers["location"]


class _IssuerSwitch:
    """WSGI wrapper: with `wrong_issuer`, the token endpoint sees another host name."""

    def __init__(self, app: Any, provider: MockProvider) -> None:
        self.app = app
        self.provider = provider

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        if self.provider.wrong_issuer and environ.get("PATH_INFO") == "/oauth2/token":
            environ["HTTP_HOST"] = f"localhost:{self.provider.port}"
        return self.app(environ, start_response)  # type: ignore[no-any-return]


@contextmanager
def mock_provider(
    *, require_nonce: bool = True, token_max_age: timedelta = timedelta(hours=1)
) -> Iterator[MockProvider]:
    """Run oidc-provider-mock on 127.0.0.1:<free port> for the duration of the block.

    `token_max_age` sets the lifetime of ID tokens (negative: already expired).
    """
    port = free_port()
    provider = MockProvider(port)
    app = oidc_provider_mock.app(require_nonce=require_nonce, access_token_max_age=token_max_age)
    server = werkzeug.serving.make_server("127.0.0.1", port, _IssuerSwitch(app, provider), threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield provider
    finally:
        server.shutdown()
        server.server_close()
        thread.join(2)


def start_sign_in(client: TestClient, provider_name: str, next_url: str | None = None) -> str:
    """GET /auth/login/<provider>; return the provider's authorize URL it redirects to."""
    params = {"next": next_url} if next_url else {}
    response = client.get(f"/auth/login/{provider_name}", params=params, follow_redirects=False)
    assert response.status_code in (302, 303), response.text[:500]
    return str(response.headers["location"])


def callback_path(location: str) -> str:
    """The path and query of the provider's redirect, for the app's TestClient."""
    parts = urlsplit(location)
    return f"{parts.path}?{parts.query}"


def sign_in_through(
    client: TestClient,
    provider: MockProvider,
    provider_name: str,
    sub: str,
    *,
    next_url: str | None = None,
) -> httpx.Response:
    """The whole browser flow; returns the app's answer to the callback (not followed)."""
    authorize_url = start_sign_in(client, provider_name, next_url)
    location = provider.authorize(authorize_url, sub)
    return client.get(callback_path(location), follow_redirects=False)

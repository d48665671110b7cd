"""The served app is wired as the journeys need it: its own database, mail to the sink."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy.orm import Session

from app.domain.notifications.service import queue_email
from tests.e2e.conftest import LiveServer
from tests.e2e.support import Mailbox


def test_mail_queued_in_the_served_database_reaches_the_sink(
    live_server: LiveServer, e2e_db: Session, mailbox: Mailbox
) -> None:
    queue_email(
        e2e_db,
        to="parent@example.jp",
        template="email/test.txt",
        context={"name": "保護者さま"},
        purpose="test",
        language="ja",
        board_id=None,
    )
    e2e_db.commit()
    [message] = mailbox.wait_for("parent@example.jp")
    assert message["Subject"] == "テストメール"


def test_served_app_answers_with_its_security_headers(live_server: LiveServer) -> None:
    response = httpx.get(f"{live_server.url}/")
    assert response.status_code == 200
    assert "script-src 'self'" in response.headers["content-security-policy"]
    assert live_server.settings.worker_in_app


def test_served_app_knows_the_loopback_identity_provider(live_server: LiveServer, e2e_idp: Any) -> None:
    if e2e_idp is None:
        pytest.skip("tests/oidc.py (the loopback OpenID provider) is not on this branch")
    discovery = httpx.get(f"{e2e_idp.issuer}/.well-known/openid-configuration", timeout=10)
    assert discovery.json()["issuer"] == e2e_idp.issuer
    audiences = {p.audience for p in live_server.settings.oidc_providers}
    assert audiences == {"guardian", "staff"}
    # Sign-out may send the browser to the provider: the CSP must allow that form target.
    assert e2e_idp.issuer in httpx.get(f"{live_server.url}/").headers["content-security-policy"]

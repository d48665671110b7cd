"""The dev mailbox shows what the real SMTP sink received from the real dispatcher."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.config import Settings
from app.db import Database
from app.domain.notifications.service import queue_email
from app.surfaces.demo.mail_sink import MailSink
from tests.helpers import deliver_mail, free_port


@pytest.fixture
def sink(tmp_path: Path) -> Iterator[MailSink]:
    mail_sink = MailSink(tmp_path / "mail", free_port())
    mail_sink.start()
    yield mail_sink
    mail_sink.stop()


@pytest.fixture
def mailbox_client(client: TestClient, sink: MailSink) -> TestClient:
    client.app.state.demo_mail_dir = sink.directory  # type: ignore[attr-defined]
    return client


def _send(db: Session, database: Database, settings: Settings, sink: MailSink, to: str, name: str) -> None:
    queue_email(
        db,
        to=to,
        template="email/test.txt",
        context={"name": name},
        purpose="test",
        language="ja",
        board_id=None,
        attachments=[
            {"filename": "receipt.json", "content_type": "application/json", "content": '{"ok": 1}'}
        ],
    )
    db.commit()
    assert deliver_mail(database, settings.model_copy(update={"smtp_port": sink.port})) == 1


def test_mailbox_lists_newest_first_and_shows_a_message_with_clickable_links(
    db: Session, database: Database, settings: Settings, sink: MailSink, mailbox_client: TestClient
) -> None:
    empty = mailbox_client.get("/dev/mailbox")
    assert empty.status_code == 200 and "まだメールはありません" in empty.text
    _send(db, database, settings, sink, "hogosha001@demo.tobira.test", "最初のメール")
    _send(
        db,
        database,
        settings,
        sink,
        "hogosha002@demo.tobira.test",
        "確認 https://127.0.0.1/confirm/abc?x=1&y=2",
    )
    assert len(list(sink.directory.glob("*.eml"))) == 2

    listing = mailbox_client.get("/dev/mailbox")
    assert listing.status_code == 200
    assert listing.text.index("hogosha002@") < listing.text.index("hogosha001@")  # newest first
    assert "テストメール" in listing.text
    first_link = re.search(r'href="(/dev/mailbox/[^"]+)"', listing.text)
    assert first_link is not None

    page = mailbox_client.get(first_link.group(1))
    assert page.status_code == 200
    assert "hogosha002@demo.tobira.test" in page.text and "差出人" in page.text
    assert '<a href="https://127.0.0.1/confirm/abc?x=1&amp;y=2">' in page.text
    attachment = re.search(r'href="(/dev/mailbox/[^"]+/attachments/0)">receipt.json<', page.text)
    assert attachment is not None
    download = mailbox_client.get(attachment.group(1))
    assert download.status_code == 200 and download.json() == {"ok": 1}
    assert "attachment" in download.headers["content-disposition"]


def test_htmx_polls_for_the_list_alone(mailbox_client: TestClient) -> None:
    page = mailbox_client.get("/dev/mailbox")
    assert 'hx-trigger="every 3s"' in page.text and "<html" in page.text
    fragment = mailbox_client.get("/dev/mailbox", headers={"HX-Request": "true"})
    assert fragment.text.lstrip().startswith('<div id="messages"') and "<html" not in fragment.text
    assert "HX-Request" in fragment.headers["vary"]


def test_mailbox_in_english(mailbox_client: TestClient) -> None:
    page = mailbox_client.get("/dev/mailbox", headers={"Accept-Language": "en"})
    assert "Dev mailbox" in page.text and "No e-mail yet" in page.text


@pytest.mark.parametrize(
    "message_id", ["nope", "20261122T000000000000-deadbeef.eml", "20261122T000000000000-deadbeef"]
)
def test_unknown_or_malformed_message_is_a_clear_404(mailbox_client: TestClient, message_id: str) -> None:
    response = mailbox_client.get(f"/dev/mailbox/{message_id}")
    assert response.status_code == 404
    assert "このメールはメールボックスにありません" in response.text


def test_paths_outside_the_mailbox_are_not_reachable(mailbox_client: TestClient) -> None:
    for path in ("/dev/mailbox/..%2F..%2Fetc%2Fpasswd", "/dev/mailbox/%2E%2E/attachments/0"):
        response = mailbox_client.get(path)
        assert response.status_code == 404 and "root:" not in response.text


def test_mailbox_is_not_served_in_production(database: Database, settings: Settings) -> None:
    from app.main import create_app

    production = settings.model_copy(update={"environment": "production"})
    with TestClient(create_app(production, database), base_url="http://127.0.0.1") as client:
        assert client.get("/dev/mailbox").status_code == 404

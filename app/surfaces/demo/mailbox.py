"""The dev mailbox reader: the .eml files the demo's SMTP sink (`mail_sink.py`) kept.

Files are named `<UTC time>-<random>.eml`, so sorting names sorts by arrival. This module
needs nothing beyond the standard library, so the app imports it in any install.
"""

from __future__ import annotations

import email
import email.policy
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path

MESSAGE_ID = re.compile(r"^\d{8}T\d{6}\d{6}-[0-9a-f]{8}$")
LINK = re.compile(r"https?://[^\s<>\"'）」]+")


@dataclass(frozen=True)
class MessageSummary:
    id: str
    received_at: datetime
    to: str
    subject: str


@dataclass(frozen=True)
class TextPart:
    text: str
    is_link: bool


@dataclass(frozen=True)
class MessageView:
    summary: MessageSummary
    sender: str
    parts: list[TextPart]
    attachments: list[str]


def _received_at(message_id: str) -> datetime:
    return datetime.strptime(message_id.split("-")[0], "%Y%m%dT%H%M%S%f").replace(tzinfo=UTC)


def _parse(path: Path) -> EmailMessage:
    message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message


def _summary(message_id: str, message: EmailMessage) -> MessageSummary:
    return MessageSummary(
        id=message_id,
        received_at=_received_at(message_id),
        to=str(message.get("To", "")),
        subject=str(message.get("Subject", "")),
    )


def list_messages(directory: Path, limit: int = 200) -> list[MessageSummary]:
    """Newest first."""
    if not directory.is_dir():
        return []
    paths = sorted((p for p in directory.glob("*.eml") if MESSAGE_ID.match(p.stem)), reverse=True)
    return [_summary(path.stem, _parse(path)) for path in paths[:limit]]


def split_links(text: str) -> list[TextPart]:
    """Plain text cut into text and link parts, so a template can make links clickable."""
    parts: list[TextPart] = []
    position = 0
    for match in LINK.finditer(text):
        if match.start() > position:
            parts.append(TextPart(text[position : match.start()], False))
        parts.append(TextPart(match.group(0), True))
        position = match.end()
    if position < len(text):
        parts.append(TextPart(text[position:], False))
    return parts


def read_message(directory: Path, message_id: str) -> MessageView | None:
    """The message with this id, or None (unknown or malformed ids never touch the disk)."""
    if not MESSAGE_ID.match(message_id):
        return None
    path = directory / f"{message_id}.eml"
    if not path.is_file():
        return None
    message = _parse(path)
    body = message.get_body(preferencelist=("plain",))
    text = str(body.get_content()) if body is not None else ""
    attachments = [
        part.get_filename() or f"attachment-{n + 1}" for n, part in enumerate(message.iter_attachments())
    ]
    return MessageView(
        summary=_summary(message_id, message),
        sender=str(message.get("From", "")),
        parts=split_links(text),
        attachments=attachments,
    )


def read_attachment(directory: Path, message_id: str, index: int) -> tuple[str, str, bytes] | None:
    """(filename, content type, bytes) of the message's `index`-th attachment, or None."""
    if not MESSAGE_ID.match(message_id) or index < 0:
        return None
    path = directory / f"{message_id}.eml"
    if not path.is_file():
        return None
    attachments = list(_parse(path).iter_attachments())
    if index >= len(attachments):
        return None
    part = attachments[index]
    payload = part.get_payload(decode=True)
    content = payload if isinstance(payload, bytes) else b""
    return part.get_filename() or f"attachment-{index + 1}", part.get_content_type(), content

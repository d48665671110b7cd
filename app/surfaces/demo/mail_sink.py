"""The demo's SMTP sink: a real SMTP server (aiosmtpd, the `demo` extra) on loopback that keeps
every message as an .eml file, so the dispatcher sends mail exactly as in production and
nothing leaves the machine (ADR 0051). `mailbox.py` reads what it kept.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller


class _SaveToDirectory:
    def __init__(self, directory: Path) -> None:
        self.directory = directory

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        content: bytes = envelope.original_content or envelope.content
        stem = f"{datetime.now(UTC):%Y%m%dT%H%M%S%f}-{uuid.uuid4().hex[:8]}"
        partial = self.directory / f".{stem}.tmp"
        partial.write_bytes(content)
        partial.rename(self.directory / f"{stem}.eml")
        return "250 Message accepted for delivery"


class MailSink:
    """aiosmtpd on 127.0.0.1:`port`, writing each message to `directory`."""

    def __init__(self, directory: Path, port: int, host: str = "127.0.0.1") -> None:
        self.directory = directory
        self.port = port
        self.controller = Controller(_SaveToDirectory(directory), hostname=host, port=port)

    def start(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        self.controller.start()

    def stop(self) -> None:
        self.controller.stop()

"""Progress of a running import, for the command line and the upload page.

Progress is counted in bytes read (every file read is known in size up front). The
import's own transaction holds its writes until the end, so progress is written
through a separate connection in short transactions (PostgreSQL). SQLite allows one
writer at a time; there the figure is kept in this process only (`LIVE`) and the
row is written when the import ends.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from sqlalchemy import update

from app.db import Database
from app.domain.roster.models import RosterImport

log = logging.getLogger("tobira.roster")
LIVE: dict[int, int] = {}
_lock = threading.Lock()


class Tracker:
    def __init__(
        self,
        database: Database | None,
        import_id: int | None,
        listener: Callable[[int, int], None] | None = None,
    ) -> None:
        self.database = database
        self.import_id = import_id
        self.listener = listener
        self.total = 1
        self.done = 0
        self.percent = 0
        self._written_at = 0.0

    def start(self, total_bytes: int) -> None:
        self.total = max(total_bytes, 1)
        self.done = 0
        self._publish(0)

    def advance(self, count: int) -> None:
        self.done = min(self.done + count, self.total)
        if self.listener is not None:
            self.listener(self.done, self.total)
        percent = min(99, self.done * 100 // self.total)
        if percent != self.percent:
            self._publish(percent)

    def _publish(self, percent: int) -> None:
        self.percent = percent
        if self.import_id is None:
            return
        with _lock:
            LIVE[self.import_id] = percent
        if self.database is None or self.database.engine.dialect.name == "sqlite":
            return
        now = time.monotonic()
        if now - self._written_at < 0.5:
            return
        self._written_at = now
        try:
            with self.database.engine.begin() as conn:
                conn.execute(
                    update(RosterImport).where(RosterImport.id == self.import_id).values(progress=percent)
                )
        except Exception:  # progress is a courtesy; the import itself must not fail on it
            log.warning("could not record progress of roster import %s", self.import_id)

    def forget(self) -> None:
        if self.import_id is not None:
            with _lock:
                LIVE.pop(self.import_id, None)


def live_progress(import_id: int) -> int | None:
    with _lock:
        return LIVE.get(import_id)

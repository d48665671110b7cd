"""The request (or job) being served, for code that has no request object (audit, logs)."""

from __future__ import annotations

from contextvars import ContextVar

request_id_var: ContextVar[str] = ContextVar("request_id", default="")

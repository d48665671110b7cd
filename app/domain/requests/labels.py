"""Words for request kinds and states, in the current language (pages and e-mails)."""

from __future__ import annotations

from app.i18n import gettext

KIND_NAMES = {
    "disclosure": "Disclosure of the data held (開示)",
    "correction": "Correction of the data (訂正)",
    "stop_use": "Stop of use (利用停止)",
    "portability": "A copy of the data to take elsewhere (data portability)",
}
KIND_HINTS = {
    "disclosure": "Everything Tobira holds about your child and you, as a file and a printable page.",
    "correction": "Tell us what is wrong in the roster facts or the records.",
    "stop_use": "Ask the board to stop using or showing your child's data.",
    "portability": "The same data as a disclosure, in a machine-readable file (JSON).",
}
STATUS_NAMES = {
    "received": "Received, being handled",
    "extended": "Received (answer period extended)",
    "answered": "Answered",
    "closed": "Closed",
}


class RequestLabels:
    def kind(self, code: str) -> str:
        return gettext(KIND_NAMES.get(code, code))

    def kind_hint(self, code: str) -> str:
        return gettext(KIND_HINTS.get(code, ""))

    def status(self, code: str) -> str:
        return gettext(STATUS_NAMES.get(code, code))


LABELS = RequestLabels()

"""English msgids for codes shown on staff pages (translated in locale/ja/staff.po)."""

from __future__ import annotations

from app.domain.choices.models import SUPERSEDED_BY_SCHOOL
from app.i18n import gettext

VALUE_LABELS = {
    "show": "Show",
    "hide": "Hide",
    "hide_all": "Hide all data",
    "hide_some": "Hide some kinds of data",
    "allow": "Allow",
    "deny": "Do not allow",
}
CHANNEL_LABELS = {
    "web": "Online",
    "paper": "Paper form",
    "phone": "Phone",
    "in_person": "In person",
    "import": "Import",
}
STAFF_CHANNELS = ("paper", "phone", "in_person")
ROLE_LABELS = {
    "board_admin": "Board administrator",
    "school_admin": "School administrator",
    "teacher": "Teacher",
    "auditor": "Auditor",
}


SCHOOL_STAGES = {
    "P": "Primary grade {n}",
    "J": "Lower secondary grade {n}",
    "H": "Upper secondary grade {n}",
}


def grade_label(code: str | None) -> str:
    """P3 → 「小学3年」: staff filter and read across schools, so the stage is spelled out."""
    if not code or code[0] not in SCHOOL_STAGES or not code[1:].isdigit():
        return code or ""
    return gettext(SCHOOL_STAGES[code[0]]).format(n=code[1:])


def value_label(value: str, lang: str | None = None) -> str:
    return gettext(VALUE_LABELS.get(value, value), lang)


def channel_label(channel: str | None, lang: str | None = None) -> str:
    if not channel:
        return ""
    return gettext(CHANNEL_LABELS.get(channel, channel), lang)


def reason_label(reason: str) -> str:
    """A reason staff wrote is shown as written; the reasons Tobira writes are translated."""
    return gettext(reason) if reason == SUPERSEDED_BY_SCHOOL else reason

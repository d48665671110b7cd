"""Words for codes shown on staff pages; values and channels share the guardians' wording."""

from __future__ import annotations

from app.domain.choices.labels import channel, choice_value
from app.domain.choices.models import SUPERSEDED_BY_SCHOOL
from app.i18n import gettext

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


# Values and channels read the same to staff as to guardians (docs/glossary.md).
value_label = choice_value
channel_label = channel


def reason_label(reason: str) -> str:
    """A reason staff wrote is shown as written; the reasons Tobira writes are translated."""
    return gettext(reason) if reason == SUPERSEDED_BY_SCHOOL else reason

"""Words for students (やさしい日本語 in locale/ja/student.po) and furigana (ADR 0085).

The Japanese texts carry their readings in Aozora Bunko notation — `学校《がっこう》`, or
`｜基本《きほん》` where the base is not a run of kanji — so one msgid serves every grade:
`ruby(text, True)` turns each reading into `<ruby>` (grades P1–P6), `ruby(text, False)`
drops the readings. Text without readings (English) is unchanged.
"""

from __future__ import annotations

import re

from markupsafe import Markup, escape

from app.domain.choices.service import Effective
from app.i18n import gettext
from app.templating import templates_env

_READING = re.compile(r"(?:｜([^｜《》]+)|([\u3005\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+))《([^《》]+)》")


def ruby(text: object, with_ruby: bool) -> Markup:
    """Escape `text` (unless already markup) and render or drop its readings."""
    safe = str(text if isinstance(text, Markup) else escape(str(text)))

    def replace(match: re.Match[str]) -> str:
        base = match.group(1) or match.group(2)
        return f"<ruby>{base}<rp>（</rp><rt>{match.group(3)}</rt><rp>）</rp></ruby>" if with_ruby else base

    return Markup(_READING.sub(replace, safe))  # noqa: S704 (every part was escaped above)


templates_env.filters["ruby"] = ruby

# What each kind of data means, for a child (category codes of app/domain/catalog/vocabulary.py).
CATEGORY_WORDS = {
    "identity": "Your name, your class and your number in class.",
    "credentials": "The ID and password you use to sign in.",
    "learning_records": "The work you do and hand in, and what you share in class.",
    "activity_media": "Photos and videos of you in lessons and school events.",
    "home_contact": "Messages between your home and the school, such as why you were absent.",
    "survey_answers": "Your answers to school questionnaires.",
    "grades": "Your marks and how your teachers see your learning.",
    "guidance": "Notes about your future plans and about helping you at school.",
    "health_attendance": "Your health checks and the days you came to school or were absent.",
}

# What the guardians' choice is now, for a child (values of ChoiceDefinition.options).
VALUE_WORDS = {
    "show": "Your data is shown.",
    "hide": "Your data is hidden.",
    "hide_all": "All of your data is hidden.",
    "hide_some": "Some kinds of your data are hidden:",
    "allow": "Your guardians said yes.",
    "deny": "Your guardians said no.",
}


def category_words(code: str) -> str:
    return gettext(CATEGORY_WORDS.get(code, ""))


def value_words(effective: Effective) -> str:
    return (
        gettext(VALUE_WORDS.get(effective.value, "")) if effective.value in VALUE_WORDS else effective.value
    )

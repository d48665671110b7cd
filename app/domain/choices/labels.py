"""Plain-language labels for codes shown to guardians (pages and e-mails alike).

Each function reads the current language (`app.i18n.current_language`), which the
request middleware sets for pages and `queue_email` sets for e-mails. Templates get
them through `LABELS` in their context.
"""

from __future__ import annotations

from collections.abc import Mapping

from babel import Locale

from app.domain.catalog.models import DataCategory
from app.domain.choices.change_words import change_words
from app.domain.people.models import Student
from app.i18n import _, current_language


def use_group(code: str) -> str:
    return {
        "learning": _("Learning"),
        "home_contact": _("Home–school contact"),
        "survey": _("Surveys of learning and daily life"),
        "dashboard": _("School Dashboard"),
    }.get(code, code)


def choice_value(value: str) -> str:
    return {
        "show": _("Show (no change)"),
        "hide": _("Hide"),
        "hide_all": _("Hide all data"),
        "hide_some": _("Hide only the chosen kinds of data"),
        "allow": _("Allow"),
        "deny": _("Do not allow"),
    }.get(value, value)


def certification(code: str) -> str:
    return {
        "ISMS": _("ISMS (ISO/IEC 27001)"),
        "ISMAP": _("ISMAP (Japanese government cloud security register)"),
        "PrivacyMark": _("Privacy Mark"),
        "Privacy Mark": _("Privacy Mark"),
    }.get(code, code)


def anonymized_statistics(code: str) -> str:
    return {
        "none": _("No anonymized statistics are made from the data."),
        "produced": _("Anonymized statistics are made from the data, but not given to others."),
        "shared": _("Anonymized statistics are made from the data and shared with others."),
    }.get(code, code)


def permitted_use(letter: str | None) -> str:
    """The permitted uses (ア–オ) of the Ashiya memorandum (seed 001)."""
    if letter is None:
        return ""
    return {
        "a": _("To keep the service safe and running smoothly"),
        "b": _("To prevent misuse of the service"),
        "c": _("To maintain the service and fix faults"),
        "d": _("To answer the board's questions and requests about the service"),
        "e": _("Other uses that go with the above"),
    }.get(letter, letter)


def use_letter(letter: str | None) -> str:
    """a–e as the memorandum writes them: ア–オ in Japanese."""
    if letter is None or letter not in "abcde" or len(letter) != 1:
        return letter or ""
    return "アイウエオ"["abcde".index(letter)] if current_language.get() == "ja" else letter


def channel(code: str | None) -> str:
    return {
        "web": _("On this website"),
        "paper": _("Paper form to the school"),
        "phone": _("By telephone to the school"),
        "in_person": _("In person at the school"),
        "import": _("Imported by the board"),
        None: _("Default (nothing chosen)"),
    }.get(code, code or "")


def received_by(how: str) -> str:
    """How the school received a choice carried over from before Tobira."""
    return {
        "paper": _("on paper"),
        "email": _("by e-mail"),
        "phone": _("by telephone"),
        "in_person": _("in person"),
    }.get(how, how)


def event_kind(kind: str) -> str:
    return {
        "requested": _("Requested"),
        "confirmed": _("Confirmed (in effect)"),
        "cancelled": _("Cancelled"),
        "expired": _("Expired without confirmation"),
        "pending": _("Waiting for confirmation"),
    }.get(kind, kind)


def staff_role(code: str) -> str:
    return {
        "teacher": _("A teacher"),
        "school_admin": _("A school administrator"),
        "board_admin": _("A board of education administrator"),
        "auditor": _("An auditor of the board"),
        "": _("School staff"),
    }.get(code, code)


def change(code: str) -> str:
    return {
        "categories": _("The kinds of data it holds changed"),
        "purposes": _("The purposes changed"),
        "vendor_facts": _("The vendor's promises or facts changed"),
        "subcontractors": _("The subcontractors changed"),
        "text": _("The description changed"),
    }.get(code, code)


def country(code: str) -> str:
    territories = Locale.parse(current_language.get()).territories
    return str(territories.get(code, code))


def grade(code: str | None) -> str:
    """P3 → 「3年生」 / "Grade 3" (the school's name says which kind of school it is)."""
    if not code or code[0] not in "PJH" or not code[1:].isdigit():
        return code or ""
    return _("Grade {n}").format(n=code[1:])


def student_line(student: Student) -> str:
    """School and homeroom (or grade), e.g. 「さくら小学校 3年2組」."""
    from app.i18n import localized

    homeroom = student.school_class.title if student.school_class is not None else grade(student.grade)
    return " ".join(p for p in (localized(student.school, "name"), homeroom) if p)


def choice_text(value: str, codes: list[str], categories: Mapping[str, DataCategory]) -> str:
    """「選んだ種類のデータだけ表示しない（成績・評価、健康・出欠の情報）」: the value with the kinds
    it hides (`choices.service.hidden_by`), for "hide all" as much as for "hide some"."""
    from app.i18n import localized

    text = choice_value(value)
    if value not in ("hide_some", "hide_all") or not codes:
        return text
    names = [localized(categories[c], "name") if c in categories else c for c in codes]
    if current_language.get() == "ja":
        return f"{text}（{'、'.join(names)}）"
    return f"{text} ({', '.join(names)})"


def mask_email(address: str | None) -> str:
    """y***@example.jp: enough to recognise one's own address, not to read someone else's."""
    if not address or "@" not in address:
        return ""
    local, _sep, domain = address.partition("@")
    return f"{local[:1]}***@{domain}"


class Labels:
    """Handed to templates as `LABELS` so that they can call `LABELS.choice_value(v)`."""

    use_group = staticmethod(use_group)
    choice_value = staticmethod(choice_value)
    certification = staticmethod(certification)
    anonymized_statistics = staticmethod(anonymized_statistics)
    permitted_use = staticmethod(permitted_use)
    use_letter = staticmethod(use_letter)
    channel = staticmethod(channel)
    received_by = staticmethod(received_by)
    event_kind = staticmethod(event_kind)
    change = staticmethod(change)
    change_words = staticmethod(change_words)
    staff_role = staticmethod(staff_role)
    country = staticmethod(country)
    grade = staticmethod(grade)
    choice_text = staticmethod(choice_text)
    student_line = staticmethod(student_line)
    mask_email = staticmethod(mask_email)


LABELS = Labels()

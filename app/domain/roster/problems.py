"""What can be wrong with a roster, said plainly, by file, line and column.

A `Problem` holds a code and parameters, never a rendered sentence: it is rendered in
the reader's language when shown (CLI: Japanese and English; web: the page language).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from app.i18n import gettext

# English source strings; Japanese in locale/ja/roster.po.
MESSAGES: dict[str, str] = {
    "no_manifest": "manifest.csv is missing. A OneRoster 1.2 CSV set must contain it.",
    "not_a_roster": "This is neither a zip file nor a folder of OneRoster CSV files.",
    "missing_file": "The manifest lists this file as {mode}, but it is not in the set.",
    "bad_manifest_value": "The manifest value for {column} is “{value}”; expected one of: {expected}.",
    "missing_column": "The required column {column} is missing from the header.",
    "missing_value": "{column} is required but empty.",
    "duplicate_id": "The sourcedId {value} appears more than once (first on line {first_line}).",
    "unknown_reference": "{column} refers to {value}, which is not in {target}.",
    "not_a_guardian": "{column} refers to {value}, which has no guardian or parent role in roles.csv.",
    "bad_grade": "“{value}” is not a MEXT grade code (P1–P6, J1–J3, H1–H3).",
    "halfwidth_kana": "{column} contains half-width katakana (“{value}”); use full-width katakana.",
    "bad_value": "{column} is “{value}”; expected {expected}.",
    "bad_row": "This row has {found} fields; the header has {expected}.",
    "cp932": "This file is not UTF-8; it looks like Shift_JIS (CP932). "
    "Convert it to UTF-8, or import again with --encoding cp932 (on the upload page: "
    "choose “Shift_JIS (CP932)”) to have it converted.",
    "bad_encoding": "This line is not valid {encoding} text.",
    "not_homeroom": "{column} refers to {value}, which is not a homeroom class.",
    "no_school": "The student has no school: neither primaryOrgSourcedId nor a primary role names one.",
    "no_district": "There is no board with code {value} and no district org in orgs.csv to create it from.",
    "too_many_problems": "More problems were found; only the first {value} are shown.",
    "line_too_long": "A line is longer than the limit of {limit} bytes; reading stopped here.",
    "too_many_members": "The zip holds {found} files; a roster may hold at most {limit}.",
    "too_large_uncompressed": (
        "The files in the zip come to {found} bytes uncompressed; a roster may be at most {limit} bytes."
    ),
}


@dataclass(frozen=True)
class Problem:
    file: str
    line: int
    column: str
    code: str
    params: dict[str, Any] = field(default_factory=dict)

    def message(self, lang: str | None = None) -> str:
        template = gettext(MESSAGES[self.code], lang)
        values = {"column": self.column, **self.params}
        return template.format(**values)

    def where(self) -> str:
        place = self.file or "-"
        if self.line:
            place += f":{self.line}"
        if self.column:
            place += f" [{self.column}]"
        return place

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Problem:
        return cls(
            file=str(data.get("file", "")),
            line=int(data.get("line", 0)),
            column=str(data.get("column", "")),
            code=str(data.get("code", "")),
            params=dict(data.get("params", {})),
        )


# Problem codes that say "a reference does not resolve", and the file they point into.
_REFERENCE_TARGET: dict[str, str | None] = {
    "unknown_reference": None,  # the file is in params["target"]
    "not_a_guardian": "roles.csv",
    "not_homeroom": "classes.csv",
    "no_school": "orgs.csv",
}


class Problems:
    """Collects problems; keeps the first `limit` and counts the rest."""

    def __init__(self, limit: int = 1000) -> None:
        self.limit = limit
        self.items: list[Problem] = []
        self.total = 0

    def add(self, file: str, line: int, column: str, code: str, **params: Any) -> None:
        self.total += 1
        if len(self.items) < self.limit:
            self.items.append(Problem(file, line, column, code, params))

    def discard_references_into(self, unreadable: set[str]) -> None:
        """A file that could not be read makes every reference into it look broken:
        report the file's own problem, not hundreds of echoes of it."""
        kept = [
            p
            for p in self.items
            if p.code not in _REFERENCE_TARGET
            or (_REFERENCE_TARGET[p.code] or p.params.get("target")) not in unreadable
        ]
        self.total -= len(self.items) - len(kept)
        self.items = kept

    def __bool__(self) -> bool:
        return self.total > 0


class RosterRefused(Exception):
    """Raised when the roster cannot be read at all (no manifest, encoding); carries problems."""

    def __init__(self, problems: Problems) -> None:
        super().__init__(f"{problems.total} problem(s)")
        self.problems = problems

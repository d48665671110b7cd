"""The parts of OneRoster 1.2 CSV (Japan Profile) the portal reads.

Column names follow the 1EdTech OneRoster 1.2 CSV binding and the Japan Profile
(`metadata.jp.*`). Only the columns listed here are ever read; every other column —
and every other file, `demographics.csv` above all — is ignored and never stored.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from app.domain.people.models import GRADES

MANIFEST = "manifest.csv"
FILE_MODES = ("bulk", "delta", "absent")
STATUSES = ("active", "tobedeleted")
GUARDIAN_ROLES = ("guardian", "parent")
ORG_TYPES = ("department", "school", "district", "local", "state", "national")
CLASS_TYPES = ("homeroom", "scheduled")


@dataclass(frozen=True)
class FileSpec:
    name: str
    required: tuple[str, ...]
    optional: tuple[str, ...] = ()
    # Every column the OneRoster 1.2 CSV binding defines for the file: each must be in the
    # header (a value may be empty), read or not. A set missing one was not made to the
    # binding, and a column we read that is absent would silently mean "empty" — e.g. no
    # `agentSourcedIds` would unlink every guardian.
    binding: tuple[str, ...] = ()

    def header_columns(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys((*self.binding, *self.required)))


_COMMON = ("sourcedId", "status", "dateLastModified")


# Files read, in the order they are validated. Required = must be in the header.
FILES: dict[str, FileSpec] = {
    "orgs": FileSpec(
        "orgs.csv",
        ("sourcedId", "name", "type"),
        ("status", "identifier", "parentSourcedId"),
        (*_COMMON, "name", "type", "identifier", "parentSourcedId"),
    ),
    "academicSessions": FileSpec(
        "academicSessions.csv",
        ("sourcedId", "title", "type", "startDate", "endDate", "schoolYear"),
        ("status", "parentSourcedId"),
        (*_COMMON, "title", "type", "startDate", "endDate", "parentSourcedId", "schoolYear"),
    ),
    "courses": FileSpec(
        "courses.csv",
        ("sourcedId", "title", "orgSourcedId"),
        ("status",),
        (
            *_COMMON,
            "schoolYearSourcedId",
            "title",
            "courseCode",
            "grades",
            "orgSourcedId",
            "subjects",
            "subjectCodes",
        ),
    ),
    "classes": FileSpec(
        "classes.csv",
        ("sourcedId", "title", "courseSourcedId", "classType", "schoolSourcedId", "termSourcedIds"),
        ("status", "grades"),
        (
            *_COMMON,
            "title",
            "grades",
            "courseSourcedId",
            "classCode",
            "classType",
            "location",
            "schoolSourcedId",
            "termSourcedIds",
            "subjects",
            "subjectCodes",
            "periods",
        ),
    ),
    "users": FileSpec(
        "users.csv",
        (
            "sourcedId",
            "enabledUser",
            "username",
            "givenName",
            "familyName",
            "metadata.jp.kanaGivenName",
            "metadata.jp.kanaFamilyName",
        ),
        (
            "status",
            "email",
            "agentSourcedIds",
            "grades",
            "primaryOrgSourcedId",
            "metadata.jp.homeClass",
        ),
        (
            *_COMMON,
            "enabledUser",
            "username",
            "userIds",
            "givenName",
            "familyName",
            "middleName",
            "identifier",
            "email",
            "sms",
            "phone",
            "agentSourcedIds",
            "grades",
            "password",
            "userMasterIdentifier",
            "resourceSourcedIds",
            "preferredGivenName",
            "preferredMiddleName",
            "preferredFamilyName",
            "primaryOrgSourcedId",
            "pronouns",
        ),
    ),
    "roles": FileSpec(
        "roles.csv",
        ("sourcedId", "userSourcedId", "roleType", "role", "orgSourcedId"),
        ("status",),
        (
            *_COMMON,
            "userSourcedId",
            "roleType",
            "role",
            "beginDate",
            "endDate",
            "orgSourcedId",
            "userProfileSourcedId",
        ),
    ),
    "enrollments": FileSpec(
        "enrollments.csv",
        ("sourcedId", "classSourcedId", "schoolSourcedId", "userSourcedId", "role"),
        ("status", "metadata.jp.ShussekiNo"),
        (
            *_COMMON,
            "classSourcedId",
            "schoolSourcedId",
            "userSourcedId",
            "role",
            "primary",
            "beginDate",
            "endDate",
        ),
    ),
}

# Files the portal needs in a bulk set (a delta may leave any of them absent).
BULK_REQUIRED = ("orgs", "academicSessions", "classes", "users", "roles", "enrollments")


@dataclass(frozen=True)
class Limits:
    """What one roster may be, checked while it is read (a zip bomb or a one-line 1 GiB file
    is refused before it is held in memory). Each refusal names the limit."""

    members: int = 64  # files in the zip
    uncompressed_bytes: int = 8 * 1024**3  # all files together, decompressed
    line_bytes: int = 1024**2  # one CSV line


LIMITS = Limits()

# Half-width katakana block (U+FF61–U+FF9F), e.g. "ﾀﾛｳ".
HALFWIDTH_KATAKANA = re.compile("[\uff61-\uff9f]")


def canonical_columns(spec: FileSpec) -> dict[str, str]:
    """Lower-cased name -> the spelling we use. Metadata casing varies between profile
    editions (`metadata.jp.ShussekiNo` vs `metadata.jp.shussekiNo`), so match case-insensitively."""
    return {name.lower(): name for name in (*spec.required, *spec.optional)}


def split_list(value: str) -> list[str]:
    """OneRoster lists are comma-separated inside one field (quoted in the CSV)."""
    if "," not in value:
        return [value] if value else []
    return [part.strip() for part in value.split(",") if part.strip()]


def valid_grade(code: str) -> bool:
    return code in GRADES

"""Typed models of the staff forms, and the parsing of query-string values they share.

A form model lists its fields as typed attributes and names each problem by field (English
msgids), raised together as one `Invalid`; the route re-renders the form with them through
`app.surfaces.errors.form_errors`, which feeds `forms.error_summary` in the templates.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Self

from pydantic import BaseModel, ConfigDict

from app.errors import Invalid
from app.i18n import N_

CODE_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]{0,59}$")
# What staff pick on the choice form (app.domain.catalog.definitions.KINDS, ADR 0092).
DEFINITION_KINDS = {
    "toggle": ["show", "hide"],
    "opt_out": ["allow", "deny"],
    "opt_in": ["allow", "deny"],
    "categories": ["show", "hide_all", "hide_some"],
}


class FormModel(BaseModel):
    model_config = ConfigDict(str_strip_whitespace=True, extra="ignore", frozen=True)

    @classmethod
    def parse(cls, form: Mapping[str, Any]) -> Self:
        """The form's values, or `Invalid` naming every field that cannot be accepted."""
        model = cls.model_validate({name: str(form.get(name, "")) for name in cls.model_fields})
        problems = model.problems()
        if problems:
            raise Invalid(fields=problems)
        return model

    def problems(self) -> dict[str, str]:
        return {}


class DefinitionForm(FormModel):
    """A new choice offered with a service (`/staff/services/{id}/definitions`)."""

    code: str
    kind: str
    label: str
    explanation: str = ""

    def problems(self) -> dict[str, str]:
        problems: dict[str, str] = {}
        if not CODE_PATTERN.match(self.code):
            problems["code"] = N_("The code uses lower-case letters, digits, - and _ (e.g. dashboard).")
        if self.kind not in DEFINITION_KINDS:
            problems["kind"] = N_("Choose one of the offered options.")
        if not self.label:
            problems["label"] = N_("Enter the question guardians are asked.")
        return problems


class WordingForm(FormModel):
    """A new version of a choice's wording (`/staff/definitions/{id}/edit`)."""

    label: str
    explanation: str = ""

    def problems(self) -> dict[str, str]:
        if not self.label:
            return {"label": N_("Enter the question guardians are asked.")}
        return {}


class ApiKeyForm(FormModel):
    """A new API key (`/staff/api-keys`): named after the system that will use it."""

    name: str

    def problems(self) -> dict[str, str]:
        if not self.name or len(self.name) > 200:
            return {"name": N_("Name the key after the system that will use it (200 characters at most).")}
        return {}


MAX_ID = 2**63 - 1


def bounded_int(text: str, maximum: int = MAX_ID) -> int | None:
    """A query-string number within 0..maximum, or None (never an overflow in the database)."""
    text = text.strip()
    if not text or len(text) > 19 or not (text.isascii() and text.isdigit()):
        return None
    value = int(text)
    return value if value <= maximum else None

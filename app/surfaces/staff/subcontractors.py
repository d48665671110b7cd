"""The subcontractor chain on the service form: 委託 → 再委託, one row per company.

Rows are numbered in the form; each says who it works for — the vendor itself or an earlier
row — so the chain is a tree by construction (no loops). The form shows the current chain plus
a few empty rows; an empty row is ignored, a ticked "remove" drops a row. Guardians see the
chain as the tree it is (templates/guardian/child.html).
"""

from __future__ import annotations

import re

from starlette.datastructures import FormData

from app.domain.catalog.service import SubcontractorInput
from app.i18n import gettext

EMPTY_ROWS = 3
MAX_ROWS = 40
TEXT_FIELDS = ("name", "task", "data_items")
LIMITS = {"name": 200}
TEXT_MAX = 2_000


def form_rows(subcontractors: list[SubcontractorInput]) -> list[SubcontractorInput | None]:
    """What the form shows: the chain as it is, then empty rows to add to it."""
    return [*subcontractors, *([None] * EMPTY_ROWS)]


def parse(form: FormData) -> tuple[list[SubcontractorInput], list[str]]:
    """The chain the form describes, plus a message per problem (naming the row)."""
    count_text = str(form.get("subcontractor_rows", "0"))
    count = min(int(count_text), MAX_ROWS) if count_text.isascii() and count_text.isdigit() else 0
    errors: list[str] = []
    kept: list[SubcontractorInput] = []
    position: dict[int, int] = {}  # form row → index in `kept`
    dropped: set[int] = set()
    for row in range(count):
        text = {name: str(form.get(f"sub-{row}-{name}", "")).strip() for name in TEXT_FIELDS}
        country = str(form.get(f"sub-{row}-country", "")).strip().upper()
        certifications = [
            c.strip() for c in str(form.get(f"sub-{row}-certifications", "")).split(",") if c.strip()
        ]
        parent_text = str(form.get(f"sub-{row}-parent", ""))
        label = gettext("Subcontractor %(number)s") % {"number": row + 1}
        if form.get(f"sub-{row}-remove") == "on" or not (any(text.values()) or certifications):
            dropped.add(row)
            continue
        if not text["name"]:
            errors.append(label + ": " + gettext("enter the company's name."))
        if any(len(text[name]) > LIMITS.get(name, TEXT_MAX) for name in TEXT_FIELDS):
            errors.append(label + ": " + gettext("a text is too long."))
        if country and not re.fullmatch(r"[A-Z]{2}", country):
            errors.append(label + ": " + gettext("enter the country as a two-letter code, e.g. JP."))
        parent: int | None = None
        if parent_text:
            above = int(parent_text) if parent_text.isascii() and parent_text.isdigit() else -1
            if above in dropped:
                errors.append(
                    label + ": " + gettext("the company it works for is removed; choose who it works for.")
                )
            elif above not in position:
                errors.append(
                    label + ": " + gettext("it can only work for the vendor or a company listed above it.")
                )
            else:
                parent = position[above]
        position[row] = len(kept)
        kept.append(
            SubcontractorInput(
                name=text["name"],
                task=text["task"],
                data_items=text["data_items"],
                country=country or "JP",
                certifications=certifications,
                parent_index=parent,
            )
        )
    return kept, errors

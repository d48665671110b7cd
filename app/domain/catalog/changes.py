"""What changed between two versions of a service, field by field, kept free of language.

`diff` compares two versions and returns JSON-ready entries — a field, what it was, what it is
now — so the same list goes into the announcement job's payload, the guardian's card and the
e-mail, and is put in words only when shown (`app.domain.choices.labels.change_words`, in the
reader's language). `MATERIAL` names the changes that widen what happens to a child's data
(seed 004: a new kind of data or purpose, another country or law, weaker backup or erasure
promises, another subcontractor); those ask guardians to look at their choice again.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the service module publishes with `diff`; these are only its input types
    from app.domain.catalog.service import SubcontractorInput, VersionInput

Change = dict[str, Any]  # {"field": …, "before": …, "after": …}

# Compared one to one; the value is shown as it is (codes are put in words when shown).
PLAIN_FIELDS = (
    "use_group",
    "policy_url",
    "data_centre_country",
    "backup_retention_days",
    "anonymized_statistics",
)
# Japanese texts: compared in Japanese (a translation is not a change of the service) and
# recorded with the English translation of the time, [ja, en], for readers of English.
BILINGUAL_FIELDS = ("name", "vendor_name", "governing_law", "court")
PROMISES = (
    "erased_at_graduation",
    "erased_at_contract_end",
    "erasure_certificate",
    "subcontracting_requires_approval",
    "no_advertising",
    "no_profiling",
    "yearly_audit",
    "incident_reporting",
)
MATERIAL = frozenset(
    {
        "categories_added",
        "purposes_added",
        "data_centre_country",
        "governing_law",
        "backup_retention_days",
        "erased_at_graduation",
        "erased_at_contract_end",
        "erasure_certificate",
        "subcontractors_added",
        "subcontractor_country",
    }
)


def _pair(data: VersionInput, name: str) -> list[str]:
    return [getattr(data, name), data.translations.get("en", {}).get(name, "")]


def _company(sub: SubcontractorInput) -> list[str]:
    return [sub.name, sub.translations.get("en", {}).get("name", ""), sub.country]


def diff(before: VersionInput, after: VersionInput) -> list[Change]:
    """Every difference a guardian can read, in the order the card shows the facts."""
    changes: list[Change] = []
    for name in BILINGUAL_FIELDS[:2]:  # the service's and the vendor's names come first
        if getattr(before, name) != getattr(after, name):
            changes.append({"field": name, "before": _pair(before, name), "after": _pair(after, name)})
    for name in PLAIN_FIELDS:
        if getattr(before, name) != getattr(after, name):
            changes.append({"field": name, "before": getattr(before, name), "after": getattr(after, name)})
    if before.description != after.description:
        changes.append({"field": "description", "before": None, "after": None})
    old_codes = [c.code for c in before.categories]
    new_codes = [c.code for c in after.categories]
    if added := [code for code in new_codes if code not in old_codes]:
        changes.append({"field": "categories_added", "before": None, "after": added})
    if removed := [code for code in old_codes if code not in new_codes]:
        changes.append({"field": "categories_removed", "before": removed, "after": None})
    old_items = {c.code: c.items for c in before.categories}
    if retold := [c.code for c in after.categories if c.code in old_items and old_items[c.code] != c.items]:
        changes.append({"field": "category_items", "before": None, "after": retold})
    old_purposes = [[p.text, p.translations.get("en", {}).get("text", "")] for p in before.purposes]
    new_purposes = [[p.text, p.translations.get("en", {}).get("text", "")] for p in after.purposes]
    if added_purposes := [p for p in new_purposes if p[0] not in {q[0] for q in old_purposes}]:
        changes.append({"field": "purposes_added", "before": None, "after": added_purposes})
    if removed_purposes := [p for p in old_purposes if p[0] not in {q[0] for q in new_purposes}]:
        changes.append({"field": "purposes_removed", "before": removed_purposes, "after": None})
    if before.certifications != after.certifications:
        changes.append(
            {"field": "certifications", "before": before.certifications, "after": after.certifications}
        )
    for name in BILINGUAL_FIELDS[2:]:
        if getattr(before, name) != getattr(after, name):
            changes.append({"field": name, "before": _pair(before, name), "after": _pair(after, name)})
    for name in PROMISES:
        if getattr(before, name) != getattr(after, name):
            changes.append({"field": name, "before": getattr(before, name), "after": getattr(after, name)})
    changes.extend(_subcontractor_changes(before.subcontractors, after.subcontractors))
    return changes


def _subcontractor_changes(before: list[SubcontractorInput], after: list[SubcontractorInput]) -> list[Change]:
    old = {s.name: s for s in before}
    new = {s.name: s for s in after}
    changes: list[Change] = []
    if added := [_company(s) for name, s in new.items() if name not in old]:
        changes.append({"field": "subcontractors_added", "before": None, "after": added})
    if removed := [_company(s) for name, s in old.items() if name not in new]:
        changes.append({"field": "subcontractors_removed", "before": removed, "after": None})
    for name, sub in new.items():
        if name in old and old[name].country != sub.country:
            changes.append(
                {"field": "subcontractor_country", "before": _company(old[name]), "after": _company(sub)}
            )
    return changes


def is_material(changes: list[Change]) -> bool:
    return any(change["field"] in MATERIAL for change in changes)

"""A service change (app.domain.catalog.changes) in the reader's words, e.g.
「データセンターの所在国: 米国 → オーストラリア」 — on the guardian's card and in the e-mail."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from app.domain.catalog.models import DataCategory
from app.i18n import _, current_language


def _field_name(field: str) -> str:
    return {
        "name": _("Service name"),
        "vendor_name": _("Vendor"),
        "use_group": _("Used for"),
        "policy_url": _("Vendor's privacy policy"),
        "data_centre_country": _("Country of the data centre"),
        "backup_retention_days": _("Backups kept for"),
        "anonymized_statistics": _("Statistics"),
        "certifications": _("Certifications"),
        "governing_law": _("Governing law"),
        "court": _("Court"),
        "erased_at_graduation": _("Data erased when your child graduates"),
        "erased_at_contract_end": _("Data erased when the contract ends"),
        "erasure_certificate": _("Erasure certificate from the vendor"),
        "subcontracting_requires_approval": _("Subcontracting only with the board's approval"),
        "no_advertising": _("No advertising"),
        "no_profiling": _("No profiling"),
        "yearly_audit": _("Audited every year"),
        "incident_reporting": _("Incidents reported to the board at once"),
    }.get(field, field)


def _pair(value: list[str]) -> str:
    """[Japanese, English] → the reader's language, Japanese when there is no English."""
    if current_language.get() == "en" and len(value) > 1 and value[1]:
        return value[1]
    return value[0]


def _value(field: str, value: Any) -> str:
    from app.domain.choices.labels import LABELS

    if value is None or value == "" or value == []:
        return _("not stated")
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if field == "data_centre_country":
        return LABELS.country(str(value))
    if field == "use_group":
        return LABELS.use_group(str(value))
    if field == "anonymized_statistics":
        return LABELS.anonymized_statistics(str(value))
    if field == "backup_retention_days":
        return _("{days} days").format(days=value)
    if field == "certifications":
        return "、".join(LABELS.certification(c) for c in value)
    if field in ("name", "vendor_name", "governing_law", "court"):
        return _pair(value)
    return str(value)


def _companies(companies: list[list[str]]) -> str:
    from app.domain.choices.labels import LABELS

    return "、".join(f"{_pair(c)}（{LABELS.country(c[2])}）" for c in companies)


def change_words(change: Mapping[str, Any], categories: Mapping[str, DataCategory]) -> str:
    """One change as one line a guardian can read."""
    from app.i18n import localized

    field: str = change["field"]
    before: Any = change.get("before")
    after: Any = change.get("after")

    def kinds(codes: list[str]) -> str:
        return "、".join(localized(categories[c], "name") if c in categories else c for c in codes)

    if field == "categories_added":
        return _("Now also holds: {kinds}").format(kinds=kinds(after))
    if field == "categories_removed":
        return _("No longer holds: {kinds}").format(kinds=kinds(before))
    if field == "category_items":
        return _("The items it holds changed for: {kinds}").format(kinds=kinds(after))
    if field == "purposes_added":
        return _("New purpose: {purposes}").format(purposes="、".join(_pair(p) for p in after))
    if field == "purposes_removed":
        return _("Purpose no longer stated: {purposes}").format(purposes="、".join(_pair(p) for p in before))
    if field == "description":
        return _("The description changed")
    if field == "subcontractors_added":
        return _("New subcontractor: {companies}").format(companies=_companies(after))
    if field == "subcontractors_removed":
        return _("No longer a subcontractor: {companies}").format(companies=_companies(before))
    if field == "subcontractor_country":
        from app.domain.choices.labels import LABELS

        return _("Country of the subcontractor {company}: {before} → {after}").format(
            company=_pair(after), before=LABELS.country(before[2]), after=LABELS.country(after[2])
        )
    return _("{field}: {before} → {after}").format(
        field=_field_name(field), before=_value(field, before), after=_value(field, after)
    )

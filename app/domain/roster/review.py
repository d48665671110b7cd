"""What an administrator must see, and confirm, before a roster is applied.

Two things a roster can do that no one should find out about afterwards:
- it is **another district's** (its district org is not the one this board's rosters came
  from, or — for a board whose district is not yet known — it shares no school with it);
- it would **deactivate more than a threshold** (default 5 %) of the board's active
  students, guardians or guardian–child links, after which guardians see no children.

Each is a `Caution` in the dry run's report; the real import stops with status
`needs_confirmation` (nothing written) until it is run again with that caution accepted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.domain.boards.models import Board
from app.domain.people.models import Guardian, GuardianStudent, School, Student
from app.domain.roster.validation import RosterIndex
from app.i18n import N_, gettext

DEACTIVATION_THRESHOLD = 0.05
SAMPLE_SIZE = 10
CHECKED = ("students", "guardians", "links")


@dataclass(frozen=True)
class Acceptance:
    """Warnings the administrator has confirmed (CLI flags, the review page's boxes)."""

    other_district: bool = False
    deactivations: bool = False

    def covers(self, caution: Caution) -> bool:
        return self.other_district if caution.kind == "other_district" else self.deactivations


NOTHING_ACCEPTED = Acceptance()

# What a caution says (English msgids; translated in locale/ja/roster.po).
MESSAGES = {
    "other_district": N_(
        "This roster is from another district: {district} ({district_id}), not the district "
        "{board}'s rosters came from."
    ),
    "mass_deactivation": N_(
        "{count} of {total} {entity} ({percent} %) would be deactivated: more than {threshold} %."
    ),
}
ENTITY_NAMES = {
    "students": N_("active students"),
    "guardians": N_("active guardians"),
    "links": N_("active guardian–child links"),
}


@dataclass(frozen=True)
class Caution:
    kind: str  # other_district | mass_deactivation
    params: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "params": self.params}

    def message(self, lang: str | None = None) -> str:
        params = dict(self.params)
        entity = str(params.get("entity", ""))
        if entity in ENTITY_NAMES:
            params["entity"] = gettext(ENTITY_NAMES[entity], lang)
        return gettext(MESSAGES[self.kind], lang).format(**params)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Caution:
        return cls(str(data.get("kind", "")), dict(data.get("params", {})))


def district_of(index: RosterIndex) -> tuple[str, str] | None:
    """(sourcedId, name) of the roster's active district org."""
    for sid, org in index.orgs.items():
        if org.type == "district" and org.status == "active":
            return sid, org.name
    return None


def district_caution(db: Session, board: Board, index: RosterIndex) -> Caution | None:
    district = district_of(index)
    if district is None:
        return None
    sid, name = district
    if board.roster_district_id:
        other = board.roster_district_id != sid
    else:  # a board from before districts were kept: does the roster share any school?
        known = set(db.scalars(select(School.sourced_id).where(School.board_id == board.id)))
        schools = {s for s, org in index.orgs.items() if org.type == "school"}
        other = bool(known) and not (known & schools)
    if not other:
        return None
    return Caution("other_district", {"district": name, "district_id": sid, "board": board.name})


def active_counts(db: Session, board_id: int) -> dict[str, int]:
    """Active students, guardians and guardian–child links of a board, before the import."""
    links = (
        select(func.count())
        .select_from(GuardianStudent)
        .join(Student, Student.id == GuardianStudent.student_id)
        .where(Student.board_id == board_id, GuardianStudent.status == "active")
    )
    return {
        "students": db.scalar(
            select(func.count()).where(Student.board_id == board_id, Student.status == "active")
        )
        or 0,
        "guardians": db.scalar(
            select(func.count()).where(Guardian.board_id == board_id, Guardian.status == "active")
        )
        or 0,
        "links": db.scalar(links) or 0,
    }


def deactivation_cautions(
    db: Session,
    board_id: int,
    before: dict[str, int],
    counts: dict[str, dict[str, int]],
    applied_at: datetime,
    threshold: float = DEACTIVATION_THRESHOLD,
) -> list[Caution]:
    """One caution per kind whose deactivations exceed the threshold, with a sample of who
    would go (row ids, read inside the import's transaction; names are looked up to show)."""
    cautions = []
    for entity in CHECKED:
        total, gone = before.get(entity, 0), counts.get(entity, {}).get("deactivated", 0)
        if not total or gone / total <= threshold:
            continue
        params: dict[str, Any] = {
            "entity": entity,
            "count": gone,
            "total": total,
            "percent": round(100 * gone / total, 1),
            "threshold": round(100 * threshold, 1),
        }
        if entity == "students":
            params["sample_students"] = list(
                db.scalars(
                    select(Student.id)
                    .where(Student.board_id == board_id, Student.deactivated_at == applied_at)
                    .order_by(Student.id)
                    .limit(SAMPLE_SIZE)
                )
            )
        elif entity == "guardians":
            params["sample_guardians"] = list(
                db.scalars(
                    select(Guardian.id)
                    .where(
                        Guardian.board_id == board_id,
                        Guardian.status == "inactive",
                        Guardian.updated_at == applied_at,
                    )
                    .order_by(Guardian.id)
                    .limit(SAMPLE_SIZE)
                )
            )
        cautions.append(Caution("mass_deactivation", params))
    return cautions


def sample_names(db: Session, board_id: int, caution: Caution) -> list[str]:
    """The names behind a caution's sample, for the administrator's eyes only."""
    names: list[str] = []
    for model, key in ((Student, "sample_students"), (Guardian, "sample_guardians")):
        ids = caution.params.get(key) or []
        if ids:
            rows = db.execute(
                select(model.family_name, model.given_name)
                .where(model.board_id == board_id, model.id.in_(ids))
                .order_by(model.id)
            )
            names += [f"{family} {given}" for family, given in rows]
    return names

"""What a board can translate of its catalogue, as the translations page lists it (ADR 0101).

Each text is named by the model's table, its id and the field, as `content_translations`
keys it; the Japanese is shown beside the translation. The board's own name, its schools'
names, the notice in force and the choices for the whole board form one part; each service
in force (its latest version, the kinds of data, purposes, subcontractors and choices)
forms another, so that a board with many services translates one at a time.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.domain.boards.models import Board
from app.domain.catalog.definitions import board_wide_definitions
from app.domain.catalog.service import ServiceView, current_notice, latest_versions
from app.domain.people.models import School
from app.i18n import N_


@dataclass(frozen=True)
class Text:
    kind: str  # the model's table (ContentTranslation.entity_kind)
    entity_id: int
    field: str
    japanese: str
    what: str  # msgid naming the text for staff, e.g. "Service name"
    detail: str = ""  # which one, e.g. the category's name (Japanese, shown as it is)
    long: bool = False  # a paragraph (a text area) rather than a line

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.entity_id}:{self.field}"


@dataclass
class Part:
    title: str  # msgid, or a service's Japanese name (`named`)
    texts: list[Text] = field(default_factory=list)
    named: bool = False


def board_part(db: Session, board: Board) -> Part:
    part = Part(N_("Board, schools and notice"), [Text("boards", board.id, "name", board.name, N_("Name"))])
    schools = db.scalars(
        select(School).where(School.board_id == board.id, School.status == "active").order_by(School.code)
    )
    part.texts += [Text("schools", s.id, "name", s.name, N_("School"), s.code) for s in schools]
    notice = current_notice(db, board.id)
    if notice is not None:
        part.texts.append(Text("notice_versions", notice.id, "title", notice.title, N_("Title")))
        if notice.body:
            part.texts.append(
                Text("notice_versions", notice.id, "body", notice.body, N_("Notice text"), long=True)
            )
    for definition in board_wide_definitions(db, board.id):
        part.texts.append(
            Text("choice_definitions", definition.id, "label", definition.label, N_("Question"))
        )
        if definition.explanation:
            part.texts.append(
                Text(
                    "choice_definitions",
                    definition.id,
                    "explanation",
                    definition.explanation,
                    N_("Explanation"),
                    long=True,
                )
            )
    return part


def service_part(view: ServiceView) -> Part:
    version = view.version
    kind, vid = "service_versions", version.id
    part = Part(version.name, named=True)
    part.texts.append(Text(kind, vid, "name", version.name, N_("Service name")))
    if version.description:
        part.texts.append(Text(kind, vid, "description", version.description, N_("Description"), long=True))
    part.texts.append(Text(kind, vid, "vendor_name", version.vendor_name, N_("Vendor")))
    part.texts.append(Text(kind, vid, "governing_law", version.governing_law, N_("Governing law")))
    if version.court:
        part.texts.append(Text(kind, vid, "court", version.court, N_("Court")))
    for held in version.categories:
        if held.items:
            part.texts.append(
                Text(
                    "service_version_categories",
                    held.id,
                    "items",
                    held.items,
                    N_("Items"),
                    held.category.name,
                )
            )
    for purpose in version.purposes:
        part.texts.append(
            Text("service_purposes", purpose.id, "text", purpose.text, N_("Purposes"), long=True)
        )
    for sub in version.subcontractors:
        part.texts.append(Text("subcontractors", sub.id, "name", sub.name, N_("Name"), sub.name))
        for name, what in (("task", N_("What it does")), ("data_items", N_("Data it receives"))):
            if getattr(sub, name):
                part.texts.append(Text("subcontractors", sub.id, name, getattr(sub, name), what, sub.name))
    for definition in view.definitions:
        part.texts.append(
            Text("choice_definitions", definition.id, "label", definition.label, N_("Question"))
        )
        if definition.explanation:
            part.texts.append(
                Text(
                    "choice_definitions",
                    definition.id,
                    "explanation",
                    definition.explanation,
                    N_("Explanation"),
                    long=True,
                )
            )
    return part


def service_parts(db: Session, board_id: int) -> list[Part]:
    return [service_part(view) for view in latest_versions(db, board_id)]

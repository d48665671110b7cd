"""A board's published catalogue as guardian pages read it, kept in memory per process.

What a child page shows of the catalogue — services, their latest versions with kinds of
data, purposes and subcontractors, the choices offered, who each service covers, the notice
in force, incident notices sent, the vocabulary of kinds of data, and every translation of the
board's content (`content_translations`, ADR 0101) — changes only when staff publish, edit or
translate it. It is loaded once per process and per *catalogue version*: a counter on
the board (`boards.catalogue_version`) that every flush changing any of those rows moves, in
the same transaction as the change (`_note_changes` / `_bump`, whatever service made it).

A page reads the counter in its own transaction, with the child it shows, and asks for the
catalogue of exactly that version (ADR 0095):
- a change committed by any process moves the counter, so the next page anywhere misses the
  cache and loads the new catalogue: a superseded version is never served to a request that
  began after the change;
- a transaction that changed the catalogue itself never stores what it reads (it might roll
  back), and an entry is only stored when the version read while loading it is the one asked;
- entries are plain frozen dataclasses, never ORM instances: nothing lazy-loads, nothing is
  attached to a session, and losing the cache (restart, eviction) costs one load.
"""

from __future__ import annotations

import threading
from collections import OrderedDict, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any, ClassVar, Generic, Protocol, TypeVar

from sqlalchemy import event, select, update
from sqlalchemy.orm import Session, UOWTransaction, load_only

from app.domain.boards.models import Board
from app.domain.catalog.models import (
    USE_GROUPS,
    ChoiceDefinition,
    DataCategory,
    NoticeVersion,
    Service,
    ServiceAssignment,
    ServicePurpose,
    ServiceVersion,
    ServiceVersionCategory,
    Subcontractor,
)
from app.domain.catalog.queries import latest_version_ids
from app.domain.people.models import GRADES, Student
from app.domain.translations import service as translations
from app.domain.translations.models import ContentTranslation
from app.i18n import ContentKey

# --- what is kept -------------------------------------------------------------------------


class Offered(Protocol):
    """What writing and checking a choice needs of its definition: a `ChoiceDefinition` row
    or a `Definition` kept in memory."""

    @property
    def id(self) -> int: ...
    @property
    def board_id(self) -> int: ...
    @property
    def service_id(self) -> int | None: ...
    @property
    def kind(self) -> str: ...
    @property
    def options(self) -> Sequence[str]: ...
    @property
    def default_value(self) -> str: ...
    @property
    def category_codes(self) -> Sequence[str]: ...
    @property
    def status(self) -> str: ...
    @property
    def version(self) -> int: ...


@dataclass(frozen=True)
class Category:
    __tablename__: ClassVar[str] = "data_categories"  # what `app.i18n.content_key` names

    id: int
    code: str
    name: str
    description: str
    sort_order: int
    sensitive: bool


@dataclass(frozen=True)
class CategoryItem:
    __tablename__: ClassVar[str] = "service_version_categories"

    id: int
    category: Category
    items: str


@dataclass(frozen=True)
class Purpose:
    __tablename__: ClassVar[str] = "service_purposes"

    id: int
    permitted_use: str | None
    text: str
    sort_order: int


@dataclass(frozen=True)
class SubcontractorRow:
    __tablename__: ClassVar[str] = "subcontractors"

    id: int
    parent_id: int | None
    name: str
    task: str
    data_items: str
    country: str
    certifications: tuple[str, ...]
    sort_order: int


@dataclass(frozen=True)
class Version:
    """A published service version (never edited, so also kept by id for old versions)."""

    __tablename__: ClassVar[str] = "service_versions"

    id: int
    service_id: int
    version: int
    published_at: datetime
    name: str
    use_group: str
    description: str
    vendor_name: str
    policy_url: str
    certifications: tuple[str, ...]
    data_centre_country: str
    governing_law: str
    court: str
    backup_retention_days: int | None
    erased_at_graduation: bool
    erased_at_contract_end: bool
    erasure_certificate: bool
    subcontracting_requires_approval: bool
    anonymized_statistics: str
    no_advertising: bool
    no_profiling: bool
    yearly_audit: bool
    incident_reporting: bool
    asks_review: bool
    categories: tuple[CategoryItem, ...] = ()
    purposes: tuple[Purpose, ...] = ()
    subcontractors: tuple[SubcontractorRow, ...] = ()


_VERSION_COLUMNS = tuple(
    f.name for f in fields(Version) if f.name not in ("categories", "purposes", "subcontractors")
)


@dataclass(frozen=True)
class ServiceRow:
    id: int
    board_id: int
    code: str
    status: str


@dataclass(frozen=True)
class Definition:
    """A choice offered (ChoiceDefinition as published now)."""

    __tablename__: ClassVar[str] = "choice_definitions"

    id: int
    board_id: int
    service_id: int | None
    code: str
    kind: str
    options: tuple[str, ...]
    default_value: str
    category_codes: tuple[str, ...]
    label: str
    explanation: str
    status: str
    version: int

    @property
    def board_wide(self) -> bool:
        return self.service_id is None


@dataclass(frozen=True)
class Assignment:
    service_id: int
    school_id: int | None
    grade_from: str | None
    grade_to: str | None
    class_id: int | None
    student_id: int | None

    def covers(self, student: Student) -> bool:
        return (
            (self.student_id is None or self.student_id == student.id)
            and (self.school_id is None or self.school_id == student.school_id)
            and (self.class_id is None or self.class_id == student.class_id)
            and grade_in_range(student.grade, self.grade_from, self.grade_to)
        )


@dataclass(frozen=True)
class PublishedService:
    """A service with its latest version and its choices (what `ServiceView` is for staff)."""

    service: ServiceRow
    version: Version
    definitions: tuple[Definition, ...]


@dataclass(frozen=True)
class Catalogue:
    board_id: int
    version: int  # boards.catalogue_version this was loaded at
    services: tuple[PublishedService, ...]  # active services, in the order of the notice
    board_wide: tuple[Definition, ...]  # choices offered to the whole board (ADR 0092)
    assignments: tuple[Assignment, ...]
    notice_id: int | None  # the notice version in force
    categories: dict[str, Category] = field(default_factory=dict)  # by code, in display order
    # What domains above the catalogue keep with it (`add_part`), e.g. incident notices sent.
    parts: dict[str, Any] = field(default_factory=dict)
    # Every translation of the board's content and of the vocabulary, by language (ADR 0101):
    # what `app.i18n.localized` shows for the board on guardian pages and in their mails.
    translations: dict[str, dict[ContentKey, str]] = field(default_factory=dict)

    def texts(self, lang: str) -> Mapping[ContentKey, str]:
        return self.translations.get(lang, {})

    def services_for(self, student: Student) -> list[PublishedService]:
        covered = {a.service_id for a in self.assignments if a.covers(student)}
        return [s for s in self.services if s.service.id in covered]

    def definition_for(self, student: Student, definition_id: int) -> Definition | None:
        """An active choice this child can be given: of a service covering the child, or
        board-wide (any other id — another service, school or board — is not found)."""
        for definition in self.board_wide:
            if definition.id == definition_id:
                return definition
        for published in self.services_for(student):
            for definition in published.definitions:
                if definition.id == definition_id:
                    return definition
        return None


# --- what domains above the catalogue keep with it -------------------------------------------

Loader = Callable[[Session, int], Any]
_PARTS: dict[str, Loader] = {}


def add_part(name: str, loader: Loader, *, board_rows: tuple[type[Any], ...]) -> None:
    """Keep `loader(db, board_id)` (frozen data, one statement) with every catalogue under
    `parts[name]`: board-wide rows shown beside the catalogue that change as rarely. A new,
    changed or removed row of `board_rows` (models with a `board_id`) moves the counter.
    Called when the module that defines the part is imported, as every writer of those rows
    does (ADR 0095)."""
    global _BY_BOARD
    _PARTS[name] = loader
    _BY_BOARD = tuple(dict.fromkeys((*_BY_BOARD, *board_rows)))


def grade_in_range(grade: str | None, grade_from: str | None, grade_to: str | None) -> bool:
    if grade_from is None and grade_to is None:
        return True
    if grade is None or grade not in GRADES:
        return False
    position = GRADES.index(grade)
    low = GRADES.index(grade_from) if grade_from in GRADES else 0
    high = GRADES.index(grade_to) if grade_to in GRADES else len(GRADES) - 1
    return low <= position <= high


# --- the caches ------------------------------------------------------------------------------

K = TypeVar("K")
V = TypeVar("V")


class LRU(Generic[K, V]):
    """A small thread-safe least-recently-used map (app processes serve requests in threads)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._items: OrderedDict[K, V] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: K) -> V | None:
        with self._lock:
            value = self._items.get(key)
            if value is not None:
                self._items.move_to_end(key)
            return value

    def put(self, key: K, value: V) -> None:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()

    def __len__(self) -> int:
        return len(self._items)


# One entry per board (a process serves few boards; an old version of a board is dropped first).
CATALOGUES: LRU[tuple[int, int], Catalogue] = LRU(64)
# Published versions by id: never edited, so an entry is valid for as long as it is kept.
VERSIONS: LRU[int, Version] = LRU(2048)

TOUCHED = "tobira.catalogue_touched"  # session.info: this transaction changed a catalogue


def forget() -> None:
    """Drop everything kept (safe at any time: the next read loads it again)."""
    CATALOGUES.clear()
    VERSIONS.clear()


def catalogue(db: Session, board_id: int, version: int) -> Catalogue:
    """The board's catalogue at `version` (read by the caller in this transaction)."""
    found = CATALOGUES.get((board_id, version))
    if found is not None:
        return found
    loaded = _load(db, board_id)
    if loaded.version == version and not db.info.get(TOUCHED):
        CATALOGUES.put((board_id, version), loaded)
    return loaded


def catalogue_version(db: Session, board_id: int) -> int:
    """For callers that have not read it with their own rows."""
    return int(db.scalar(select(Board.catalogue_version).where(Board.id == board_id)) or 0)


def versions(db: Session, ids: Iterable[int]) -> dict[int, Version]:
    """Published versions by id (older versions a guardian saw), from memory where kept."""
    wanted = set(ids)
    found: dict[int, Version] = {}
    for version_id in wanted:
        kept = VERSIONS.get(version_id)
        if kept is not None:
            found[version_id] = kept
    missing = wanted - found.keys()
    if missing:
        for loaded in _load_versions(db, ServiceVersion.id.in_(missing)).values():
            if not db.info.get(TOUCHED):  # a version written here could still roll back
                VERSIONS.put(loaded.id, loaded)
            found[loaded.id] = loaded
    return found


# --- loading ----------------------------------------------------------------------------------


def definition_of(row: ChoiceDefinition) -> Definition:
    return Definition(
        id=row.id,
        board_id=row.board_id,
        service_id=row.service_id,
        code=row.code,
        kind=row.kind,
        options=tuple(row.options),
        default_value=row.default_value,
        category_codes=tuple(row.category_codes),
        label=row.label,
        explanation=row.explanation,
        status=row.status,
        version=row.version,
    )


def _category(row: DataCategory) -> Category:
    return Category(
        row.id,
        row.code,
        row.name,
        row.description,
        row.sort_order,
        row.sensitive,
    )


def _load_versions(db: Session, condition: Any) -> dict[int, Version]:
    """Versions matching `condition` with their lists: four statements for any number."""
    rows = list(
        db.scalars(
            select(ServiceVersion)
            .options(load_only(*(getattr(ServiceVersion, name) for name in _VERSION_COLUMNS), raiseload=True))
            .where(condition)
            .execution_options(populate_existing=True)
        )
    )
    if not rows:
        return {}
    ids = [row.id for row in rows]
    items: dict[int, list[CategoryItem]] = defaultdict(list)
    for link, category in db.execute(
        select(ServiceVersionCategory, DataCategory)
        .join(DataCategory, DataCategory.id == ServiceVersionCategory.category_id)
        .where(ServiceVersionCategory.service_version_id.in_(ids))
        .order_by(ServiceVersionCategory.id)
    ):
        items[link.service_version_id].append(CategoryItem(link.id, _category(category), link.items))
    purposes: dict[int, list[Purpose]] = defaultdict(list)
    for p in db.scalars(
        select(ServicePurpose)
        .where(ServicePurpose.service_version_id.in_(ids))
        .order_by(ServicePurpose.sort_order, ServicePurpose.id)
    ):
        purposes[p.service_version_id].append(Purpose(p.id, p.permitted_use, p.text, p.sort_order))
    subs: dict[int, list[SubcontractorRow]] = defaultdict(list)
    for s in db.scalars(
        select(Subcontractor)
        .where(Subcontractor.service_version_id.in_(ids))
        .order_by(Subcontractor.sort_order, Subcontractor.id)
    ):
        subs[s.service_version_id].append(
            SubcontractorRow(
                s.id,
                s.parent_id,
                s.name,
                s.task,
                s.data_items,
                s.country,
                tuple(s.certifications),
                s.sort_order,
            )
        )
    found: dict[int, Version] = {}
    for row in rows:
        values: dict[str, Any] = {name: getattr(row, name) for name in _VERSION_COLUMNS}
        values["certifications"] = tuple(row.certifications)
        found[row.id] = Version(
            **values,
            categories=tuple(items[row.id]),
            purposes=tuple(purposes[row.id]),
            subcontractors=tuple(subs[row.id]),
        )
    return found


def _sort_key(published: PublishedService) -> tuple[int, str]:
    group = published.version.use_group
    return (USE_GROUPS.index(group) if group in USE_GROUPS else len(USE_GROUPS), published.version.name)


def _load(db: Session, board_id: int) -> Catalogue:
    """Ten statements (the translations one of them) and one per part, whatever the size of
    the catalogue."""
    notice = (
        select(NoticeVersion.id)
        .where(NoticeVersion.board_id == board_id)
        .order_by(NoticeVersion.version.desc())
        .limit(1)
        .scalar_subquery()
    )
    head = db.execute(select(Board.catalogue_version, notice).where(Board.id == board_id)).first()
    version, notice_id = (int(head[0]), head[1]) if head is not None else (0, None)
    services = {
        s.id: ServiceRow(s.id, s.board_id, s.code, s.status)
        for s in db.scalars(select(Service).where(Service.board_id == board_id, Service.status == "active"))
    }
    latest = _load_versions(
        db,
        ServiceVersion.id.in_(latest_version_ids(board_id))
        & ServiceVersion.service_id.in_(list(services) or [0]),
    )
    for loaded in latest.values() if not db.info.get(TOUCHED) else ():
        VERSIONS.put(loaded.id, loaded)
    by_service: dict[int | None, list[Definition]] = defaultdict(list)
    for row in db.scalars(
        select(ChoiceDefinition)
        .where(ChoiceDefinition.board_id == board_id, ChoiceDefinition.status == "active")
        .order_by(ChoiceDefinition.id)
    ):
        by_service[row.service_id].append(definition_of(row))
    assignments = tuple(
        Assignment(a.service_id, a.school_id, a.grade_from, a.grade_to, a.class_id, a.student_id)
        for a in db.scalars(
            select(ServiceAssignment)
            .join(Service, Service.id == ServiceAssignment.service_id)
            .where(Service.board_id == board_id)
            .order_by(ServiceAssignment.id)
        )
    )
    categories = {
        c.code: _category(c) for c in db.scalars(select(DataCategory).order_by(DataCategory.sort_order))
    }
    published = sorted(
        (
            PublishedService(services[v.service_id], v, tuple(by_service.get(v.service_id, [])))
            for v in latest.values()
            if v.service_id in services
        ),
        key=_sort_key,
    )
    return Catalogue(
        board_id=board_id,
        version=version,
        services=tuple(published),
        board_wide=tuple(by_service.get(None, [])),
        assignments=assignments,
        notice_id=notice_id,
        categories=categories,
        parts={name: loader(db, board_id) for name, loader in _PARTS.items()},
        translations=translations.load_all(db, [board_id]),
    )


def show_translations(catalogue: Catalogue) -> None:
    """This request's pages (and the mails they write) show the board's content in the
    reader's language from `catalogue`, with no statement (ADR 0095, 0101). Only for a page
    about this board's content alone: the request's own loader covers all the reader's boards."""
    translations.use_texts(catalogue.texts)


# --- moving the counter -------------------------------------------------------------------------

CHANGED = "tobira.catalogue_changed"  # session.info: boards whose catalogue this flush changes
EVERY_BOARD = -1  # a change not tied to one board (the vocabulary of kinds of data)

_BY_BOARD: tuple[type[Any], ...] = (Service, NoticeVersion, ChoiceDefinition)
_BY_SERVICE: tuple[type[Any], ...] = (ServiceVersion, ServiceAssignment)
_BY_VERSION: tuple[type[Any], ...] = (ServiceVersionCategory, ServicePurpose, Subcontractor)


def _board_of(session: Session, obj: Any) -> int | None:
    if isinstance(obj, (ContentTranslation, *_BY_BOARD)):
        board_id: int | None = getattr(obj, "board_id", None)
        return int(board_id) if board_id is not None else None
    service_id: int | None = None
    if isinstance(obj, _BY_SERVICE):
        service_id = obj.service_id
    elif isinstance(obj, _BY_VERSION):
        version = session.get(ServiceVersion, obj.service_version_id) if obj.service_version_id else None
        service_id = version.service_id if version is not None else None
    if service_id is None:
        return None
    service = session.get(Service, service_id)
    return service.board_id if service is not None else None


def _note_changes(session: Session, _flush: UOWTransaction, _instances: object) -> None:
    changed: set[int] = set()
    with session.no_autoflush:
        for obj in (*session.new, *session.dirty, *session.deleted):
            if not isinstance(
                obj, (DataCategory, ContentTranslation, *_BY_BOARD, *_BY_SERVICE, *_BY_VERSION)
            ):
                continue
            if obj in session.dirty and not session.is_modified(obj):
                continue
            if isinstance(obj, DataCategory) or (
                isinstance(obj, ContentTranslation) and obj.board_id is None
            ):
                # The vocabulary, and its translations, are every board's.
                changed.add(EVERY_BOARD)
                continue
            if isinstance(obj, _BY_VERSION) and obj.service_version_id is None:
                continue  # a list of a version written in this flush: the version counts
            board_id = _board_of(session, obj)
            # A board that cannot be told moves every board: never too few.
            changed.add(board_id if board_id is not None else EVERY_BOARD)
    if changed:
        session.info.setdefault(CHANGED, set()).update(changed)


def _bump(session: Session, _context: UOWTransaction) -> None:
    changed: set[int] = session.info.pop(CHANGED, set())
    if not changed:
        return
    statement = update(Board).values(catalogue_version=Board.catalogue_version + 1)
    if EVERY_BOARD not in changed:
        statement = statement.where(Board.id.in_(sorted(changed)))
    session.connection().execute(statement.execution_options(synchronize_session=False))
    session.info[TOUCHED] = True


def _forget(session: Session, transaction: Any) -> None:
    if transaction.parent is None:
        session.info.pop(TOUCHED, None)
        session.info.pop(CHANGED, None)


event.listen(Session, "before_flush", _note_changes)
event.listen(Session, "after_flush", _bump)
event.listen(Session, "after_transaction_end", _forget)

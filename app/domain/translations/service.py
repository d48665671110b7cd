"""Reading and writing the translations of board content (ADR 0101).

Pages and e-mails never ask per object: `use_for_boards` gives the request a loader that
reads every translation of the reader's boards in the reader's language in one statement
(`app.i18n.localized` then looks texts up by table, id and field). Guardian pages and their
mails read them from the board's catalogue kept in memory instead (`use_texts`, ADR 0095),
which holds every translation of the board. Writing a translation is an ordinary change of
the board's catalogue: the flush of its row moves the board's catalogue version.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager

from sqlalchemy import ColumnElement, Select, or_, select
from sqlalchemy.orm import Session

from app.domain.translations.models import ContentTranslation
from app.i18n import ContentKey, ContentScope, content_scope

# What the board may translate: the model's table and its Japanese fields.
TRANSLATABLE: dict[str, tuple[str, ...]] = {
    "boards": ("name",),
    "schools": ("name",),
    "data_categories": ("name", "description"),
    "service_versions": ("name", "description", "vendor_name", "governing_law", "court"),
    "service_version_categories": ("items",),
    "service_purposes": ("text",),
    "subcontractors": ("name", "task", "data_items"),
    "notice_versions": ("title", "body"),
    "choice_definitions": ("label", "explanation"),
    "incidents": ("title", "body", "vendor_action"),
}

Boards = Iterable[int] | Select[tuple[int]]


def _board_condition(boards: Boards) -> ColumnElement[bool]:
    ids = boards if isinstance(boards, Select) else list(boards)
    # The shared vocabulary (data categories) has no board.
    return or_(ContentTranslation.board_id.in_(ids), ContentTranslation.board_id.is_(None))


def load(db: Session, lang: str, boards: Boards) -> dict[ContentKey, str]:
    """Every translation of `boards` (and of the shared vocabulary) in `lang`: one statement."""
    rows = db.execute(
        select(
            ContentTranslation.entity_kind,
            ContentTranslation.entity_id,
            ContentTranslation.field,
            ContentTranslation.text,
        ).where(ContentTranslation.language == lang, _board_condition(boards))
    )
    return {(kind, entity_id, field): text for kind, entity_id, field, text in rows}


def load_many(db: Session, languages: Iterable[str], boards: Boards) -> dict[tuple[str, str, int, str], str]:
    """{(language, kind, id, field): text} for several languages at once (one statement)."""
    languages = list(languages)
    if not languages:
        return {}
    rows = db.execute(
        select(
            ContentTranslation.language,
            ContentTranslation.entity_kind,
            ContentTranslation.entity_id,
            ContentTranslation.field,
            ContentTranslation.text,
        ).where(ContentTranslation.language.in_(languages), _board_condition(boards))
    )
    return {(lang, kind, entity_id, field): text for lang, kind, entity_id, field, text in rows}


def load_all(
    db: Session, boards: Boards, languages: Iterable[str] | None = None
) -> dict[str, dict[ContentKey, str]]:
    """Every translation of `boards` (and of the shared vocabulary) by language, in every
    language or in `languages`: one statement (what the catalogue kept in memory holds)."""
    query = select(
        ContentTranslation.language,
        ContentTranslation.entity_kind,
        ContentTranslation.entity_id,
        ContentTranslation.field,
        ContentTranslation.text,
    ).where(_board_condition(boards))
    if languages is not None:
        languages = list(languages)
        if not languages:
            return {}
        query = query.where(ContentTranslation.language.in_(languages))
    found: dict[str, dict[ContentKey, str]] = {}
    for lang, kind, entity_id, field, text in db.execute(query):
        found.setdefault(lang, {})[(kind, entity_id, field)] = text
    return found


Texts = Callable[[str], Mapping[ContentKey, str]]


def _scope() -> ContentScope:
    scope = content_scope.get()
    if scope is None:
        scope = ContentScope()
        content_scope.set(scope)
    return scope


def use_texts(texts: Texts) -> None:
    """Let this request's pages show translations already held in memory (`texts(lang)`, the
    board's catalogue kept per catalogue version): no statement at all."""
    _scope().use(texts)


@contextmanager
def texts_for(texts: Texts) -> Iterator[None]:
    """The same for a few e-mails written inside a request, undone afterwards."""
    token = content_scope.set(ContentScope(texts))
    try:
        yield
    finally:
        content_scope.reset(token)


def use_for_boards(db: Session, boards: Boards) -> None:
    """Let this request's pages show the translations of `boards` (read when first needed)."""
    _scope().use(lambda lang: load(db, lang, boards))


@contextmanager
def translations_for(db: Session, boards: Boards) -> Iterator[None]:
    """The same for work outside a request (e-mails written by jobs), undone afterwards."""
    token = content_scope.set(ContentScope(lambda lang: load(db, lang, boards)))
    try:
        yield
    finally:
        content_scope.reset(token)


def of_entities(
    db: Session, kind: str, ids: Iterable[int], languages: Iterable[str] | None = None
) -> dict[int, dict[str, dict[str, str]]]:
    """{entity id: {language: {field: text}}} for some entities of one kind (one statement)."""
    ids = list(ids)
    if not ids:
        return {}
    query = select(ContentTranslation).where(
        ContentTranslation.entity_kind == kind, ContentTranslation.entity_id.in_(ids)
    )
    if languages is not None:
        query = query.where(ContentTranslation.language.in_(list(languages)))
    found: dict[int, dict[str, dict[str, str]]] = {}
    for row in db.scalars(query.order_by(ContentTranslation.id)):
        found.setdefault(row.entity_id, {}).setdefault(row.language, {})[row.field] = row.text
    return found


def save(
    db: Session,
    board_id: int | None,
    kind: str,
    entity_id: int,
    texts: Mapping[str, Mapping[str, str]],
    *,
    replace: bool = False,
) -> bool:
    """Set the translations of one entity: {language: {field: text}}; an empty text removes
    one. Languages and fields not named are left as they are, or (`replace`) removed.
    True if anything changed."""
    allowed = TRANSLATABLE[kind]
    if not replace and not any(texts.values()):
        return False  # nothing named: nothing to read or write
    existing = {
        (row.language, row.field): row
        for row in db.scalars(
            select(ContentTranslation).where(
                ContentTranslation.entity_kind == kind, ContentTranslation.entity_id == entity_id
            )
        )
    }
    changed = False
    if replace:
        for (lang, name), old in existing.items():
            if not texts.get(lang, {}).get(name, "").strip():
                db.delete(old)
                changed = True
        existing = {
            key: row for key, row in existing.items() if texts.get(key[0], {}).get(key[1], "").strip()
        }
    for lang, fields in texts.items():
        for field, raw in fields.items():
            if field not in allowed:
                continue
            text = raw.strip()
            row: ContentTranslation | None = existing.get((lang, field))
            if row is not None and not text:
                db.delete(row)
                changed = True
            elif row is not None and row.text != text:
                row.text = text
                changed = True
            elif row is None and text:
                db.add(
                    ContentTranslation(
                        board_id=board_id,
                        entity_kind=kind,
                        entity_id=entity_id,
                        field=field,
                        language=lang,
                        text=text,
                    )
                )
                changed = True
    if changed:
        db.flush()
        if board_id is not None:
            content_changed(db, board_id)
    return changed


def carry_forward(db: Session, board_id: int, kind: str, pairs: Iterable[tuple[object, object]]) -> None:
    """A new version of content takes the translations of the old one for every field whose
    Japanese text it keeps unchanged (a changed text needs translating again)."""
    pairs = [(old, new) for old, new in pairs if old is not None]
    if not pairs:
        return
    before = of_entities(db, kind, [old.id for old, _new in pairs])  # type: ignore[attr-defined]
    for old, new in pairs:
        kept: dict[str, dict[str, str]] = {}
        for lang, fields in before.get(old.id, {}).items():  # type: ignore[attr-defined]
            for field, text in fields.items():
                if getattr(old, field, None) == getattr(new, field, None):
                    kept.setdefault(lang, {})[field] = text
        if kept:
            save(db, board_id, kind, new.id, kept)  # type: ignore[attr-defined]


def content_changed(db: Session, board_id: int) -> None:
    """The board's content (or a translation of it) changed: whatever is kept of the board's
    catalogue for pages must be read again. Flushing says so: the catalogue watches the rows
    of `content_translations` as it watches its own (`app.domain.catalog.published`) and
    moves the board's catalogue version in the same transaction."""
    db.flush()

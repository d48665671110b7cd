"""The board's notice to guardians: its text, versioned together with the catalogue.

Every notice version is the text the board wrote plus a snapshot of the service versions in
force when it was published (service.publish_notice). A board admin rewrites the text as a
new version — nothing published is edited — and a guardian's choice records the version
the guardian was shown; a choice sent from a page showing an older version is not recorded
until the guardian has looked at the current one (ADR 0089).
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.domain.audit.service import Actor
from app.domain.catalog.models import NoticeVersion
from app.domain.catalog.service import NoticeText, current_notice, publish_notice
from app.errors import Invalid
from app.i18n import N_

TITLE_MAX = 300
BODY_MAX = 20_000


def check_text(text: NoticeText) -> None:
    """Refuse a notice a guardian could not read: no Japanese title, or text over the limits."""
    problems: dict[str, str] = {}
    if not text.title.strip():
        problems["title"] = N_("Enter the notice's title in Japanese.")
    if len(text.title) > TITLE_MAX or len(text.title_en) > TITLE_MAX:
        problems["title_en" if len(text.title) <= TITLE_MAX else "title"] = N_(
            "A title can be at most 300 characters."
        )
    if len(text.body) > BODY_MAX or len(text.body_en) > BODY_MAX:
        problems["body_en" if len(text.body) <= BODY_MAX else "body"] = N_(
            "The notice can be at most 20,000 characters."
        )
    if problems:
        raise Invalid(fields=problems)


def publish_text(db: Session, *, board_id: int, text: NoticeText, actor: Actor) -> NoticeVersion:
    """A new notice version with this text over the current catalogue (audited as published)."""
    text = NoticeText(text.title.strip(), text.title_en.strip(), text.body.strip(), text.body_en.strip())
    check_text(text)
    previous = current_notice(db, board_id)
    changed = [
        name
        for name in ("title", "title_en", "body", "body_en")
        if previous is None or getattr(previous, name) != getattr(text, name)
    ]
    return publish_notice(db, board_id, actor, [{"notice_text": changed}], text)


def current_notice_id(db: Session, board_id: int) -> int | None:
    """The id of the notice version in force (what a choice form carries and is checked against)."""
    return db.scalar(
        select(NoticeVersion.id)
        .where(NoticeVersion.board_id == board_id)
        .order_by(NoticeVersion.version.desc())
        .limit(1)
    )


def paragraphs(body: str) -> list[str]:
    """The body as the board wrote it: paragraphs split on blank lines, lines kept."""
    return [part.strip() for part in body.replace("\r\n", "\n").split("\n\n") if part.strip()]

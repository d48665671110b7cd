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
from app.domain.translations import service as translations
from app.errors import Invalid
from app.i18n import N_

TITLE_MAX = 300
BODY_MAX = 20_000


def check_text(text: NoticeText) -> None:
    """Refuse a notice a guardian could not read: no Japanese title, or text over the limits."""
    problems: dict[str, str] = {}
    if not text.title.strip():
        problems["title"] = N_("Enter the notice's title in Japanese.")
    too_long_title = [lang for lang, t in text.translations.items() if len(t.get("title", "")) > TITLE_MAX]
    if len(text.title) > TITLE_MAX or too_long_title:
        name = "title" if len(text.title) > TITLE_MAX else f"title_{too_long_title[0]}"
        problems[name] = N_("A title can be at most 300 characters.")
    too_long_body = [lang for lang, t in text.translations.items() if len(t.get("body", "")) > BODY_MAX]
    if len(text.body) > BODY_MAX or too_long_body:
        name = "body" if len(text.body) > BODY_MAX else f"body_{too_long_body[0]}"
        problems[name] = N_("The notice can be at most 20,000 characters.")
    if problems:
        raise Invalid(fields=problems)


def publish_text(db: Session, *, board_id: int, text: NoticeText, actor: Actor) -> NoticeVersion:
    """A new notice version with this text over the current catalogue (audited as published)."""
    given = {lang: {k: v.strip() for k, v in texts.items()} for lang, texts in text.translations.items()}
    text = NoticeText(text.title.strip(), text.body.strip(), given)
    check_text(text)
    previous = current_notice(db, board_id)
    changed = [
        name
        for name in ("title", "body")
        if previous is None or getattr(previous, name) != getattr(text, name)
    ]
    if previous is not None:
        held = translations.of_entities(db, "notice_versions", [previous.id]).get(previous.id, {})
        changed += [
            f"{name}_{lang}"
            for lang in sorted({*held, *given})
            for name in ("title", "body")
            if held.get(lang, {}).get(name, "")
            != given.get(lang, {}).get(name, held.get(lang, {}).get(name, ""))
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

"""A guardian's choice: requested on the web, confirmed from a link sent to the address
the school has on file.

request → (e-mail with single-use link, 72 h) → confirm (effective, receipt, others told)
                                             ↘ resend (new link, old one revoked)
                                             ↘ cancel (closed, links revoked)
A new request for the same child and choice cancels the earlier pending ones.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from types import EllipsisType
from typing import Any, Literal, NamedTuple

from sqlalchemy import Select, and_, func, select
from sqlalchemy.orm import Session, aliased, joinedload

from app.config import Settings
from app.domain.audit.service import ANONYMOUS, Actor, record
from app.domain.boards.models import Board
from app.domain.catalog import published
from app.domain.catalog.models import ChoiceDefinitionVersion, NoticeVersion
from app.domain.catalog.published import Offered
from app.domain.catalog.queries import category_names
from app.domain.choices.announcements import notify_co_guardians
from app.domain.choices.guardian_queries import guardians_of
from app.domain.choices.labels import LABELS
from app.domain.choices.models import SUPERSEDED_BY_SCHOOL, ChoiceEvent, CurrentChoice
from app.domain.choices.queries import CONFIRMATION_PURPOSE
from app.domain.choices.receipts import build_receipt, fresh_receipt, receipt_attachment, shown_version_id
from app.domain.choices.service import (
    Effective,
    close_request,
    confirm_request,
    pending_requests,
    request_state,
    write_request,
)
from app.domain.notifications.service import compose_email, queue_email, queue_emails
from app.domain.people.language import language_of
from app.domain.people.models import Guardian, Student
from app.domain.tokens import service as tokens
from app.domain.tokens.models import OneTimeToken
from app.domain.translations import service as translations
from app.errors import Conflict

CONFIRMATION_TTL = timedelta(hours=72)
RESEND_LIMIT = 5
RESEND_WINDOW = timedelta(hours=1)


def _actor(account_id: int | None) -> Actor:
    return Actor.account(account_id) if account_id is not None else ANONYMOUS


def revoke_links(db: Session, request_id: int) -> None:
    for token in db.scalars(
        select(OneTimeToken).where(
            OneTimeToken.purpose == CONFIRMATION_PURPOSE,
            OneTimeToken.choice_event_id == request_id,
            OneTimeToken.used_at.is_(None),
            OneTimeToken.revoked_at.is_(None),
        )
    ):
        tokens.revoke(db, token)


def send_confirmation(
    db: Session,
    settings: Settings,
    request: ChoiceEvent,
    guardian: Guardian,
    student: Student,
    *,
    reminder: bool = False,
    definition: Offered | None = None,
    category_map: Mapping[str, Any] | None = None,
    first: bool = False,
) -> OneTimeToken:
    """Revoke earlier links of this request, issue a fresh one and mail it to the address on
    file (`reminder`: the mail says it is a reminder, ADR 0084). `first`: the request was just
    written, so it has no links yet."""
    assert guardian.email, "callers check that the school has an address on file"
    if not first:
        revoke_links(db, request.id)
    secret, token = tokens.issue(
        db,
        CONFIRMATION_PURPOSE,
        CONFIRMATION_TTL,
        board_id=request.board_id,
        guardian_id=guardian.id,
        student_id=student.id,
        choice_event_id=request.id,
        email=guardian.email,
    )
    queue_email(
        db,
        to=guardian.email,
        template="email/guardian_confirm.txt",
        context={
            "guardian": guardian,
            "student": student,
            "request": request,
            "definition": definition if definition is not None else request.definition,
            "link": f"{settings.base_url.rstrip('/')}/confirm/{secret}",
            "expires_at": token.expires_at,
            "category_map": category_map if category_map is not None else category_names(db),
            "LABELS": LABELS,
            "reminder": reminder,
        },
        purpose="choice_confirmation",
        language=language_of(guardian),
        board_id=request.board_id,
    )
    return token


class Requested(NamedTuple):
    request: ChoiceEvent
    token: OneTimeToken  # the confirmation link sent for it


def request_choice(
    db: Session,
    settings: Settings,
    *,
    definition: Offered,
    student: Student,
    guardian: Guardian,
    value: str,
    category_codes: list[str],
    account_id: int,
    earlier_requests: Sequence[ChoiceEvent] | None = None,
    notice_id: int | EllipsisType | None = ...,
    category_map: Mapping[str, Any] | None = None,
) -> Requested:
    """Record a pending request (replacing earlier pending ones) and send the confirmation.

    A caller that has read the pending requests, the notice in force and the vocabulary in
    this transaction passes them in (the guardian's page, ADR 0095)."""
    if earlier_requests is None:
        earlier_requests = pending_requests(db, student.id, definition.id)
    for earlier in earlier_requests:
        revoke_links(db, earlier.id)
        close_request(db, earlier, "cancelled", actor_account_id=account_id)
        record(
            db,
            "choice.request_superseded",
            actor=Actor.account(account_id),
            board_id=student.board_id,
            target_type="choice_event",
            target_id=earlier.id,
        )
    request = write_request(
        db,
        definition=definition,
        student_id=student.id,
        value=value,
        category_codes=category_codes if value == "hide_some" else [],
        channel="web",
        actor_account_id=account_id,
        guardian_id=guardian.id,
        notice_id=notice_id,
    )
    token = send_confirmation(
        db, settings, request, guardian, student, definition=definition, category_map=category_map, first=True
    )
    return Requested(request, token)


def cancel_request(db: Session, request: ChoiceEvent, *, account_id: int | None, via: str) -> None:
    revoke_links(db, request.id)
    close_request(db, request, "cancelled", actor_account_id=account_id)
    record(
        db,
        "choice.request_cancelled",
        actor=_actor(account_id),
        board_id=request.board_id,
        target_type="choice_event",
        target_id=request.id,
        details={"via": via},
    )


def resend(
    db: Session,
    settings: Settings,
    request: ChoiceEvent,
    *,
    account_id: int | None,
    via: str,
    reminder: bool = False,
) -> OneTimeToken | None:
    """A fresh link for the same pending request; None when resends are rate-limited."""
    key = tokens.rate_key("choice-resend", str(request.id))
    if tokens.rate_limited(db, key, limit=RESEND_LIMIT, window=RESEND_WINDOW):
        record(
            db,
            "choice.confirmation_resent",
            actor=_actor(account_id),
            board_id=request.board_id,
            target_type="choice_event",
            target_id=request.id,
            outcome="failure",
            details={"via": via, "reason": "rate_limited"},
        )
        return None
    guardian = db.get_one(Guardian, request.guardian_id)
    student = db.get_one(Student, request.student_id)
    token = send_confirmation(db, settings, request, guardian, student, reminder=reminder)
    record(
        db,
        "choice.confirmation_resent",
        actor=_actor(account_id),
        board_id=request.board_id,
        target_type="choice_event",
        target_id=request.id,
        details={"via": via},
    )
    return token


LinkProblem = Literal[
    "unknown", "used", "expired", "replaced", "cancelled", "superseded", "request_expired", "closed"
]


@dataclass
class Link:
    """What a confirmation link points at, and why it cannot be used (if it cannot)."""

    token: OneTimeToken | None
    request: ChoiceEvent | None
    problem: LinkProblem | None

    @property
    def ok(self) -> bool:
        return self.problem is None


def _closing_problem(closing: ChoiceEvent) -> LinkProblem:
    if closing.kind == "confirmed":
        return "used"
    if closing.kind == "expired":
        return "request_expired"
    if closing.reason == SUPERSEDED_BY_SCHOOL:
        return "superseded"
    return "cancelled"


def _judge(token: OneTimeToken | None, request: ChoiceEvent | None, closing: ChoiceEvent | None) -> Link:
    if token is None or token.choice_event_id is None or request is None:
        return Link(None, None, "unknown")
    if closing is not None:
        return Link(token, request, _closing_problem(closing))
    found = tokens.judge(token)
    if found.problem is tokens.TokenProblem.USED:
        return Link(token, request, "used")
    if found.problem is tokens.TokenProblem.REVOKED:
        return Link(token, request, "replaced")
    if found.problem is tokens.TokenProblem.EXPIRED:
        return Link(token, request, "expired")
    return Link(token, request, None)


def _link_query(secret: str, *columns: Any) -> Select[Any]:
    """The link, its request (with the definition) and the event that closed the request, if
    any: one statement; `columns` add what the confirmation needs, joined to the request."""
    closing = aliased(ChoiceEvent)
    return (
        select(OneTimeToken, ChoiceEvent, closing, *columns)
        .outerjoin(ChoiceEvent, ChoiceEvent.id == OneTimeToken.choice_event_id)
        .outerjoin(closing, closing.request_id == ChoiceEvent.id)
        .options(joinedload(ChoiceEvent.definition))
        .where(
            OneTimeToken.purpose == CONFIRMATION_PURPOSE,
            OneTimeToken.token_hash == tokens.hash_secret(secret),
        )
        .order_by(closing.id)
        .limit(1)
    )


def inspect_link(db: Session, secret: str) -> Link:
    row = db.execute(_link_query(secret)).first()
    return _judge(*row) if row is not None else Link(None, None, "unknown")


def refuse_link(db: Session, link: Link) -> None:
    """Audit a link that could not be used (expired, used, replaced, unknown …)."""
    record(
        db,
        "choice.confirmation_link_refused",
        actor=ANONYMOUS,
        board_id=link.request.board_id if link.request else None,
        target_type="choice_event" if link.request else "",
        target_id=link.request.id if link.request else "",
        outcome="failure",
        details={"problem": link.problem},
    )


@dataclass
class Confirmation:
    link: Link
    event: ChoiceEvent | None  # None: the link could not be used (`link.problem` says why)
    receipt: dict[str, Any] | None = None
    current: Effective | None = None  # the choice now in force (the confirmed one)
    categories: Mapping[str, Any] | None = None  # the vocabulary of kinds of data
    student: Student | None = None
    catalogue: published.Catalogue | None = None  # the board's, as kept (ADR 0095)


def confirm_link(db: Session, settings: Settings, secret: str, *, account_id: int | None) -> Confirmation:
    """Redeem the link and make the choice effective; e-mail the receipt and tell the others.

    What it needs is read in one statement (the link, the request, the child, the board, the
    choice in force, the notice and wording shown) and the catalogue comes from memory, so a
    confirmation runs a fixed handful of statements (ADR 0095)."""
    wording = aliased(ChoiceDefinitionVersion)
    query = (
        _link_query(secret, Student, Board, CurrentChoice, NoticeVersion, wording)
        .outerjoin(Student, Student.id == ChoiceEvent.student_id)
        .outerjoin(Board, Board.id == ChoiceEvent.board_id)
        .outerjoin(
            CurrentChoice,
            and_(
                CurrentChoice.student_id == ChoiceEvent.student_id,
                CurrentChoice.definition_id == ChoiceEvent.definition_id,
            ),
        )
        .outerjoin(NoticeVersion, NoticeVersion.id == ChoiceEvent.notice_version_id)
        .outerjoin(
            wording,
            and_(
                wording.definition_id == ChoiceEvent.definition_id,
                wording.version == func.coalesce(ChoiceEvent.definition_version, 1),
            ),
        )
    )
    row = db.execute(query).first()
    if row is None:
        return Confirmation(Link(None, None, "unknown"), None)
    token, request, closing, student, board, current, notice, shown = row
    link = _judge(token, request, closing)
    if not link.ok or request is None or token is None:
        return Confirmation(link, None)
    if not tokens.mark_used(db, token):  # lost a race with a second click
        return Confirmation(Link(token, request, "used"), None)
    try:
        confirmed = confirm_request(db, request, actor_account_id=account_id, pending_with=current)
    except Conflict:  # something newer took effect since the request was made
        return Confirmation(Link(token, request, "closed"), None)
    confirmed.definition = request.definition
    definition = request.definition
    guardians = guardians_of(db, student.id)
    requester = next((g for g in guardians if g.id == request.guardian_id), None)
    catalogue = published.catalogue(db, board.id, board.catalogue_version)
    service_id = definition.service_id
    version: published.Version | None = None
    if service_id is not None:
        # The version the guardian was shown: the notice's snapshot, else the one in force.
        version_id = shown_version_id(notice, service_id)
        if version_id is not None:
            version = published.versions(db, [version_id]).get(version_id)
        else:
            version = next((s.version for s in catalogue.services if s.service.id == service_id), None)
    if service_id is not None and version is None:  # a service no longer offered: look it up
        receipt = build_receipt(db, confirmed, base_url=settings.base_url)
    else:
        receipt = fresh_receipt(
            confirmed,
            board=board,
            student=student,
            guardian=requester if requester is not None else db.get(Guardian, request.guardian_id or 0),
            notice=notice,
            version=version,
            wording=shown,
            texts=catalogue.translations,
            base_url=settings.base_url,
        )
    mails: list[dict[str, Any]] = []
    with translations.texts_for(catalogue.texts):  # the mails read the board's translations kept
        _confirmation_mails(db, settings, confirmed, student, requester, receipt, catalogue, into=mails)
        notify_co_guardians(
            db, settings, confirmed, student, guardians, category_map=catalogue.categories, into=mails
        )
    queue_emails(db, mails)  # the receipt and the notices to the other guardians: one INSERT
    in_force = Effective(
        confirmed.value, list(confirmed.category_codes), confirmed.created_at, confirmed.channel, confirmed.id
    )
    return Confirmation(link, confirmed, receipt, in_force, catalogue.categories, student, catalogue)


def _confirmation_mails(
    db: Session,
    settings: Settings,
    confirmed: ChoiceEvent,
    student: Student,
    requester: Guardian | None,
    receipt: dict[str, Any],
    catalogue: published.Catalogue,
    *,
    into: list[dict[str, Any]],
) -> None:
    """The receipt to the guardian who asked, as a row for `queue_emails`."""
    definition = confirmed.definition
    if requester is not None and requester.email:
        mail = compose_email(
            db,
            to=requester.email,
            template="email/guardian_receipt.txt",
            context={
                "guardian": requester,
                "student": student,
                "event": confirmed,
                "definition": definition,
                "receipt": receipt,
                "category_map": catalogue.categories,
                "LABELS": LABELS,
                "receipt_url": (
                    f"{settings.base_url.rstrip('/')}/children/{student.id}/receipts/{confirmed.receipt_id}"
                ),
            },
            purpose="choice_receipt",
            language=language_of(requester),
            board_id=confirmed.board_id,
            attachments=[receipt_attachment(receipt)],
        )
        into.append(mail)


def pending_for_child(db: Session, student_id: int, request_id: int) -> ChoiceEvent | None:
    """A pending request of this child (None for another child's id or a closed request)."""
    request = db.scalar(
        select(ChoiceEvent)
        .options(joinedload(ChoiceEvent.definition))
        .where(
            ChoiceEvent.id == request_id,
            ChoiceEvent.student_id == student_id,
            ChoiceEvent.kind == "requested",
        )
    )
    if request is None or request_state(db, request) != "pending":
        return None
    return request

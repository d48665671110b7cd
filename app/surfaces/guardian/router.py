"""What a guardian sees and chooses: children, services per child, choices, receipts, history.

Every child route looks the student up through the guardians the account acts for;
anyone else's child is 404 with nothing of theirs in the page. Setting a choice works as
a plain form (303 back to the page) and with htmx (the choice fragment is swapped in place).
The confirmation link (/confirm/…) needs no sign-in: it was sent to the address on file.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import Response

from app.domain.catalog import published
from app.domain.catalog.models import ChoiceDefinition
from app.domain.catalog.published import definition_of
from app.domain.catalog.queries import category_names
from app.domain.choices import requests as flow
from app.domain.choices.access_history import access_history
from app.domain.choices.guardian_queries import (
    Child,
    ChoiceState,
    PendingRequest,
    child_and_siblings,
    child_choices,
    child_for_choice,
    children_of,
    choice_state,
    find_child,
    group_cards,
    history_actor_kinds,
    state_of,
)
from app.domain.choices.labels import LABELS
from app.domain.choices.propagation import propagation
from app.domain.choices.receipts import build_receipt, find_receipt_event, receipt_json
from app.domain.choices.reviews import mark_reviewed
from app.domain.choices.service import Effective, difference, effective_choice, history, validate_choice
from app.domain.choices.timeline import timeline
from app.domain.incidents.published import sent_notices
from app.domain.people.models import Student
from app.domain.translations import service as translations
from app.i18n import _
from app.surfaces.dependencies import AppSettings, DbSession, RowId
from app.surfaces.guardian import language, notice, reviews
from app.surfaces.guardian import requests as data_requests
from app.surfaces.permissions import CurrentGuardian, OptionalPrincipal
from app.surfaces.web import is_htmx, json_download, redirect, render

router = APIRouter()
router.include_router(language.router)
router.include_router(notice.router)
router.include_router(reviews.router)
router.include_router(data_requests.router)

CHOICE_FRAGMENT = "guardian/_choice.html"


def _child_or_404(db: DbSession, principal: CurrentGuardian, student_id: RowId) -> Child:
    child = find_child(db, principal.guardian_ids, student_id)
    if child is None:
        raise HTTPException(status_code=404)
    return child


def _page(request: Request, template: str, context: dict[str, Any], **kwargs: Any) -> Response:
    return render(request, template, {"LABELS": LABELS, **context}, **kwargs)


def _catalogue(db: DbSession, child: Child) -> published.Catalogue:
    """The child's board's catalogue as kept (ADR 0095); the page shows that board's content
    only, so its translations come from the same catalogue, with no statement (ADR 0101)."""
    catalogue = child.catalogue(db)
    published.show_translations(catalogue)
    return catalogue


def _fragment_context(db: DbSession, child: Child, state: ChoiceState) -> dict[str, Any]:
    catalogue = _catalogue(db, child)
    return {
        "child": child,
        "state": state,
        "category_map": catalogue.categories,
        "email_on_file": LABELS.mask_email(child.guardian.email),
        "notice_id": catalogue.notice_id,
        # Every choice sits under the h3 of its service, or of the board-wide choices (ADR 0092).
        "choice_heading": "h4",
    }


def choice_errors(state: ChoiceState) -> list[tuple[str, str]]:
    """The error summary of a choice that failed: (id of the field to fix, message).

    "Hide some" without a kind of data points at the first box to tick; a notice published
    meanwhile at the message with the link to it; anything else at the option chosen.
    """
    definition = state.definition
    prefix = f"choice-{definition.id}"
    if state.notice_changed:
        return [
            (
                f"{prefix}-error",
                _(
                    "The board of education published a new version of its notice after you opened this page, so your choice has not been sent. Please read the notice now in force, then send your choice again."  # noqa: E501
                ),
            )
        ]
    if state.error is None:
        return []
    if state.form_value == "hide_some" and definition.category_codes and not state.form_codes:
        return [(f"{prefix}-cat-{definition.category_codes[0]}", state.error)]
    options = list(definition.options)
    value = state.form_value if state.form_value in options else (options[0] if options else "")
    return [(f"{prefix}-{value}", state.error)]


def _child_page(
    request: Request,
    db: DbSession,
    principal: CurrentGuardian,
    child: Child,
    *,
    siblings: list[Child] | None = None,
    failed: ChoiceState | None = None,
    status_code: int = 200,
) -> Response:
    catalogue = _catalogue(db, child)
    cards, board_choices = child_choices(db, child)
    if failed is not None:
        for card in cards:
            card.choices = [failed if s.definition.id == failed.definition.id else s for s in card.choices]
        board_choices = [failed if s.definition.id == failed.definition.id else s for s in board_choices]
    return _page(
        request,
        "guardian/child.html",
        {
            "child": child,
            "siblings": siblings if siblings is not None else children_of(db, principal.guardian_ids),
            "groups": group_cards(cards),
            "board_choices": board_choices,
            "category_map": catalogue.categories,
            "email_on_file": LABELS.mask_email(child.guardian.email),
            "notice_id": catalogue.notice_id,
            "incidents": sent_notices(catalogue),
            "propagation": propagation(db, child.student),
            "errors": choice_errors(failed) if failed is not None else [],
        },
        status_code=status_code,
    )


@router.get("/children")
def children(request: Request, db: DbSession, principal: CurrentGuardian) -> Response:
    found = children_of(db, principal.guardian_ids)
    return _page(request, "guardian/children.html", {"children": found})


@router.get("/children/{student_id}")
def child_page(request: Request, db: DbSession, principal: CurrentGuardian, student_id: RowId) -> Response:
    child, siblings = child_and_siblings(db, principal.guardian_ids, student_id)
    if child is None:
        raise HTTPException(status_code=404)
    return _child_page(request, db, principal, child, siblings=siblings)


@router.post("/children/{student_id}/choices/{definition_id}")
def set_choice(
    request: Request,
    db: DbSession,
    settings: AppSettings,
    principal: CurrentGuardian,
    student_id: RowId,
    definition_id: RowId,
    value: Annotated[str, Form()] = "",
    category_codes: Annotated[list[str] | None, Form()] = None,
    notice_version: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    found = child_for_choice(db, principal.guardian_ids, student_id, definition_id)
    if found is None:
        raise HTTPException(status_code=404)
    child, word, owes_review = found
    catalogue = _catalogue(db, child)
    definition = catalogue.definition_for(child.student, definition_id)
    if definition is None:
        raise HTTPException(status_code=404, detail="This choice is not offered for this child.")
    codes = sorted(set(category_codes or []))
    shown_current = notice_version == ("" if catalogue.notice_id is None else str(catalogue.notice_id))
    if not shown_current:
        # The guardian chose against a notice that is no longer in force: show the new one first.
        state = state_of(definition, word)
        state.notice_changed, state.form_value, state.form_codes = True, value, codes
        if is_htmx(request):
            return _page(request, CHOICE_FRAGMENT, _fragment_context(db, child, state))
        return _child_page(request, db, principal, child, failed=state, status_code=409)
    guardian = child.guardian
    problem = validate_choice(definition, value, codes if value == "hide_some" else [])
    # Boxes left ticked while choosing "show" or "hide all" mean nothing and are dropped.
    if problem is None and not guardian.email:
        problem = "The school has no e-mail address on file for you, so the choice cannot be confirmed. Please ask the school to add it."  # noqa: E501
    if problem is not None:
        state = state_of(definition, word)
        state.error, state.form_value, state.form_codes = _(problem), value, codes
        if is_htmx(request):
            return _page(request, CHOICE_FRAGMENT, _fragment_context(db, child, state), status_code=200)
        return _child_page(request, db, principal, child, failed=state, status_code=422)
    made = flow.request_choice(
        db,
        settings,
        definition=definition,
        student=child.student,
        guardian=guardian,
        value=value,
        category_codes=codes,
        account_id=principal.account.id,
        earlier_requests=[event for event, _token in word.pending] if word else [],
        notice_id=catalogue.notice_id,
        category_map=catalogue.categories,
    )
    if definition.service_id is not None and owes_review:  # a board-wide choice has no service to review
        mark_reviewed(
            db,
            board_id=child.student.board_id,
            guardian_id=guardian.id,
            student_id=child.student.id,
            service_id=definition.service_id,
            outcome="changed",
            account_id=principal.account.id,
        )
    if is_htmx(request):  # the fragment from what was just written: no need to read it back
        state = state_of(definition, word)
        state.pending = PendingRequest(made.request, made.token)
        return _page(request, CHOICE_FRAGMENT, _fragment_context(db, child, state), fragment=CHOICE_FRAGMENT)
    return redirect(request, f"/children/{child.student.id}#choice-{definition.id}")


def _after_change(request: Request, db: DbSession, child: Child, definition: ChoiceDefinition) -> Response:
    if is_htmx(request):
        offered = _catalogue(db, child).definition_for(child.student, definition.id)
        state = choice_state(db, child.student.id, offered or definition_of(definition))
        return _page(request, CHOICE_FRAGMENT, _fragment_context(db, child, state), fragment=CHOICE_FRAGMENT)
    return redirect(request, f"/children/{child.student.id}#choice-{definition.id}")


@router.post("/children/{student_id}/requests/{request_id}/resend")
def resend_from_page(
    request: Request,
    db: DbSession,
    settings: AppSettings,
    principal: CurrentGuardian,
    student_id: RowId,
    request_id: RowId,
) -> Response:
    child = _child_or_404(db, principal, student_id)
    pending = flow.pending_for_child(db, child.student.id, request_id)
    if pending is None:
        raise HTTPException(status_code=404, detail="This request is no longer waiting for confirmation.")
    if flow.resend(db, settings, pending, account_id=principal.account.id, via="page") is None:
        return _page(request, "guardian/too_many.html", {"child": child}, status_code=429)
    return _after_change(request, db, child, pending.definition)


@router.post("/children/{student_id}/requests/{request_id}/cancel")
def cancel_from_page(
    request: Request, db: DbSession, principal: CurrentGuardian, student_id: RowId, request_id: RowId
) -> Response:
    child = _child_or_404(db, principal, student_id)
    pending = flow.pending_for_child(db, child.student.id, request_id)
    if pending is None:
        raise HTTPException(status_code=404, detail="This request is no longer waiting for confirmation.")
    flow.cancel_request(db, pending, account_id=principal.account.id, via="page")
    return _after_change(request, db, child, pending.definition)


@router.get("/children/{student_id}/history")
def child_history(request: Request, db: DbSession, principal: CurrentGuardian, student_id: RowId) -> Response:
    child, siblings = child_and_siblings(db, principal.guardian_ids, student_id)
    if child is None:
        raise HTTPException(status_code=404)
    events = history(db, child.student.id)
    return _page(
        request,
        "guardian/history.html",
        {
            "child": child,
            "siblings": siblings,
            "entries": timeline(events),
            "actor_kinds": history_actor_kinds(db, events),
            "accesses": access_history(db, child.student),
            "my_guardian_ids": set(principal.guardian_ids),
            "category_map": _catalogue(db, child).categories,
        },
    )


@router.get("/children/{student_id}/receipts/{receipt_id}")
def receipt(
    request: Request,
    db: DbSession,
    principal: CurrentGuardian,
    settings: AppSettings,
    student_id: RowId,
    receipt_id: str,
    format: str = "html",
) -> Response:
    child = _child_or_404(db, principal, student_id)
    event = find_receipt_event(db, child.student.id, receipt_id)
    if event is None:
        raise HTTPException(status_code=404)
    data = build_receipt(db, event, base_url=settings.base_url)
    if format == "json":
        return json_download(receipt_json(data), f"receipt-{event.receipt_id}.json")
    return _page(
        request,
        "guardian/receipt.html",
        {"child": child, "receipt": data, "event": event, "category_map": _catalogue(db, child).categories},
    )


# --- the confirmation link -----------------------------------------------------------------


def _link_problem(request: Request, db: DbSession, link: flow.Link, secret: str) -> Response:
    flow.refuse_link(db, link)
    status = 404 if link.problem == "unknown" else 410
    context: dict[str, Any] = {"link": link, "secret": secret}
    if link.request is not None:  # what is in force now, whatever became of this request
        context |= _link_context(db, link)
    return _page(request, "guardian/link_problem.html", context, status_code=status)


def _link_context(
    db: DbSession,
    link: flow.Link,
    *,
    current: Effective | None = None,
    catalogue: published.Catalogue | None = None,
    student: Student | None = None,
) -> dict[str, Any]:
    """`current`, `catalogue`, `student`: the choice in force, the board's catalogue as kept and
    the child, when the caller has them (it has just confirmed the choice)."""
    assert link.request is not None
    definition = link.request.definition
    category_map: Mapping[str, Any]
    # The link works without signing in: the board's content in the reader's language all the same.
    if catalogue is not None:
        published.show_translations(catalogue)
        category_map = catalogue.categories
    else:
        translations.use_for_boards(db, [definition.board_id])
        category_map = category_names(db)
    if current is None:
        current = effective_choice(db, link.request.student_id, definition)
    if student is None:
        student = db.get_one(Student, link.request.student_id)
    return {
        "link": link,
        "request_event": link.request,
        "definition": definition,
        "student": student,
        "category_map": category_map,
        "current": current,
        "difference": difference(definition, current, link.request),
    }


@router.get("/confirm/{secret}")
def confirm_page(request: Request, db: DbSession, secret: str) -> Response:
    """Show what will be confirmed; never confirm on GET (mail scanners follow links)."""
    link = flow.inspect_link(db, secret)
    if not link.ok:
        return _link_problem(request, db, link, secret)
    return _page(request, "guardian/confirm.html", {**_link_context(db, link), "secret": secret})


@router.post("/confirm/{secret}")
def confirm(
    request: Request, db: DbSession, settings: AppSettings, principal: OptionalPrincipal, secret: str
) -> Response:
    account_id = principal.account.id if principal is not None else None
    done = flow.confirm_link(db, settings, secret, account_id=account_id)
    if done.event is None:
        return _link_problem(request, db, done.link, secret)
    return _page(
        request,
        "guardian/confirmed.html",
        {
            **_link_context(
                db, done.link, current=done.current, catalogue=done.catalogue, student=done.student
            ),
            "event": done.event,
            "receipt": done.receipt,
        },
    )


@router.post("/confirm/{secret}/resend")
def resend_from_link(request: Request, db: DbSession, settings: AppSettings, secret: str) -> Response:
    """An expired link may ask for a fresh one; it goes to the address on file, never elsewhere."""
    link = flow.inspect_link(db, secret)
    if link.problem != "expired" or link.request is None:
        return _link_problem(request, db, link, secret)
    if flow.resend(db, settings, link.request, account_id=None, via="expired_link") is None:
        return _page(request, "guardian/too_many.html", {"child": None}, status_code=429)
    return _page(request, "guardian/resent.html", {})


@router.post("/confirm/{secret}/cancel")
def cancel_from_link(request: Request, db: DbSession, principal: OptionalPrincipal, secret: str) -> Response:
    link = flow.inspect_link(db, secret)
    if link.problem not in (None, "expired") or link.request is None:
        return _link_problem(request, db, link, secret)
    account_id = principal.account.id if principal is not None else None
    flow.cancel_request(db, link.request, account_id=account_id, via="link")
    return _page(request, "guardian/link_cancelled.html", {})

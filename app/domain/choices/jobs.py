"""Background work of the choices domain, run by the worker (app/worker.py wires it):

- announcing a service change (or a coverage rule that brings children in) to every guardian
  of a covered child: one transaction writes the mailing, all its messages (one INSERT …
  SELECT) and the reviews it asks for, so a job that fails leaves nothing and one that runs
  again adds nothing (ADR 0099);
- expiring requests whose confirmation link ran out (an `expired` event, audited).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import ColumnElement, false, select
from sqlalchemy.orm import Session

from app.db import Database, utcnow
from app.domain.audit.service import Actor, record
from app.domain.catalog import coverage
from app.domain.catalog.models import Service, ServiceAssignment, ServiceVersion
from app.domain.catalog.service import PublishResult
from app.domain.choices import reviews
from app.domain.choices.announcements import ANNOUNCED_CHANGES, SERVICE_CHANGE, covered_pairs, mail_guardians
from app.domain.choices.models import ChoiceEvent
from app.domain.choices.queries import CONFIRMATION_PURPOSE
from app.domain.choices.requests import CONFIRMATION_TTL
from app.domain.choices.service import close_request
from app.domain.jobs import service as jobs
from app.domain.jobs.models import Job
from app.domain.jobs.runner import JobRun
from app.domain.notifications.service import mailing
from app.domain.tokens.models import OneTimeToken

ANNOUNCE = "choices.announce_service_change"
ANNOUNCE_COVERAGE = "choices.announce_coverage"
EXPIRE = "choices.expire_requests"
EXPIRY_EVERY = timedelta(minutes=5)
CHUNK = 500  # requests expired per transaction


def request_announcement(db: Session, result: PublishResult, actor: Actor, *, base_url: str) -> Job | None:
    """Queue the announcement of a publication, in the publishing transaction (None when
    nothing guardians are told about changed, e.g. wording alone)."""
    changed = [c for c in result.changed if c in ANNOUNCED_CHANGES]
    if result.previous is not None and not changed:
        return None
    payload = {
        "service_id": result.service.id,
        "version_id": result.version.id,
        "is_new": result.previous is None,
        "changed": changed,
        "details": result.details,
        "asks_review": result.asks_review,
        "previous_version_id": result.previous.id if result.previous is not None else None,
        "actor": [actor.type, actor.id],
        "base_url": base_url,
    }
    return jobs.enqueue(db, ANNOUNCE, payload, board_id=result.service.board_id, max_attempts=5)


def request_coverage_announcement(
    db: Session,
    service: Service,
    version: ServiceVersion,
    rule: ServiceAssignment,
    actor: Actor,
    *,
    base_url: str,
) -> Job:
    """Queue telling the guardians a new coverage rule brings in ("a new service will hold your
    child's data"), in the transaction that added the rule."""
    payload = {
        "service_id": service.id,
        "version_id": version.id,
        "rule_id": rule.id,
        "actor": [actor.type, actor.id],
        "base_url": base_url,
    }
    return jobs.enqueue(db, ANNOUNCE_COVERAGE, payload, board_id=service.board_id, max_attempts=5)


def _announce(
    database: Database,
    run: JobRun,
    *,
    key: str,
    only: Callable[[Session], ColumnElement[bool] | None],
    action: str,
    details: dict[str, object],
) -> None:
    """Write the announcement's mailing, its messages, the reviews it asks for and its audit
    event (`action`, with the number of messages), in one transaction."""
    board_id = run.board_id
    assert board_id is not None
    service_id, version_id = int(run.payload["service_id"]), int(run.payload["version_id"])
    with database.transaction() as db:
        if db.get(ServiceVersion, version_id) is None:  # deleted with its board meanwhile
            return
        pairs = covered_pairs(db, board_id, service_id, only=only(db))
        params = {
            "version_id": version_id,
            "is_new": bool(run.payload.get("is_new", True)),
            "changed": list(run.payload.get("changed", [])),
            "details": list(run.payload.get("details", [])),
            "base_url": str(run.payload.get("base_url", "")),
        }
        letter = mailing(
            db, board_id=board_id, key=key, template=SERVICE_CHANGE, purpose="service_change", params=params
        )
        if letter.queued_at is not None:  # an earlier run wrote it all, and audited it
            return
        emails = mail_guardians(db, letter, pairs) if pairs is not None else 0
        letter.queued_at = letter.queued_at or utcnow()
        if pairs is not None and run.payload.get("asks_review"):
            reviews.request_reviews(
                db,
                board_id=board_id,
                service_id=service_id,
                version_id=version_id,
                previous_version_id=run.payload.get("previous_version_id"),
                pairs=pairs,
            )
        run.save_progress(db, emails=emails)
        actor_type, actor_id = run.payload["actor"]
        record(
            db,
            action,
            actor=Actor(actor_type, actor_id),
            board_id=board_id,
            target_type="service_version",
            target_id=version_id,
            details={**details, "emails": emails},
        )


def run_coverage_announcement(database: Database, run: JobRun) -> None:
    board_id = run.board_id
    assert board_id is not None
    service_id, rule_id = int(run.payload["service_id"]), int(run.payload["rule_id"])
    with database.session() as db:
        if db.get(ServiceAssignment, rule_id) is None:  # removed again before anyone was told
            return

    def newly_covered(db: Session) -> ColumnElement[bool] | None:
        rule = db.get(ServiceAssignment, rule_id)
        if rule is None:  # removed meanwhile: nobody is brought in
            return false()
        return coverage.newly_covered(rule, coverage.rules_of(db, service_id))

    _announce(
        database,
        run,
        key=f"coverage:{rule_id}",
        only=newly_covered,
        action="guardian.coverage_announced",
        details={"service_id": service_id, "rule_id": rule_id},
    )


def run_announcement(database: Database, run: JobRun) -> None:
    board_id = run.board_id
    assert board_id is not None
    _announce(
        database,
        run,
        key=f"service_change:{run.payload['version_id']}",
        only=lambda _db: None,
        action="guardian.service_change_announced",
        details={"service_id": run.payload["service_id"], "changed": run.payload["changed"]},
    )


def expire_requests(db: Session, *, limit: int = CHUNK) -> int:
    """Close pending requests whose confirmation can no longer arrive: older than the link's
    lifetime and without a live link. Returns how many were expired."""
    now = utcnow()
    closed = select(ChoiceEvent.request_id).where(ChoiceEvent.request_id.is_not(None))
    live = select(OneTimeToken.choice_event_id).where(
        OneTimeToken.purpose == CONFIRMATION_PURPOSE,
        OneTimeToken.choice_event_id.is_not(None),
        OneTimeToken.used_at.is_(None),
        OneTimeToken.revoked_at.is_(None),
        OneTimeToken.expires_at > now,
    )
    stale = list(
        db.scalars(
            select(ChoiceEvent)
            .where(
                ChoiceEvent.kind == "requested",
                ChoiceEvent.created_at <= now - CONFIRMATION_TTL,
                ChoiceEvent.id.not_in(closed),
                ChoiceEvent.id.not_in(live),
            )
            .order_by(ChoiceEvent.id)
            .limit(limit)
        )
    )
    for request in stale:
        close_request(db, request, "expired", actor_account_id=None, channel=request.channel)
    return len(stale)


def run_expiry(database: Database, run: JobRun) -> None:
    while True:
        with database.transaction() as db:
            if expire_requests(db) < CHUNK:
                return

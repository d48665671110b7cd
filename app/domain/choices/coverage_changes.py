"""Changing who a service covers: the rules change, the service publishes version n+1 with the
new coverage (catalog.service.publish_coverage), and the guardians a new rule brings in are
told through a job — the same e-mail a new service sends. Removing a rule tells nobody: the
service simply leaves those children's pages. Used by the staff page and `portal catalogue cover`.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.orm import Session

from app.domain.audit.service import Actor
from app.domain.catalog import coverage
from app.domain.catalog.models import Service, ServiceVersion
from app.domain.catalog.service import publish_coverage
from app.domain.choices.jobs import request_coverage_announcement


def cover(
    db: Session, service: Service, rules: Sequence[coverage.Rule], *, actor: Actor, base_url: str
) -> ServiceVersion:
    added = [coverage.add_rule(db, service, rule, actor=actor) for rule in rules]
    version = publish_coverage(db, service=service, actor=actor)
    for row in added:
        request_coverage_announcement(db, service, version, row, actor, base_url=base_url)
    return version


def uncover(db: Session, service: Service, rule_id: int, *, actor: Actor) -> ServiceVersion:
    coverage.remove_rule(db, service, rule_id, actor=actor)
    return publish_coverage(db, service=service, actor=actor)

"""Imports every domain's models so that `Base.metadata` is complete (Alembic, tests)."""

from app.domain.accounts import models as accounts
from app.domain.apikeys import models as apikeys
from app.domain.audit import models as audit
from app.domain.boards import models as boards
from app.domain.catalog import models as catalog
from app.domain.catalog import published as catalogue_version  # moves the counter (ADR 0095)
from app.domain.choices import models as choices
from app.domain.evidence import models as evidence
from app.domain.incidents import models as incidents
from app.domain.incidents import published as incident_notices  # kept with the catalogue
from app.domain.jobs import models as jobs
from app.domain.notifications import models as notifications
from app.domain.people import models as people
from app.domain.reach import models as reach
from app.domain.requests import models as requests
from app.domain.retention import models as retention
from app.domain.roster import models as roster
from app.domain.student_view import models as student_view
from app.domain.tokens import models as tokens
from app.domain.translations import models as translations

__all__ = [
    "accounts",
    "apikeys",
    "audit",
    "boards",
    "catalog",
    "catalogue_version",
    "choices",
    "evidence",
    "incident_notices",
    "incidents",
    "jobs",
    "notifications",
    "people",
    "reach",
    "requests",
    "retention",
    "roster",
    "student_view",
    "tokens",
    "translations",
]

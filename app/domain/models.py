"""Imports every domain's models so that `Base.metadata` is complete (Alembic, tests)."""

from app.domain.accounts import models as accounts
from app.domain.apikeys import models as apikeys
from app.domain.audit import models as audit
from app.domain.boards import models as boards
from app.domain.catalog import models as catalog
from app.domain.choices import models as choices
from app.domain.jobs import models as jobs
from app.domain.notifications import models as notifications
from app.domain.people import models as people
from app.domain.requests import models as requests
from app.domain.roster import models as roster
from app.domain.tokens import models as tokens

__all__ = [
    "accounts",
    "apikeys",
    "audit",
    "boards",
    "catalog",
    "choices",
    "jobs",
    "notifications",
    "people",
    "requests",
    "roster",
    "tokens",
]

"""Imports every domain's models so that `Base.metadata` is complete (Alembic, tests)."""

from app.accounts import models as accounts
from app.api import models as api
from app.audit import models as audit
from app.boards import models as boards
from app.catalog import models as catalog
from app.choices import models as choices
from app.notifications import models as notifications
from app.roster import models as roster
from app.tokens import models as tokens

__all__ = [
    "accounts",
    "api",
    "audit",
    "boards",
    "catalog",
    "choices",
    "notifications",
    "roster",
    "tokens",
]

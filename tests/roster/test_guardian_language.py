"""A roster re-import never resets the language a guardian chose (ADR 0078).

OneRoster carries no language: the import writes names, e-mail and status only, so a
changed, unchanged, deactivated or re-activated guardian keeps `preferred_language`.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db import Database
from app.domain.accounts.language import save_language
from app.domain.accounts.models import Account, AccountGuardian
from app.domain.people.models import Guardian
from app.domain.roster.review import Acceptance
from app.domain.roster.service import run_import
from tests.roster.rosters import (
    GUARDIAN_ICHIRO,
    GUARDIAN_KEIKO,
    SAMPLE_ZIP,
    build_zip,
    manifest,
    only,
    set_field,
)


def _languages(db: Session) -> dict[str, tuple[str, str]]:
    db.expire_all()
    return {g.sourced_id: (g.status, g.preferred_language) for g in db.scalars(select(Guardian))}


def test_re_imports_keep_the_chosen_language(database: Database, db: Session, tmp_path: Path) -> None:
    assert run_import(database, SAMPLE_ZIP, board_code="tobira-city").status == "done"
    ichiro = db.scalar(select(Guardian).where(Guardian.sourced_id == GUARDIAN_ICHIRO))
    assert ichiro is not None
    account = Account(issuer="https://idp.example.test", subject="ichiro", kind="guardian")
    db.add(account)
    db.flush()
    db.add(AccountGuardian(account_id=account.id, guardian_id=ichiro.id, method="enrolment_code"))
    save_language(db, account, "en")
    db.commit()

    renamed = build_zip(
        tmp_path / "renamed.zip",
        edit={"users.csv": set_field(GUARDIAN_ICHIRO, givenName="一朗", email="ichiro@example.jp")},
    )
    report = run_import(database, renamed, board_code="tobira-city")
    assert report.status == "done" and report.counts["guardians"]["changed"] == 1
    assert _languages(db)[GUARDIAN_ICHIRO] == ("active", "en")

    assert run_import(database, renamed, board_code="tobira-city").counts["guardians"]["changed"] == 0
    assert _languages(db)[GUARDIAN_ICHIRO] == ("active", "en")

    def delta(name: str, **values: str) -> Path:
        return build_zip(
            tmp_path / name,
            raw={"manifest.csv": manifest(users="delta", roles="absent")},
            edit={"users.csv": only(GUARDIAN_ICHIRO, **values)},
        )

    assert (
        run_import(
            database,
            delta("gone.zip", status="tobedeleted"),
            board_code="tobira-city",
            accept=Acceptance(deactivations=True),  # one guardian of three is over the 5 % caution
        ).status
        == "done"
    )
    assert _languages(db)[GUARDIAN_ICHIRO] == ("inactive", "en")
    assert run_import(database, delta("back.zip", status="active"), board_code="tobira-city").status == "done"
    languages = _languages(db)
    assert languages[GUARDIAN_ICHIRO] == ("active", "en")
    # A guardian who never chose keeps the default.
    assert languages[GUARDIAN_KEIKO] == ("active", "ja")
    db.expire_all()
    assert db.get_one(Account, account.id).preferred_language == "en"

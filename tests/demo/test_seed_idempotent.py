"""Running the demo seed again changes nothing but the printed enrolment code."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.domain.boards.models import Board
from app.domain.catalog.models import ServiceVersion
from app.domain.tokens import service as tokens
from app.domain.tokens.service import TokenProblem
from app.surfaces.demo.seed import seed_demo


def test_seeding_twice_changes_nothing_but_the_enrolment_code(db: Session) -> None:
    first = seed_demo(db)
    db.commit()
    second = seed_demo(db)
    db.commit()
    assert first.created and not second.created
    assert (
        first.students,
        first.guardians,
        first.services,
        first.guardian_links,
        first.effective_choices,
    ) == (
        second.students,
        second.guardians,
        second.services,
        second.guardian_links,
        second.effective_choices,
    )
    assert db.scalar(select(func.count(Board.id))) == 1
    assert db.scalar(select(func.count(ServiceVersion.id))) == 13
    # Only the latest printed code works; the earlier one was revoked.
    assert tokens.look_up(db, "enrolment_code", first.enrolment_code).problem is TokenProblem.REVOKED
    found = tokens.redeem(db, "enrolment_code", second.enrolment_code)
    assert found.ok and found.token is not None
    assert (found.token.guardian_id, found.token.student_id) == (
        second.code_guardian_id,
        second.code_student_id,
    )
    assert found.token.board_id == second.board_id

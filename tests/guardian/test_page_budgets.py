"""Pages load in a fixed number of SQL statements, whatever the size of the catalogue.

A query per service, choice, child or event shows up here as a count that moves when the
data grows. The budgets are the counts measured when this was written; a page that needs
more should first be asked why.
"""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.config import Settings
from app.domain.catalog.models import ChoiceDefinition, Service
from app.domain.choices import service as choices
from tests.guardian.factories import World, link, make_service, make_student
from tests.helpers import StatementCounter, sign_in_as

CHILD_PAGE_BUDGET = 19  # with the notice version the choice forms carry and the reviews owed (ADR 0089)
CHILDREN_PAGE_BUDGET = 3
HISTORY_PAGE_BUDGET = 7  # with who looked at the record (one statement)


def _toggle(db: Session, service: Service, code: str) -> ChoiceDefinition:
    definition = ChoiceDefinition(
        board_id=service.board_id,
        service_id=service.id,
        code=code,
        kind="toggle",
        options=["allow", "deny"],
        default_value="allow",
        label=f"選択 {code}",
        label_en=f"Choice {code}",
    )
    db.add(definition)
    db.flush()
    return definition


def _grow_catalogue(db: Session, world: World, services: int, choices_each: int) -> list[ChoiceDefinition]:
    """More services covering the whole board, each with choices; some already chosen or
    waiting for confirmation, so every branch of the page is exercised."""
    added: list[ChoiceDefinition] = []
    for s in range(services):
        service = make_service(db, world.board, code=f"extra-{s}", use_group="learning")
        for c in range(choices_each):
            added.append(_toggle(db, service, f"choice-{s}-{c}"))
    for n, definition in enumerate(added):
        if n % 3 == 0:
            choices.record_confirmed(
                db,
                definition=definition,
                student_id=world.hanako.id,
                value="deny",
                category_codes=[],
                channel="paper",
                reason="紙の申出書",
                actor_account_id=None,
            )
        elif n % 3 == 1:
            choices.write_request(
                db,
                definition=definition,
                student_id=world.hanako.id,
                value="deny",
                category_codes=[],
                channel="web",
                actor_account_id=world.account.id,
                guardian_id=world.mother.id,
            )
    db.commit()
    return added


def _statements(client: TestClient, counter: StatementCounter, url: str) -> StatementCounter:
    client.get(url)  # the first look records what the guardian has seen (writes); then count
    with counter as counted:
        response = client.get(url)
    assert response.status_code == 200
    return counted


def test_child_page_runs_the_same_statements_for_2_and_22_choices(
    client: TestClient, db: Session, settings: Settings, world: World, sql_statements: StatementCounter
) -> None:
    sign_in_as(client, db, settings, world.account)
    url = f"/children/{world.hanako.id}"
    choices.write_request(  # one choice waiting for confirmation already, as on the large page
        db,
        definition=world.photo_choice,
        student_id=world.hanako.id,
        value="deny",
        category_codes=[],
        channel="web",
        actor_account_id=world.account.id,
        guardian_id=world.mother.id,
    )
    db.commit()
    small = _statements(client, sql_statements, url).count
    _grow_catalogue(db, world, services=5, choices_each=4)  # 2 → 22 choice definitions
    large = _statements(client, sql_statements, url)
    page = client.get(url).text
    assert "選択 choice-4-3" in page and "確認待ち" in page  # the new choices are on the page
    assert large.count == small, large.report()
    assert small <= CHILD_PAGE_BUDGET, large.report()


def test_children_page_runs_the_same_statements_for_2_and_5_children(
    client: TestClient, db: Session, settings: Settings, world: World, sql_statements: StatementCounter
) -> None:
    sign_in_as(client, db, settings, world.account)
    small = _statements(client, sql_statements, "/children").count
    for n in range(3):
        link(db, world.mother, make_student(db, world.school, given=f"子{n}", grade="P2"))
    db.commit()
    large = _statements(client, sql_statements, "/children")
    assert client.get("/children").text.count('href="/children/') >= 5
    assert large.count == small, large.report()
    assert small <= CHILDREN_PAGE_BUDGET, large.report()


def test_history_runs_the_same_statements_for_1_and_many_events(
    client: TestClient, db: Session, settings: Settings, world: World, sql_statements: StatementCounter
) -> None:
    sign_in_as(client, db, settings, world.account)
    url = f"/children/{world.hanako.id}/history"
    _grow_catalogue(db, world, services=1, choices_each=1)
    small = _statements(client, sql_statements, url).count
    for n in range(2, 6):
        service = make_service(db, world.board, code=f"more-{n}", use_group="learning")
        for c in range(3):
            definition = _toggle(db, service, f"more-{n}-{c}")
            choices.record_confirmed(
                db,
                definition=definition,
                student_id=world.hanako.id,
                value="deny",
                category_codes=[],
                channel="phone",
                reason="電話",
                actor_account_id=None,
            )
    db.commit()
    large = _statements(client, sql_statements, url)
    assert large.count == small, large.report()
    assert small <= HISTORY_PAGE_BUDGET, large.report()

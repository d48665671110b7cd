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
from tests.helpers import StatementCounter, sign_in_as, translate

# The session with its guardians, the children, the family's word on its choices, what it saw and
# owes, and what connected systems applied; the catalogue (services, choices, notice, incidents)
# from memory per catalogue version (ADR 0095). Formerly 22.
CHILD_PAGE_BUDGET = 6
CHILDREN_PAGE_BUDGET = 3
HISTORY_PAGE_BUDGET = 10  # with who saw the child's data (seven statements, ADR 0086); formerly 13


def _toggle(db: Session, service: Service, code: str) -> ChoiceDefinition:
    definition = ChoiceDefinition(
        board_id=service.board_id,
        service_id=service.id,
        code=code,
        kind="toggle",
        options=["allow", "deny"],
        default_value="allow",
        label=f"選択 {code}",
    )
    db.add(definition)
    db.flush()
    translate(db, definition, label=f"Choice {code}")
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


def test_who_saw_and_incidents_run_the_same_statements_for_few_and_many_accesses(
    client: TestClient, db: Session, settings: Settings, world: World, sql_statements: StatementCounter
) -> None:
    """Exports, API reads, acknowledgements and incident notices add rows, never statements."""
    from app.domain.apikeys import service as keys
    from app.domain.audit.service import Actor
    from app.domain.incidents import service as incidents
    from tests.helpers import csrf_token
    from tests.staff import factories as staff_factories

    def hide() -> None:
        choices.record_confirmed(
            db,
            definition=world.dashboard_choice,
            student_id=world.hanako.id,
            value="hide_all",
            category_codes=[],
            channel="paper",
            reason="紙の申出書",
            actor_account_id=None,
        )
        db.commit()

    def grow(n: int) -> None:
        staff = staff_factories.staff(db, world.board, "school_admin", world.school)
        secret, _key = keys.create_key(db, board_id=world.board.id, name=f"System {n}", actor=Actor("system"))
        db.commit()
        client.cookies.clear()
        sign_in_as(client, db, settings, staff)
        for _ in range(n):
            hide()
            client.get(f"/staff/students/{world.hanako.id}")
            client.post("/staff/exports", data={"csrf_token": csrf_token(client, settings), "format": "csv"})
            auth = {"Authorization": f"Bearer {secret}"}
            client.get("/api/v1/hide-list?service=dashboard&choice=dashboard_display", headers=auth)
            cursor = client.get("/api/v1/changes", headers=auth).json()["next_cursor"]
            client.post("/api/v1/acknowledgements", json={"cursor": cursor}, headers=auth)
            draft = incidents.parse_draft(
                {"title": f"事故 {n}", "body": "内容", "period_start": "2026-11-01"}, set(), []
            )
            incident = incidents.create(db, world.dashboard, draft, Actor("system"))
            incidents.send(db, incident, Actor("system"), base_url="")
            db.commit()
        client.cookies.clear()
        sign_in_as(client, db, settings, world.account)

    grow(1)
    child_url, history_url = f"/children/{world.hanako.id}", f"/children/{world.hanako.id}/history"
    small_child = _statements(client, sql_statements, child_url).count
    small_history = _statements(client, sql_statements, history_url).count
    grow(4)
    large_child = _statements(client, sql_statements, child_url).count  # one counter: read it now
    large_history = _statements(client, sql_statements, history_url)
    page = client.get(history_url).text
    assert page.count("お子さまを含む一覧を出力しました") == 5 and "連携システム： System 4" in page
    assert client.get(child_url).text.count("事故のお知らせ: 事故") == 5
    assert large_child == small_child
    assert large_history.count == small_history, large_history.report()
    assert small_child <= CHILD_PAGE_BUDGET and small_history <= HISTORY_PAGE_BUDGET

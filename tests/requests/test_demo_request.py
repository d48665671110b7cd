"""Within the demo's board: the letter guardian asks for disclosure about a child, the child's
school admin answers, and the guardian downloads the package, with the due date on both sides."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.config import Settings
from app.db import Database
from app.domain.boards.models import Board
from app.domain.people.models import Guardian, School, Student
from app.domain.requests.models import GuardianRequest
from app.surfaces.demo.seed import seed_demo
from tests.guardian.factories import make_account
from tests.helpers import SmtpSink, body_of, csrf_token, deliver_mail, sign_in_as
from tests.staff import factories as staff_factories


def test_a_disclosure_request_in_the_demo(
    client: TestClient, db: Session, database: Database, settings: Settings, smtp: SmtpSink
) -> None:
    summary = seed_demo(db)
    guardian = db.get_one(Guardian, summary.code_guardian_id)
    student = db.get_one(Student, summary.code_student_id)
    board = db.get_one(Board, summary.board_id)
    school = db.get_one(School, student.school_id)
    account = make_account(db, guardian)
    admin = staff_factories.staff(db, board, "school_admin", school)
    db.commit()

    sign_in_as(client, db, settings, account)
    sent = client.post(
        f"/children/{student.id}/data-requests",
        data={"csrf_token": csrf_token(client, settings), "kind": "disclosure"},
        follow_redirects=False,
    )
    assert sent.status_code == 303
    made = db.scalar(select(GuardianRequest))
    assert made is not None
    due = f"{made.due_on.year}年{made.due_on.month}月{made.due_on.day}日"
    assert due in client.get(sent.headers["location"]).text

    client.cookies.clear()
    sign_in_as(client, db, settings, admin)
    assert due in client.get("/staff/requests").text
    assert student.full_name in client.get(f"/staff/requests/{made.id}/package").text
    client.post(
        f"/staff/requests/{made.id}/answer",
        data={"csrf_token": csrf_token(client, settings), "answer": "保有する情報は添付のとおりです。"},
    )
    deliver_mail(database, settings)
    [answer] = [m for m in smtp.to(guardian.email or "") if "回答" in str(m["Subject"])]
    assert "保有する情報は添付のとおりです。" in body_of(answer)
    link = re.search(r"https?://\S+/data-requests/\d+", body_of(answer))
    assert link is not None

    client.cookies.clear()
    sign_in_as(client, db, settings, account)
    package = client.get(f"/children/{student.id}/data-requests/{made.id}/package?format=json").json()
    assert package["student"]["sourced_id"] == student.sourced_id
    assert package["guardian"]["sourced_id"] == guardian.sourced_id
    assert {e["channel"] for e in package["choice_events"]} <= {
        "web",
        "paper",
        "phone",
        "in_person",
        "import",
    }

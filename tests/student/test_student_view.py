"""The student's own view: sign-in through a real provider, what they read, who sees their
messages, and that audiences do not cross (ADR 0085)."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.config import Settings
from app.domain.accounts.models import Account
from app.domain.accounts.students import match_student
from app.domain.audit.models import AuditEvent
from app.domain.choices import service as choices
from app.domain.people.models import Student
from app.domain.student_view.models import StudentMessage
from tests.accounts.helpers import problem_of
from tests.guardian.factories import World, make_dashboard_choice, make_school, make_service, make_student
from tests.helpers import StatementCounter, csrf_token, sign_in_as
from tests.oidc import MockProvider, sign_in_through
from tests.staff import factories as staff_factories

JA = {"Accept-Language": "ja"}
EN = {"Accept-Language": "en"}
STUDENT_PAGE_BUDGET = 13


def _sign_in_student(
    client: TestClient, idp: MockProvider, student: Student, provider: str = "students"
) -> str:
    sub = f"school-account-{student.sourced_id}"
    idp.set_user(sub, roster_id=student.sourced_id, name=student.full_name)
    answer = sign_in_through(client, idp, provider, sub)
    return (
        str(answer.headers.get("location", ""))
        if answer.status_code == 303
        else problem_of(answer.text) or ""
    )


def _student_account(db: Session, world: World, student: Student) -> Account:
    account = Account(issuer="https://students.test", subject=f"s-{student.id}", kind="student")
    db.add(account)
    db.flush()
    assert match_student(db, account, board_code=world.board.code, roster_id=student.sourced_id) is not None
    db.commit()
    return account


def _send(client: TestClient, settings: Settings, service_id: int, text: str = "") -> int:
    answer = client.post(
        "/student/messages",
        data={"service_id": str(service_id), "text": text, "csrf_token": csrf_token(client, settings)},
        follow_redirects=False,
    )
    return int(answer.status_code)


def _actions(db: Session, action: str) -> list[AuditEvent]:
    db.expire_all()
    return list(db.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def test_a_student_signs_in_and_reads_their_services_and_their_guardians_choices(
    client: TestClient, db: Session, idp: MockProvider, world: World
) -> None:
    choices.record_confirmed(
        db,
        definition=world.dashboard_choice,
        student_id=world.hanako.id,
        value="hide_some",
        category_codes=["grades"],
        channel="paper",
        reason="紙の申出書",
        actor_account_id=None,
    )
    choices.write_request(
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
    assert "/auth/login/students" in client.get("/signin", headers=EN).text.split("For students")[1]

    assert _sign_in_student(client, idp, world.hanako) == "/student"
    page = client.get("/student", headers=JA)
    assert page.status_code == 200
    text = page.text
    assert "山田 花子さん" in text
    assert "スクールダッシュボード" in text and "Microsoft Teams" in text
    # The guardians' choices as the student reads them, with furigana for a P3 pupil.
    assert "いくつかの データを かくして います" in text
    assert "せいせき" in text  # the reading of 成績 in the hidden kind of data
    assert "<ruby>" in text and "<rt>" in text
    assert "まだ きまって いません" in text  # the photo request waits for confirmation
    assert "健太" not in text  # another family's child
    assert 'name="value"' not in text  # nothing here sets a choice

    english = client.get("/student", headers=EN).text
    assert "Some kinds of your data are hidden:" in english
    assert "Your marks and how your teachers see your learning." in english
    assert "Your guardian asked for a change. It is not decided yet." in english
    assert "<ruby>" not in english

    [signed_in] = [e for e in _actions(db, "accounts.signed_in") if e.details["kind"] == "student"]
    assert signed_in.board_id == world.board.id


def test_junior_high_pages_are_in_easy_japanese_without_furigana(
    client: TestClient, db: Session, settings: Settings, world: World
) -> None:
    older = make_student(db, world.school, family="鈴木", given="一郎", grade="J1")
    sign_in_as(client, db, settings, _student_account(db, world, older))
    text = client.get("/student", headers=JA).text
    assert "<ruby>" not in text and "《" not in text
    assert "学校で つかう わたしの データ" in text


def test_a_student_of_another_school_sees_nothing_of_this_school(
    client: TestClient, db: Session, settings: Settings, idp: MockProvider, world: World
) -> None:
    other_school = make_school(db, world.board, name="けやき小学校", name_en="Keyaki Elementary")
    pupil = make_student(db, other_school, family="田中", given="みく", grade="P4")
    db.commit()
    assert _sign_in_student(client, idp, pupil) == "/student"
    text = client.get("/student", headers=JA).text
    assert "スクールダッシュボード" in text  # the board-wide service covers every school
    assert "Microsoft Teams" not in text  # only Sakura Elementary uses it
    assert "花子" not in text
    # A message about the other school's service is refused and stores nothing.
    assert _send(client, settings, world.learning.id, "見て") == 404
    assert db.scalars(select(StudentMessage)).all() == []


def test_a_student_of_another_board_sees_nothing_of_this_board(
    client: TestClient, db: Session, settings: Settings, idp: MockProvider, world: World
) -> None:
    make_service(db, world.board, code="portal", name="さいたま市学びのポータル", name_en="Saitama Portal")
    toda_school = make_school(db, world.foreign_board, name="戸田第一小学校", name_en="Toda No.1")
    toda_pupil = make_student(db, toda_school, family="高橋", given="ゆい", grade="P5")
    make_service(db, world.foreign_board, code="toda-app", name="戸田の学習アプリ", name_en="Toda App")
    db.commit()

    # Through this board's provider the Toda pupil is not on the roster: a clear page, no session.
    assert _sign_in_student(client, idp, toda_pupil) == "student_not_on_roster"
    assert client.get("/student", follow_redirects=False).status_code in (303, 307)
    [failed] = _actions(db, "accounts.sign_in_failed")
    assert failed.details["reason"] == "not_on_roster"

    # Through their own board's provider they see their own board only.
    other = TestClient(client.app, base_url="http://127.0.0.1")
    assert _sign_in_student(other, idp, toda_pupil, "toda-students") == "/student"
    text = other.get("/student", headers=JA).text
    assert "戸田の学習アプリ" in text
    assert "さいたま市学びのポータル" not in text and "Microsoft Teams" not in text
    assert _send(other, settings, world.dashboard.id) == 404
    assert db.scalars(select(StudentMessage)).all() == []


def test_a_message_reaches_the_staff_of_the_students_school_only_and_handling_is_audited(
    client: TestClient, db: Session, settings: Settings, world: World
) -> None:
    other_school = make_school(db, world.board, name="けやき小学校", name_en="Keyaki Elementary")
    teacher = staff_factories.staff(db, world.board, "teacher", world.school)
    other_teacher = staff_factories.staff(db, world.board, "teacher", other_school)
    board_admin = staff_factories.staff(db, world.board, "board_admin")
    foreign_admin = staff_factories.staff(db, world.foreign_board, "board_admin")
    sign_in_as(client, db, settings, _student_account(db, world, world.hanako))
    assert _send(client, settings, world.learning.id, "写真のことを お母さんに 見てほしいです") == 303
    assert "に おくりました。" in client.get("/student?sent=1", headers=JA).text
    [sent] = _actions(db, "students.message_sent")
    assert sent.board_id == world.board.id and sent.details["service_id"] == world.learning.id

    def messages_page(account: Account) -> str:
        client.cookies.clear()
        sign_in_as(client, db, settings, account)
        page = client.get("/staff/student-messages", headers=EN)
        assert page.status_code == 200
        return str(page.text)

    for_teacher = messages_page(teacher)
    assert 'href="/staff/student-messages"' in client.get("/staff", headers=EN).text
    record = client.get(f"/staff/students/{world.hanako.id}", headers=EN).text
    assert f'href="/staff/student-messages?show=all&amp;student={world.hanako.id}"' in record
    assert "見てほしいです" in client.get(f"/staff/student-messages?student={world.hanako.id}").text
    assert "見てほしいです" not in client.get(f"/staff/student-messages?student={world.jiro.id}").text
    assert "写真のことを お母さんに 見てほしいです" in for_teacher and "山田 花子" in for_teacher
    assert "would like their guardian to look at this" in for_teacher and "Microsoft Teams" in for_teacher
    assert "山田 花子" in messages_page(board_admin)
    assert "山田 花子" not in messages_page(foreign_admin)
    assert "山田 花子" not in messages_page(other_teacher)
    [message] = db.scalars(select(StudentMessage)).all()
    refused = client.post(
        f"/staff/student-messages/{message.id}/handled",
        data={"csrf_token": csrf_token(client, settings)},
        follow_redirects=False,
    )
    assert refused.status_code == 404
    assert _actions(db, "students.message_handled") == []

    messages_page(teacher)
    handled = client.post(
        f"/staff/student-messages/{message.id}/handled",
        data={"csrf_token": csrf_token(client, settings)},
        follow_redirects=False,
    )
    assert handled.status_code == 303
    [event] = _actions(db, "students.message_handled")
    assert event.actor_id == teacher.id and event.target_id == str(message.id)
    assert "写真のことを" not in client.get("/staff/student-messages", headers=EN).text  # open only
    assert "Handled on" in client.get("/staff/student-messages?show=all", headers=EN).text

    client.cookies.clear()
    sign_in_as(client, db, settings, _student_account(db, world, world.jiro))
    assert "学校が 読みました" not in client.get("/student", headers=JA).text  # Jiro sent nothing


def test_bad_messages_are_refused_and_sending_is_rate_limited(
    client: TestClient, db: Session, settings: Settings, world: World
) -> None:
    sign_in_as(client, db, settings, _student_account(db, world, world.hanako))
    for hidden in ("見て\x07", "見\u202eて", "見\x85て"):  # C0 (refused at the door), bidi override, C1
        answer = client.post(
            "/student/messages",
            data={
                "service_id": str(world.learning.id),
                "text": hidden,
                "csrf_token": csrf_token(client, settings),
            },
            headers=EN,
        )
        assert answer.status_code == 422 and "cannot be" in answer.text, hidden
    assert "characters that cannot be used" in answer.text  # the student's own page, in its words
    too_long = client.post(
        "/student/messages",
        data={
            "service_id": str(world.learning.id),
            "text": "あ" * 401,
            "csrf_token": csrf_token(client, settings),
        },
        headers=EN,
    )
    assert too_long.status_code == 422 and "400 characters or fewer" in too_long.text
    no_csrf = client.post("/student/messages", data={"service_id": str(world.learning.id)})
    assert no_csrf.status_code == 403
    assert _send(client, settings, 99999999999999999) == 404
    assert db.scalars(select(StudentMessage)).all() == []
    # Five attempts an hour per account, refused ones included: the sixth is refused.
    statuses = [_send(client, settings, world.learning.id, "もう一度") for _ in range(3)]
    assert statuses[0] == 303 and statuses[-1] == 429
    db.expire_all()
    assert len(db.scalars(select(StudentMessage)).all()) == statuses.count(303)


def test_guardian_staff_and_student_audiences_do_not_cross(
    client: TestClient, db: Session, settings: Settings, idp: MockProvider, world: World
) -> None:
    staff = staff_factories.staff(db, world.board, "board_admin")
    student = _student_account(db, world, world.hanako)
    for account in (world.account, staff):
        client.cookies.clear()
        sign_in_as(client, db, settings, account)
        assert client.get("/student").status_code == 404
    client.cookies.clear()
    sign_in_as(client, db, settings, student)
    assert client.get("/children").status_code == 404
    assert client.get(f"/children/{world.hanako.id}").status_code == 404
    assert client.get("/staff").status_code == 404
    assert client.get("/staff/student-messages").status_code == 404

    # The same person at the provider: signed in as a guardian first, the student provider
    # refuses the account; and a student account cannot sign in as a guardian.
    client.cookies.clear()
    idp.set_user("shared-sub", roster_id=world.hanako.sourced_id)
    assert sign_in_through(client, idp, "family", "shared-sub").status_code == 303
    client.cookies.clear()
    assert problem_of(sign_in_through(client, idp, "students", "shared-sub").text) == "wrong_kind"
    assert _sign_in_student(client, idp, world.jiro) == "/student"
    client.cookies.clear()
    sub = f"school-account-{world.jiro.sourced_id}"
    assert problem_of(sign_in_through(client, idp, "staffidp", sub).text) == "wrong_kind"


def test_a_student_who_left_the_roster_sees_nothing(
    client: TestClient, db: Session, settings: Settings, world: World
) -> None:
    sign_in_as(client, db, settings, _student_account(db, world, world.hanako))
    assert client.get("/student").status_code == 200
    world.hanako.status = "inactive"
    db.commit()
    assert client.get("/student").status_code == 404


def test_student_page_runs_the_same_statements_for_2_and_12_services(
    client: TestClient, db: Session, settings: Settings, world: World, sql_statements: StatementCounter
) -> None:
    sign_in_as(client, db, settings, _student_account(db, world, world.hanako))
    client.get("/student")
    with sql_statements as small:
        assert client.get("/student").status_code == 200
    for n in range(10):
        service = make_service(db, world.board, code=f"more-{n}", name=f"サービス{n}", use_group="learning")
        definition = make_dashboard_choice(db, service)
        if n % 2:
            choices.record_confirmed(
                db,
                definition=definition,
                student_id=world.hanako.id,
                value="hide_all",
                category_codes=[],
                channel="paper",
                reason="紙",
                actor_account_id=None,
            )
    db.commit()
    with sql_statements as large:
        page = client.get("/student")
    assert "サービス9" in page.text
    assert large.count == small.count, large.report()
    assert small.count <= STUDENT_PAGE_BUDGET, small.report()

"""The reach overview on the demo board: its numbers are the demo's (counted here from the
demo's own family plan, not from the page's query), each number opens exactly those families,
the letters printed for "not redeemed" are exactly theirs, school staff see only their school,
and the pages run the same statements whatever their size."""

from __future__ import annotations

import re
from collections import defaultdict

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.config import Settings
from app.db import utcnow
from app.domain.accounts import staff_admin
from app.domain.accounts.models import Account, AccountGuardian
from app.domain.accounts.principal import Principal
from app.domain.boards.models import Board
from app.domain.people.models import Guardian, GuardianStudent, School, SchoolClass, Student
from app.domain.reach import overview as reach
from app.domain.reach.settings import reminders_of
from app.surfaces.demo.seed import seed_demo
from app.surfaces.demo.seed.roster import build_families
from tests.helpers import StatementCounter, csrf_token, sign_in_as
from tests.staff import factories as staff_factories


@pytest.fixture
def demo(db: Session) -> dict[str, object]:
    summary = seed_demo(db)
    db.commit()
    schools = {s.kind: s for s in db.scalars(select(School).where(School.board_id == summary.board_id))}
    return {"summary": summary, "schools": schools}


def _expected_no_email() -> tuple[int, dict[tuple[str, str], set[int]]]:
    """From the demo's family plan: guardians with no address, per (school kind, homeroom title)."""
    per_room: dict[tuple[str, str], set[int]] = defaultdict(set)
    guardians: set[int] = set()
    for family in build_families():
        for guardian in family.guardians:
            if guardian.email is None:
                guardians.add(guardian.number)
                for child in family.children:
                    title = f"{int(child.slot.grade[1:])}年{child.slot.homeroom}組"
                    per_room[(child.slot.school, title)].add(guardian.number)
    return len(guardians), per_room


def test_the_counts_are_the_demos_and_the_letters_are_exactly_the_not_redeemed(
    client: TestClient,
    db: Session,
    settings: Settings,
    demo: dict[str, object],
    sql_statements: StatementCounter,
) -> None:
    summary = demo["summary"]
    board_id = summary.board_id  # type: ignore[attr-defined]
    families = build_families()
    all_guardians = sum(len(f.guardians) for f in families)
    no_email, per_room = _expected_no_email()
    assert no_email >= 1

    admin = staff_factories.staff(db, db.get_one(Board, board_id), "board_admin")
    # The school printed letters for one homeroom of the junior high; one guardian of it used
    # the code and signed in.
    junior = demo["schools"]["junior_high"]  # type: ignore[index]
    homeroom = db.scalar(
        select(SchoolClass).where(SchoolClass.school_id == junior.id, SchoolClass.title == "1年1組")
    )
    assert homeroom is not None
    principal = Principal(account=admin, session=None, roles=list(_roles(db, admin)))  # type: ignore[arg-type]
    staff_admin.issue_letters(db, principal, homeroom)
    pairs = staff_admin.class_pairs(db, homeroom)
    reached = pairs[0].guardian
    account = Account(issuer="https://idp.test", subject="reached", kind="guardian", last_sign_in_at=utcnow())
    db.add(account)
    db.flush()
    db.add(AccountGuardian(account_id=account.id, guardian_id=reached.id, method="enrolment_code"))
    db.commit()

    expected_letters = {(p.guardian.id, p.student.id) for p in pairs if p.guardian.id != reached.id}
    expected_letters.add((summary.code_guardian_id, summary.code_student_id))  # type: ignore[attr-defined]

    scope = reach.Scope(board_id)
    result = reach.overview(db, scope, utcnow(), reminders_of(db, board_id))
    assert result.total.guardians == all_guardians
    assert result.total.by_measure["no_email"] == no_email
    assert result.total.by_measure["never_signed_in"] == all_guardians - 1
    assert result.total.by_measure["not_redeemed"] == len({g for g, _s in expected_letters})
    assert result.total.by_measure["waiting"] == 0 and result.total.by_measure["unreviewed"] == 0
    for row in result.schools:
        for room in row.homerooms:
            assert room.school_class is not None
            wanted = len(per_room.get((row.school.kind, room.school_class.title), set()))
            assert room.counts.by_measure["no_email"] == wanted, (row.school.kind, room.school_class.title)
    jh = next(r for r in result.schools if r.school.id == junior.id)
    room = next(h for h in jh.homerooms if h.school_class is not None and h.school_class.id == homeroom.id)
    assert room.counts.by_measure["not_redeemed"] == len(
        {g for g, s in expected_letters if s in {p.student.id for p in pairs}}
    )

    sign_in_as(client, db, settings, admin)
    page = client.get("/staff/reach")
    assert page.status_code == 200 and "まだ届いていない家庭" in page.text
    assert f'href="/staff/reach/no_email">{no_email}</a>' in page.text
    listed = client.get("/staff/reach/not_redeemed")
    assert listed.status_code == 200 and f"保護者と児童生徒の組：{len(expected_letters)}件" in listed.text

    letters = client.post(
        "/staff/reach/not_redeemed/letters", data={"csrf_token": csrf_token(client, settings)}
    )
    assert letters.status_code == 200
    printed = re.findall(r"<h2>(.+?) 様</h2>", letters.text)
    names = {
        (g.full_name, s.full_name)
        for g, s in db.execute(
            select(Guardian, Student).where(
                Guardian.id.in_({g for g, _s in expected_letters}),
                Student.id.in_({s for _g, s in expected_letters}),
            )
        )
        if (g.id, s.id) in expected_letters
    }
    assert len(expected_letters) > 5  # a homeroom of letters, less the one who signed in, and the story pair
    assert sorted(printed) == sorted(g for g, _s in names)
    assert letters.text.count('class="letter"') == len(expected_letters)
    for _guardian, child in names:
        assert child in letters.text


def test_school_staff_see_only_their_school_and_board_admins_every_school(
    client: TestClient,
    db: Session,
    settings: Settings,
    demo: dict[str, object],
    sql_statements: StatementCounter,
) -> None:
    schools = demo["schools"]
    elementary, junior = schools["elementary"], schools["junior_high"]  # type: ignore[index]
    board = db.get_one(Board, elementary.board_id)
    teacher = staff_factories.staff(db, board, "teacher", elementary)
    admin = staff_factories.staff(db, board, "board_admin")
    db.commit()

    sign_in_as(client, db, settings, teacher)
    with sql_statements as small:
        page = client.get("/staff/reach")
    assert page.status_code == 200
    assert elementary.name in page.text and junior.name not in page.text
    assert "ご案内の設定を保存" not in page.text  # the setting is the board's
    other_school = client.get(f"/staff/reach/never_signed_in?school={junior.id}")
    assert "保護者と児童生徒の組：0件" in other_school.text
    assert "通知文を印刷" not in client.get("/staff/reach/never_signed_in").text  # teachers print no letters
    no_letters = client.post(
        "/staff/reach/never_signed_in/letters", data={"csrf_token": csrf_token(client, settings)}
    )
    assert no_letters.status_code == 404
    someone = db.scalar(
        select(GuardianStudent)
        .join(Student, Student.id == GuardianStudent.student_id)
        .where(Student.school_id == junior.id)
    )
    assert someone is not None
    form = {
        "csrf_token": csrf_token(client, settings),
        "guardian_id": someone.guardian_id,
        "student_id": someone.student_id,
    }
    assert client.post("/staff/reach/waiting/remind", data=form).status_code == 404

    sign_in_as(client, db, settings, admin)
    with sql_statements as large:
        page = client.get("/staff/reach")
    assert elementary.name in page.text and junior.name in page.text
    assert "ご案内の設定を保存" in page.text
    assert large.count == small.count, large.report()  # two schools or one: the same statements

    with sql_statements as one_room:
        client.get(f"/staff/reach/no_email?school={junior.id}&class=999999")
    with sql_statements as everyone:
        listed = client.get("/staff/reach/never_signed_in")
    assert "保護者と児童生徒の組：0件" not in listed.text
    assert everyone.count == one_room.count, everyone.report()


def test_board_admins_set_the_reminder_delay_and_bad_values_change_nothing(
    client: TestClient, db: Session, settings: Settings, demo: dict[str, object]
) -> None:
    board_id = demo["summary"].board_id  # type: ignore[attr-defined]
    admin = staff_factories.staff(db, db.get_one(Board, board_id), "board_admin")
    db.commit()
    sign_in_as(client, db, settings, admin)
    bad = client.post(
        "/staff/reach/settings",
        data={"csrf_token": csrf_token(client, settings), "delay_days": "0", "max_reminders": "9"},
    )
    assert bad.status_code == 422 and "日数は1～30で入力してください。" in bad.text
    assert reminders_of(db, board_id).delay_days == 2
    done = client.post(
        "/staff/reach/settings",
        data={"csrf_token": csrf_token(client, settings), "delay_days": "5", "max_reminders": "3"},
        follow_redirects=False,
    )
    assert done.status_code == 303
    db.expire_all()
    assert reminders_of(db, board_id).delay_days == 5 and reminders_of(db, board_id).max_reminders == 3


def _roles(db: Session, account: Account) -> list[object]:
    from app.domain.accounts.models import StaffRole

    return list(db.scalars(select(StaffRole).where(StaffRole.account_id == account.id)))

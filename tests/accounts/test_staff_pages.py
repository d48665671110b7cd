"""Board admin pages (roles, trusted providers) and printable enrolment letters, with scoping."""

from __future__ import annotations

import base64
import re
from urllib.parse import unquote

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.config import Settings
from app.db import Database
from app.domain.accounts.models import StaffGroupMapping, StaffRole
from app.domain.boards.models import BoardProviderSetting
from app.domain.tokens import service as tokens
from app.domain.tokens.models import OneTimeToken
from tests.accounts import factories as f
from tests.accounts.helpers import audit
from tests.helpers import SmtpSink, body_of, csrf_token, deliver_mail, sign_in_as
from tests.oidc import MockProvider, sign_in_through


def _post(client: TestClient, settings: Settings, url: str, data: dict[str, str], lang: str = "en"):  # type: ignore[no-untyped-def]
    return client.post(
        url,
        data={**data, "csrf_token": csrf_token(client, settings)},
        headers={"Accept-Language": lang},
        follow_redirects=False,
    )


def test_board_admin_invites_and_the_invitee_signs_in(
    client: TestClient,
    db: Session,
    database: Database,
    settings: Settings,
    smtp: SmtpSink,
    idp: MockProvider,
) -> None:
    board = f.board(db)
    school = f.school(db, board)
    admin = f.staff_account(db, board, "board_admin")
    db.commit()
    sign_in_as(client, db, settings, admin)
    page = client.get("/staff/roles", headers={"Accept-Language": "ja"})
    assert page.status_code == 200 and "教職員の役割" in page.text

    answer = _post(
        client,
        settings,
        "/staff/roles",
        {
            "board_id": str(board.id),
            "email": "New.Teacher@city.example.jp",
            "role": "teacher",
            "school_id": str(school.id),
        },
    )
    assert answer.status_code == 303
    assert deliver_mail(database, settings) == 1
    [mail] = smtp.to("new.teacher@city.example.jp")
    assert "http://127.0.0.1/signin" in body_of(mail)
    [granted] = audit(db, "accounts.staff_role_granted")
    assert granted.details == {"role": "teacher", "school_id": school.id, "source": "invitation"}

    other = TestClient(client.app, base_url="http://127.0.0.1")
    idp.set_user("new-teacher", email="new.teacher@city.example.jp", email_verified=True)
    assert sign_in_through(other, idp, "staffidp", "new-teacher").headers["location"] == "/staff"


def test_role_form_rejects_bad_input_and_changes_nothing(
    client: TestClient, db: Session, settings: Settings
) -> None:
    board = f.board(db)
    other_school = f.school(db, f.board(db))
    admin = f.staff_account(db, board, "board_admin")
    db.commit()
    sign_in_as(client, db, settings, admin)
    cases = [
        (
            {"email": "x@example.jp", "role": "teacher", "school_id": ""},
            "School admins and teachers need a school.",
        ),
        ({"email": "x@example.jp", "role": "emperor", "school_id": ""}, "Choose a role."),
        ({"email": "not-an-address", "role": "auditor", "school_id": ""}, "Enter a valid e-mail address."),
        (
            {"email": "x@example.jp", "role": "teacher", "school_id": str(other_school.id)},
            "Choose a school of this board.",
        ),
        ({"email": "x@example.jp", "role": "teacher", "school_id": "abc"}, "Choose a school of this board."),
    ]
    for data, message in cases:
        answer = _post(client, settings, "/staff/roles", {"board_id": str(board.id), **data})
        assert answer.status_code == 400 and message in answer.text
    db.expire_all()
    assert db.scalar(select(StaffRole).where(StaffRole.invited_email.is_not(None))) is None


def test_revoke_and_group_mappings(client: TestClient, db: Session, settings: Settings) -> None:
    board = f.board(db)
    school = f.school(db, board)
    admin = f.staff_account(db, board, "board_admin")
    teacher = f.staff_account(db, board, "teacher", school)
    db.commit()
    sign_in_as(client, db, settings, admin)
    teacher_role = db.scalar(select(StaffRole).where(StaffRole.account_id == teacher.id))
    own_role = db.scalar(select(StaffRole).where(StaffRole.account_id == admin.id))
    assert teacher_role is not None and own_role is not None

    own = _post(client, settings, f"/staff/roles/{own_role.id}/revoke", {"board_id": str(board.id)})
    assert own.status_code == 400 and "You cannot revoke your own board admin role." in own.text
    assert (
        _post(
            client, settings, f"/staff/roles/{teacher_role.id}/revoke", {"board_id": str(board.id)}
        ).status_code
        == 303
    )
    db.expire_all()
    assert teacher_role.revoked_at is not None and own_role.revoked_at is None

    data = {
        "board_id": str(board.id),
        "provider_name": "staffidp",
        "group_value": "G1",
        "role": "auditor",
        "school_id": "",
    }
    assert _post(client, settings, "/staff/roles/mappings", data).status_code == 303
    assert _post(client, settings, "/staff/roles/mappings", data).status_code == 400  # duplicate
    bad = _post(client, settings, "/staff/roles/mappings", {**data, "provider_name": "demo"})
    assert bad.status_code == 400 and "Choose a staff sign-in provider." in bad.text
    mapping = db.scalar(select(StaffGroupMapping))
    assert mapping is not None
    assert (
        _post(
            client, settings, f"/staff/roles/mappings/{mapping.id}/delete", {"board_id": str(board.id)}
        ).status_code
        == 303
    )
    db.expire_all()
    assert db.scalar(select(StaffGroupMapping)) is None
    actions = [e.action for e in audit(db, "accounts.staff_group_mapping_added")] + [
        e.action for e in audit(db, "accounts.staff_group_mapping_removed")
    ]
    assert len(actions) == 2


def test_other_boards_and_non_admins_get_404(client: TestClient, db: Session, settings: Settings) -> None:
    board = f.board(db)
    other_board = f.board(db)
    other_admin = f.staff_account(db, other_board, "board_admin")
    other_role = db.scalar(select(StaffRole).where(StaffRole.account_id == other_admin.id))
    admin = f.staff_account(db, board, "board_admin")
    school_admin = f.staff_account(db, board, "school_admin", f.school(db, board))
    db.commit()
    assert other_role is not None

    sign_in_as(client, db, settings, admin)
    assert client.get(f"/staff/roles?board_id={other_board.id}").status_code == 404
    assert client.get(f"/staff/providers?board_id={other_board.id}").status_code == 404
    answer = _post(client, settings, f"/staff/roles/{other_role.id}/revoke", {"board_id": str(board.id)})
    assert answer.status_code == 404
    answer = _post(
        client, settings, f"/staff/roles/{other_role.id}/revoke", {"board_id": str(other_board.id)}
    )
    assert answer.status_code == 404
    db.expire_all()
    assert other_role.revoked_at is None
    assert other_board.name not in client.get("/staff/roles").text

    client.cookies.clear()
    sign_in_as(client, db, settings, school_admin)
    assert client.get("/staff/roles").status_code == 404
    assert client.get("/staff/providers").status_code == 404


def test_board_admin_sets_trusted_providers(client: TestClient, db: Session, settings: Settings) -> None:
    board = f.board(db)
    admin = f.staff_account(db, board, "board_admin")
    db.commit()
    sign_in_as(client, db, settings, admin)
    page = client.get("/staff/providers")
    assert (
        'value="demo"' in page.text and 'value="other"' in page.text and 'value="staffidp"' not in page.text
    )
    assert (
        _post(
            client, settings, "/staff/providers", {"board_id": str(board.id), "trusted": "demo"}
        ).status_code
        == 303
    )
    db.expire_all()
    rows = {(r.provider_name, r.trust_verified_email) for r in db.scalars(select(BoardProviderSetting))}
    assert rows == {("demo", True)}
    assert _post(client, settings, "/staff/providers", {"board_id": str(board.id)}).status_code == 303
    db.expire_all()
    assert {(r.provider_name, r.trust_verified_email) for r in db.scalars(select(BoardProviderSetting))} == {
        ("demo", False)
    }
    assert [e.details for e in audit(db, "accounts.provider_trust_changed")] == [
        {"trust_verified_email": True},
        {"trust_verified_email": False},
    ]


def test_letters_one_page_per_pair_with_code_and_qr(
    client: TestClient, db: Session, settings: Settings
) -> None:
    board = f.board(db)
    school = f.school(db, board)
    klass = f.school_class(db, school, title="3年1組")
    _g1, _s1, p1 = f.family(db, klass, family_name="佐藤", given_name="一郎")
    _g2, s2, _p2 = f.family(db, klass)
    f.guardian_student(db, f.guardian(db, board), s2)  # a second guardian of the same child
    admin = f.staff_account(db, board, "school_admin", school)
    db.commit()
    from app.domain.accounts.linking import issue_enrolment_code

    old_code = issue_enrolment_code(db, p1)
    db.commit()

    sign_in_as(client, db, settings, admin)
    index = client.get("/staff/letters")
    assert f"/staff/letters/classes/{klass.id}" in index.text
    confirm = client.get(f"/staff/letters/classes/{klass.id}", headers={"Accept-Language": "en"})
    assert "3 guardian–student pairs" in confirm.text
    letters = _post(client, settings, f"/staff/letters/classes/{klass.id}", {}, lang="en")
    assert letters.status_code == 200
    html = letters.text
    assert html.count('class="letter"') == 3
    assert "佐藤 一郎" in html and "様" in html  # Japanese letter, whatever the screen language
    codes = re.findall(r'<p class="letter__code">([0-9A-Z-]+)</p>', html)
    assert len(codes) == 3 and all(len(c) == 19 for c in codes)
    for code in codes:
        assert tokens.look_up(db, "enrolment_code", code).ok
    qrs = re.findall(r'<img class="letter__qr" src="(data:image/svg\+xml[^"]+)"', html)
    assert len(qrs) == 3
    assert "<svg" in _svg_of(qrs[0])
    assert "style=" not in html and "<script>" not in html and "<style" not in html

    # The older unused code of the pair stops working.
    db.expire_all()
    assert not tokens.look_up(db, "enrolment_code", old_code).ok
    assert tokens.look_up(db, "enrolment_code", old_code).problem is tokens.TokenProblem.REVOKED
    assert db.scalar(select(OneTimeToken).where(OneTimeToken.revoked_at.is_not(None))) is not None
    [event] = audit(db, "accounts.enrolment_letters_issued")
    assert event.details == {"school_id": school.id, "letters": 3}


def _svg_of(data_uri: str) -> str:
    header, _sep, payload = data_uri.partition(",")
    return base64.b64decode(payload).decode() if header.endswith(";base64") else unquote(payload)


def test_school_admin_sees_only_their_own_school(client: TestClient, db: Session, settings: Settings) -> None:
    board = f.board(db)
    own_school = f.school(db, board)
    other_school = f.school(db, board)
    own_class = f.school_class(db, own_school, title="1組")
    other_class = f.school_class(db, other_school, title="9組")
    foreign_class = f.school_class(db, f.school(db, f.board(db)), title="7組")
    for klass in (own_class, other_class, foreign_class):
        f.family(db, klass)
    school_admin = f.staff_account(db, board, "school_admin", own_school)
    teacher = f.staff_account(db, board, "teacher", own_school)
    db.commit()

    sign_in_as(client, db, settings, school_admin)
    index = client.get("/staff/letters").text
    assert f"/staff/letters/classes/{own_class.id}" in index
    assert f"/staff/letters/classes/{other_class.id}" not in index
    assert other_school.name not in index
    for klass in (other_class, foreign_class):
        assert client.get(f"/staff/letters/classes/{klass.id}").status_code == 404
        assert _post(client, settings, f"/staff/letters/classes/{klass.id}", {}).status_code == 404
    assert client.get("/staff/letters/classes/999999").status_code == 404
    db.expire_all()
    assert db.scalar(select(OneTimeToken)) is None

    client.cookies.clear()
    sign_in_as(client, db, settings, teacher)
    assert client.get("/staff/letters").status_code == 404
    assert client.get(f"/staff/letters/classes/{own_class.id}").status_code == 404


def test_guardians_cannot_reach_staff_pages(client: TestClient, db: Session, settings: Settings) -> None:
    board = f.board(db)
    klass = f.school_class(db, f.school(db, board))
    guardian, _student, _pair = f.family(db, klass)
    db.commit()
    sign_in_as(client, db, settings, f.guardian_account(db, guardian))
    for url in ("/staff/roles", "/staff/providers", "/staff/letters", f"/staff/letters/classes/{klass.id}"):
        answer = client.get(url)
        assert answer.status_code == 404
        assert klass.title not in answer.text


def test_a_role_from_a_group_mapping_is_removed_with_its_mapping_not_revoked(
    client: TestClient, db: Session, settings: Settings
) -> None:
    """Sign-in would grant it again, so revoking it alone would be a promise that does not hold."""
    board = f.board(db)
    admin = f.staff_account(db, board, "board_admin")
    member = f.staff_account(db, board, "auditor")
    group_role = db.scalar(select(StaffRole).where(StaffRole.account_id == member.id))
    assert group_role is not None
    group_role.source = "group:G1"
    db.commit()
    sign_in_as(client, db, settings, admin)
    page = client.get(f"/staff/roles?board_id={board.id}")
    assert page.status_code == 200 and "/revoke" in page.text  # invited roles can be revoked
    assert f"/staff/roles/{group_role.id}/revoke" not in page.text
    answer = _post(
        client, settings, f"/staff/roles/{group_role.id}/revoke", {"board_id": str(board.id)}, "ja"
    )
    assert answer.status_code == 400 and "対応付けの方を削除してください" in answer.text
    db.expire_all()
    assert group_role.revoked_at is None
    assert audit(db, "accounts.staff_role_revoked") == []

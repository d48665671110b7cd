"""The upload page a board administrator uses: /staff/roster."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from app.config import Settings
from app.db import utcnow
from app.domain.accounts.models import Account, StaffRole
from app.domain.boards.models import Board
from app.domain.jobs.models import Job
from app.domain.people.models import Student
from tests.helpers import csrf_token, run_jobs, sign_in_as
from tests.roster.rosters import SAMPLE_ZIP, STUDENT_SAKURA, build_zip, set_field, without_user


def _staff(db: Session, board: Board, role: str = "board_admin", subject: str = "admin") -> Account:
    account = Account(
        issuer="https://idp.example", subject=subject, kind="staff", email=f"{subject}@example.jp"
    )
    db.add(account)
    db.flush()
    db.add(StaffRole(board_id=board.id, account_id=account.id, role=role))
    db.commit()
    return account


def _board(db: Session, code: str = "tobira-city") -> Board:
    board = Board(code=code, name="とびら市教育委員会")
    db.add(board)
    db.commit()
    return board


def _upload(client: TestClient, settings: Settings, board: Board, data: bytes, **form: str) -> Response:
    token = csrf_token(client, settings)
    return client.post(
        "/staff/roster",
        data={"csrf_token": token, "board_id": str(board.id), **form},  # the token first
        files={"file": ("roster.zip", data, "application/zip")},
        follow_redirects=False,
    )


def _wait_until_finished(client: TestClient, url: str) -> Response:
    page = client.get(url)
    # Queued for the worker: the page polls and offers a plain refresh link meanwhile.
    assert "処理中" in page.text
    assert 'hx-trigger="every 1s"' in page.text and "最新の状態を表示" in page.text
    app = client.app
    run_jobs(app.state.database, app.state.settings)  # type: ignore[attr-defined]
    return client.get(url)


def _confirm(client: TestClient, settings: Settings, url: str, **ticks: str) -> Response:
    return client.post(
        f"{url}/confirm", data={"csrf_token": csrf_token(client, settings), **ticks}, follow_redirects=False
    )


def test_admin_uploads_a_roster_checks_the_review_and_imports_it(
    client: TestClient, db: Session, settings: Settings
) -> None:
    board = _board(db)
    sign_in_as(client, db, settings, _staff(db, board))

    page = client.get("/staff/roster")
    response = _upload(client, settings, board, SAMPLE_ZIP.read_bytes())

    assert page.status_code == 200 and "名簿の取り込み" in page.text
    assert 'enctype="multipart/form-data"' in page.text
    assert response.status_code == 303
    url = response.headers["location"]
    # The upload is only checked: the review says what would change, and nothing is saved yet.
    review = _wait_until_finished(client, url)
    assert "試行のため保存されません" in review.text and "取り込むと次のように変わります:" in review.text
    assert '<th scope="row">児童生徒</th><td>4</td>' in review.text
    assert "この名簿を取り込む" in review.text
    assert db.scalar(select(func.count()).select_from(Student)) == 0

    imported = _confirm(client, settings, url)
    assert imported.status_code == 303
    report = _wait_until_finished(client, imported.headers["location"])
    assert "完了" in report.text and "取り込みました。変更内容:" in report.text
    assert db.scalar(select(func.count()).select_from(Student)) == 4
    # The review cannot be imported twice.
    assert _confirm(client, settings, url).status_code == 409
    assert "取り込み済み" in client.get(url).text
    # Uploading it again: nothing would change, and the page says so.
    again = _wait_until_finished(
        client, _upload(client, settings, board, SAMPLE_ZIP.read_bytes()).headers["location"]
    )
    assert "変更はありません。この名簿はすでに取り込まれています。" in again.text
    # The list of recent imports links all three runs.
    assert client.get("/staff/roster").text.count("/staff/roster/imports/") == 3


def test_cautions_must_be_ticked_before_the_import(
    client: TestClient, db: Session, settings: Settings, tmp_path: Path
) -> None:
    board = _board(db)
    sign_in_as(client, db, settings, _staff(db, board))
    first = _upload(client, settings, board, SAMPLE_ZIP.read_bytes()).headers["location"]
    _wait_until_finished(client, first)
    _wait_until_finished(client, _confirm(client, settings, first).headers["location"])
    leaving = without_user(STUDENT_SAKURA)
    graduated = build_zip(
        tmp_path / "g.zip", edit={"users.csv": leaving, "roles.csv": leaving, "enrollments.csv": leaving}
    )

    url = _upload(client, settings, board, graduated.read_bytes()).headers["location"]
    review = _wait_until_finished(client, url)
    assert "在籍中の児童生徒 4 件のうち 1 件（25.0 %）" in review.text
    assert "鈴木 さくら" in review.text  # who would go
    refused = _confirm(client, settings, url)
    assert refused.status_code == 422 and "チェックを入れて" in refused.text
    assert db.scalar(select(func.count()).where(Student.status == "active")) == 4

    done = _confirm(client, settings, url, accept_deactivations="true")
    _wait_until_finished(client, done.headers["location"])
    assert db.scalar(select(func.count()).where(Student.status == "active")) == 3


def test_status_fragment_for_htmx_stops_polling_when_done(
    client: TestClient, db: Session, settings: Settings
) -> None:
    board = _board(db)
    sign_in_as(client, db, settings, _staff(db, board))
    url = _upload(client, settings, board, SAMPLE_ZIP.read_bytes()).headers["location"]
    _wait_until_finished(client, url)

    fragment = client.get(url, headers={"HX-Request": "true"})

    assert fragment.status_code == 200 and "<html" not in fragment.text
    assert fragment.headers["vary"].startswith("HX-Request")
    assert 'id="import-status"' in fragment.text and "hx-trigger" not in fragment.text
    assert "試行のため保存されません" in fragment.text
    assert db.scalar(select(func.count()).select_from(Student)) == 0


def test_broken_roster_lists_problems_and_changes_nothing(
    client: TestClient, db: Session, settings: Settings, tmp_path: Path
) -> None:
    board = _board(db)
    sign_in_as(client, db, settings, _staff(db, board))
    broken = build_zip(
        tmp_path / "b.zip",
        edit={
            "enrollments.csv": set_field(
                "c9d0e1f2-0005-4a00-8000-000000000003", classSourcedId="no-such-class"
            )
        },
    )

    url = _upload(client, settings, board, broken.read_bytes()).headers["location"]
    page = _wait_until_finished(client, url)
    english = client.get(url, headers={"Accept-Language": "en"})

    assert "名簿は取り込まれませんでした。何も変更されていません。" in page.text
    assert "<td>enrollments.csv</td><td>4</td><td>classSourcedId</td>" in page.text
    assert "classSourcedId の no-such-class は classes.csv にありません。" in page.text
    assert "classSourcedId refers to no-such-class, which is not in classes.csv." in english.text
    assert db.scalar(select(func.count()).select_from(Student)) == 0


def test_upload_without_a_file_is_explained(client: TestClient, db: Session, settings: Settings) -> None:
    board = _board(db)
    sign_in_as(client, db, settings, _staff(db, board))
    token = csrf_token(client, settings)

    response = client.post("/staff/roster", data={"csrf_token": token, "board_id": str(board.id)})

    assert response.status_code == 422
    assert "アップロードする OneRoster の zip ファイルを選んでください。" in response.text


def test_other_boards_and_other_roles_see_nothing(
    client: TestClient, db: Session, settings: Settings
) -> None:
    ours, theirs = _board(db), _board(db, "other-city")
    sign_in_as(client, db, settings, _staff(db, ours))
    url = _upload(client, settings, ours, SAMPLE_ZIP.read_bytes()).headers["location"]
    _wait_until_finished(client, url)
    client.cookies.clear()
    sign_in_as(client, db, settings, _staff(db, theirs, subject="other-admin"))

    assert client.get(url).status_code == 404
    assert _upload(client, settings, ours, SAMPLE_ZIP.read_bytes()).status_code == 404
    client.cookies.clear()
    sign_in_as(client, db, settings, _staff(db, ours, role="teacher", subject="teacher"))
    assert client.get("/staff/roster").status_code == 404
    assert client.get(url).status_code == 404


def test_signed_out_visitor_is_sent_to_sign_in(client: TestClient) -> None:
    response = client.get("/staff/roster", follow_redirects=False)

    assert response.status_code == 303 and response.headers["location"].startswith("/signin")


def test_shift_jis_upload_is_refused_unless_chosen(
    client: TestClient, db: Session, settings: Settings, tmp_path: Path
) -> None:
    board = _board(db)
    sign_in_as(client, db, settings, _staff(db, board))
    users = (
        (SAMPLE_ZIP.parent / "jp_sample" / "users.csv").read_bytes().decode("utf-8-sig").replace("𠮷", "吉")
    )
    sjis = build_zip(tmp_path / "sjis.zip", raw={"users.csv": users.encode("cp932")}).read_bytes()

    refused = _wait_until_finished(client, _upload(client, settings, board, sjis).headers["location"])
    checked_url = _upload(client, settings, board, sjis, encoding="cp932").headers["location"]
    checked = _wait_until_finished(client, checked_url)
    # the encoding chosen at upload carries over to the import confirmed from the review
    converted = _wait_until_finished(client, _confirm(client, settings, checked_url).headers["location"])

    assert "Shift_JIS（CP932）のようです" in refused.text
    assert "完了" in checked.text and "完了" in converted.text
    assert db.scalar(select(func.count()).select_from(Student)) == 4


def test_an_import_whose_worker_keeps_dying_is_stopped_with_a_message(
    client: TestClient, db: Session, settings: Settings
) -> None:
    board = _board(db)
    sign_in_as(client, db, settings, _staff(db, board))
    url = _upload(client, settings, board, SAMPLE_ZIP.read_bytes()).headers["location"]
    # Its last attempt was claimed by a worker process that then died (no heartbeat since).
    db.execute(
        update(Job).values(
            status="running",
            attempts=Job.max_attempts,
            locked_by="gone",
            heartbeat_at=utcnow() - timedelta(hours=1),
        )
    )
    db.commit()
    app = client.app
    run_jobs(app.state.database, app.state.settings)  # type: ignore[attr-defined]
    page = client.get(url)
    assert "サーバーが何度も停止したため、取り込みを中止しました" in page.text
    assert 'hx-trigger="every 1s"' not in page.text
    assert db.scalar(select(func.count()).select_from(Student)) == 0
    assert list(Path(settings.upload_dir).glob("*.zip")) == []

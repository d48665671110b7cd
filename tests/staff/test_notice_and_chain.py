"""The board writes its own notice and subcontractor chain; guardians read both, and a choice
records the notice version the guardian was actually shown (ADR 0089)."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.config import Settings
from app.domain.audit.models import AuditEvent
from app.domain.catalog.models import NoticeVersion, ServiceVersion, Subcontractor
from app.domain.choices.models import ChoiceEvent
from app.domain.notifications.models import OutboxEmail
from tests.guardian.factories import World, build_world
from tests.helpers import csrf_token, sign_in_as
from tests.staff import factories as staff_factories

BODY = (
    "このたび、学習用クラウドサービスの利用について\nお知らせします。"
    "\n\nご不明な点は学校までお問い合わせください。"
)


class _Form(HTMLParser):
    """The fields a browser would send for the first form posting to `action`."""

    def __init__(self, action: str) -> None:
        super().__init__()
        self.action, self.inside, self.done = action, False, False
        self.fields: list[tuple[str, str]] = []
        self._select: str | None = None
        self._select_value: str | None = None
        self._textarea: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        # A browser posts to the action without its fragment (…#error-summary).
        if tag == "form" and not self.done and a.get("action", "").partition("#")[0] == self.action:
            self.inside = True
        if not self.inside:
            return
        if tag == "input" and a.get("name") and a.get("type") not in ("submit",):
            if a.get("type") in ("checkbox", "radio"):
                if "checked" in a:
                    self.fields.append((a["name"], a.get("value") or "on"))
            else:
                self.fields.append((a["name"], a.get("value", "")))
        elif tag == "select":
            self._select, self._select_value = a.get("name"), None
        elif tag == "option" and self._select is not None:
            if self._select_value is None or "selected" in a:
                self._select_value = a.get("value", "")
        elif tag == "textarea":
            self._textarea = a.get("name")
            self.fields.append((a["name"], ""))

    def handle_data(self, data: str) -> None:
        if self.inside and self._textarea is not None:
            name, text = self.fields[-1]
            self.fields[-1] = (name, text + data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "select" and self._select is not None:
            self.fields.append((self._select, self._select_value or ""))
            self._select = None
        elif tag == "textarea":
            self._textarea = None
        elif tag == "form" and self.inside:
            self.inside, self.done = False, True


def form_of(html: str, action: str) -> list[tuple[str, str]]:
    parser = _Form(action)
    parser.feed(html)
    assert parser.done, f"no form posting to {action}"
    return parser.fields


def _send(client: TestClient, url: str, fields: list[tuple[str, str]], **headers: str):  # type: ignore[no-untyped-def]
    form: dict[str, list[str]] = {}
    for key, value in fields:
        form.setdefault(key, []).append(value)
    return client.post(url, data=form, headers=headers, follow_redirects=False)


def _replace(fields: list[tuple[str, str]], **values: str) -> list[tuple[str, str]]:
    return [(k, values.pop(k)) if k in values else (k, v) for k, v in fields] + list(values.items())


@pytest.fixture
def world(db: Session) -> World:
    return build_world(db)


def test_a_board_admin_previews_and_publishes_the_notice_and_guardians_read_it(
    client: TestClient, db: Session, settings: Settings, world: World
) -> None:
    admin = staff_factories.staff(db, world.board, "board_admin")
    teacher = staff_factories.staff(db, world.board, "teacher", world.school)
    db.commit()
    versions_before = db.scalar(select(func.count()).select_from(NoticeVersion))

    sign_in_as(client, db, settings, admin)
    page = client.get("/staff/notice")
    assert page.status_code == 200 and f"第{world.notice.version}版" in page.text
    fields = _replace(
        form_of(page.text, "/staff/notice"),
        title="学習用クラウドサービスの利用について（お知らせ）",
        body=BODY,
        body_en="",
    )
    empty = _send(client, "/staff/notice", _replace(fields, title="", action="publish"))
    assert empty.status_code == 422 and "お知らせの題名（日本語）を入力してください。" in empty.text
    preview = _send(client, "/staff/notice", [*fields, ("action", "preview")])
    assert preview.status_code == 200 and "プレビュー：保護者に表示される内容" in preview.text
    assert "ご不明な点は学校までお問い合わせください。" in preview.text
    assert db.scalar(select(func.count()).select_from(NoticeVersion)) == versions_before  # nothing saved
    published = _send(client, "/staff/notice", [*fields, ("action", "publish")])
    assert published.status_code == 303
    db.expire_all()
    notice = db.scalars(select(NoticeVersion).order_by(NoticeVersion.version.desc())).first()
    assert notice is not None and notice.version == world.notice.version + 1
    assert (notice.title, notice.body) == ("学習用クラウドサービスの利用について（お知らせ）", BODY)
    assert notice.catalogue["service_versions"]  # the catalogue in force is part of the version
    [event] = db.scalars(select(AuditEvent).where(AuditEvent.action == "notice.published"))
    assert event.details["changes"] == [{"notice_text": ["title", "body"]}]

    # A teacher reads it but cannot publish.
    client.cookies.clear()
    sign_in_as(client, db, settings, teacher)
    assert "ご不明な点は学校までお問い合わせください。" in client.get("/staff/notice").text
    refused = _send(client, "/staff/notice", [("csrf_token", csrf_token(client, settings)), *fields[1:]])
    assert refused.status_code == 404  # staff pages answer 404, never 403

    # The guardian reads it from the child's pages, paragraphs as written; English falls back.
    client.cookies.clear()
    sign_in_as(client, db, settings, world.account)
    child_page = client.get(f"/children/{world.hanako.id}").text
    assert f'href="/children/{world.hanako.id}/notice"' in child_page
    reading = client.get(f"/children/{world.hanako.id}/notice")
    assert reading.status_code == 200 and "学習用クラウドサービスの利用について（お知らせ）" in reading.text
    assert '<p class="notice-text">ご不明な点は学校までお問い合わせください。</p>' in reading.text
    client.cookies.set("tobira_lang", "en")
    in_english = client.get(f"/children/{world.hanako.id}/notice").text
    assert "This notice is available in Japanese only." in in_english and "お知らせします。" in in_english
    assert client.get(f"/children/{world.other_child.id}/notice").status_code == 404


def test_a_choice_sent_against_an_older_notice_is_shown_the_new_one_first(
    client: TestClient, db: Session, settings: Settings, world: World
) -> None:
    admin = staff_factories.staff(db, world.board, "board_admin")
    db.commit()
    sign_in_as(client, db, settings, world.account)
    child = f"/children/{world.hanako.id}"
    action = f"{child}/choices/{world.dashboard_choice.id}"
    opened = form_of(client.get(child).text, action)
    assert ("notice_version", str(world.notice.id)) in opened

    # The board publishes a new notice while the page is open.
    staff = TestClient(client.app)
    sign_in_as(staff, db, settings, admin)
    notice_form = form_of(staff.get("/staff/notice").text, "/staff/notice")
    new_text = _replace(notice_form, body="新しい委託先が加わりました。")
    assert _send(staff, "/staff/notice", [*new_text, ("action", "publish")]).status_code == 303

    chosen = _replace(opened, value="hide_all")
    stale = _send(client, action, chosen)
    assert stale.status_code == 409
    assert "お知らせの新しい版を公開したため、選択はまだ送信されていません" in stale.text
    assert f'href="{child}/notice"' in stale.text
    as_htmx = _send(client, action, chosen, **{"HX-Request": "true"})
    assert (
        as_htmx.status_code == 200
        and "<html" not in as_htmx.text
        and "選択はまだ送信されていません" in as_htmx.text
    )
    db.expire_all()
    assert db.scalar(select(func.count()).select_from(ChoiceEvent)) == 0
    assert db.scalar(select(func.count()).select_from(OutboxEmail)) == 0

    # The refreshed form carries the new version and keeps what she had selected.
    again = form_of(as_htmx.text, action)
    newest = db.scalars(select(NoticeVersion).order_by(NoticeVersion.version.desc())).first()
    assert (
        newest is not None and ("notice_version", str(newest.id)) in again and ("value", "hide_all") in again
    )
    assert _send(client, action, again).status_code == 303
    [request] = db.scalars(select(ChoiceEvent))
    assert request.notice_version_id == newest.id

    # A form without the field is not taken as read either.
    missing = _send(client, action, [(k, v) for k, v in again if k != "notice_version"])
    assert missing.status_code == 409


def test_a_two_level_subcontractor_chain_is_entered_and_shown_as_a_tree(
    client: TestClient, db: Session, settings: Settings, world: World
) -> None:
    admin = staff_factories.staff(db, world.board, "board_admin")
    db.commit()
    sign_in_as(client, db, settings, admin)
    edit = f"/staff/services/{world.dashboard.id}/edit"
    fields = form_of(client.get(edit).text, edit)
    rows = int(dict(fields)["subcontractor_rows"])
    assert rows >= 2
    chain = _replace(
        fields,
        **{
            "sub-0-name": "クラウド基盤株式会社",
            "sub-0-task": "サーバの運用",
            "sub-0-data_items": "氏名、成績",
            "sub-0-country": "jp",
            "sub-1-name": "データ保守合同会社",
            "sub-1-task": "バックアップの保管",
            "sub-1-data_items": "成績",
            "sub-1-country": "AU",
            "sub-1-parent": "0",
        },
    )
    # Working for a company that is removed is refused, naming the row; nothing is published.
    orphan = _send(client, edit, _replace(chain, **{"sub-1-parent": "0", "sub-0-remove": "on"}))
    assert orphan.status_code == 422
    assert "委託先2: 委託元の事業者が削除されています。" in orphan.text
    upward = _send(client, edit, _replace(chain, **{"sub-0-parent": "1"}))
    assert upward.status_code == 422 and "この行より上に記載した委託先だけを選べます" in upward.text
    db.expire_all()
    assert (
        db.scalar(
            select(func.count())
            .select_from(ServiceVersion)
            .where(ServiceVersion.service_id == world.dashboard.id)
        )
        == 1
    )

    assert _send(client, edit, chain).status_code == 303
    db.expire_all()
    latest = db.scalars(
        select(ServiceVersion)
        .where(ServiceVersion.service_id == world.dashboard.id)
        .order_by(ServiceVersion.version.desc())
    ).first()
    assert latest is not None and latest.version == 2
    subs = {
        s.name: s
        for s in db.scalars(select(Subcontractor).where(Subcontractor.service_version_id == latest.id))
    }
    assert subs["データ保守合同会社"].parent_id == subs["クラウド基盤株式会社"].id
    assert subs["クラウド基盤株式会社"].parent_id is None and subs["データ保守合同会社"].country == "AU"
    [published] = db.scalars(select(AuditEvent).where(AuditEvent.action == "service.published"))
    assert "subcontractors" in published.details["changed"]

    # The form shows the chain again, so publishing an unchanged form changes nothing.
    shown = form_of(client.get(edit).text, edit)
    assert ("sub-1-parent", "0") in shown
    assert _send(client, edit, shown).status_code == 422

    # The guardian sees the second company inside the first.
    client.cookies.clear()
    sign_in_as(client, db, settings, world.account)
    page = client.get(f"/children/{world.hanako.id}").text
    outer = page.index("クラウド基盤株式会社")
    inner = page.index("データ保守合同会社")
    between = page[outer:inner]
    assert outer < inner and "<ul>" in between and "</li>" not in between

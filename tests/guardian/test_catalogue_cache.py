"""The catalogue kept in memory (ADR 0095): every way staff change it shows on the next page.

The child page reads the board's catalogue version in its own transaction and uses the
catalogue kept for exactly that version. Each test opens the page (so the catalogue is kept),
changes the catalogue the way staff do, and opens the page again.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import replace
from datetime import date

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from app.config import Settings
from app.db import Base, Database
from app.domain.boards.models import Board
from app.domain.catalog import coverage, definitions, notices, published
from app.domain.catalog import service as catalog
from app.domain.catalog.models import ChoiceDefinition, DataCategory, NoticeVersion, ServiceAssignment
from app.domain.incidents import service as incidents
from tests.guardian.factories import World
from tests.helpers import sign_in_as, translate


def _page(client: TestClient, world: World) -> str:
    response = client.get(f"/children/{world.hanako.id}")
    assert response.status_code == 200
    return response.text


def _latest(db: Session, world: World, code: str) -> catalog.VersionInput:
    [view] = [v for v in catalog.latest_versions(db, world.board.id) if v.service.code == code]
    return catalog.version_input_from(view.version)


def _publish_version(db: Session, world: World) -> str:
    data = replace(_latest(db, world, "dashboard"), name="ダッシュボード（新版）")
    catalog.publish_service_version(db, service=world.dashboard, data=data, actor=world.admin_actor)
    return "ダッシュボード（新版）"


def _new_service(db: Session, world: World) -> str:
    data = replace(_latest(db, world, "dashboard"), name="新しい連絡アプリ", use_group="home_contact")
    result = catalog.create_service(
        db, board_id=world.board.id, code="renraku", data=data, actor=world.admin_actor
    )
    coverage.add_rule(db, result.service, coverage.Rule(school_id=world.school.id), actor=world.admin_actor)
    return "新しい連絡アプリ"


def _new_choice(db: Session, world: World) -> str:
    definitions.create_definition(
        db,
        board_id=world.board.id,
        service=None,
        code="newsletter",
        form_kind="opt_in",
        wording=definitions.Wording("学校だよりへの作品の掲載"),
        actor=world.admin_actor,
    )
    return "学校だよりへの作品の掲載"


def _edit_choice(db: Session, world: World) -> str:
    definitions.edit_definition(
        db, world.photo_choice, wording=definitions.Wording("写真の掲載（改訂）"), actor=world.admin_actor
    )
    return "写真の掲載（改訂）"


def _incident(db: Session, world: World) -> str:
    body = "氏名の一部が誤って送られました。"
    draft = incidents.Draft("委託先での誤送信", body, "", date(2026, 11, 1), None, [])
    incidents.send(
        db, incidents.create(db, world.dashboard, draft, world.admin_actor), world.admin_actor, base_url=""
    )
    return "委託先での誤送信"


def _notice(db: Session, world: World) -> str:
    text_ = catalog.NoticeText("クラウドサービスにおける個人情報の取扱いについて（改訂）")
    notice = notices.publish_text(db, board_id=world.board.id, text=text_, actor=world.admin_actor)
    db.flush()
    return f'name="notice_version" value="{notice.id}"'  # the forms carry the notice now in force


SHOWN: dict[str, Callable[[Session, World], str]] = {
    "a new version of a service": _publish_version,
    "a new service and its coverage": _new_service,
    "a new choice for the whole board": _new_choice,
    "new wording of a choice": _edit_choice,
    "an incident notice sent": _incident,
    "a new notice text": _notice,
}


@pytest.mark.parametrize("change", list(SHOWN), ids=list(SHOWN))
def test_a_change_to_the_catalogue_is_on_the_next_page(
    client: TestClient, db: Session, settings: Settings, world: World, change: str
) -> None:
    sign_in_as(client, db, settings, world.account)
    _page(client, world)
    expected = SHOWN[change](db, world)
    assert expected not in _page(client, world) or change == "a new notice text"  # not yet committed
    db.commit()
    assert expected in _page(client, world)


def _retire_service(db: Session, world: World) -> str:
    catalog.retire_service(db, service=world.dashboard, actor=world.admin_actor)
    return "スクールダッシュボード"


def _retire_choice(db: Session, world: World) -> str:
    catalog.retire_definition(db, world.photo_choice, actor=world.admin_actor)
    return f"choice-{world.photo_choice.id}"


def _coverage_removed(db: Session, world: World) -> str:
    rules = db.scalars(select(ServiceAssignment).where(ServiceAssignment.service_id == world.learning.id))
    for rule in list(rules):
        coverage.remove_rule(db, world.learning, rule.id, actor=world.admin_actor)
    return "Microsoft Teams"


GONE: dict[str, Callable[[Session, World], str]] = {
    "a service retired": _retire_service,
    "a choice retired": _retire_choice,
    "a service's coverage removed": _coverage_removed,
}


@pytest.mark.parametrize("change", list(GONE), ids=list(GONE))
def test_what_staff_withdraw_is_gone_from_the_next_page(
    client: TestClient, db: Session, settings: Settings, world: World, change: str
) -> None:
    sign_in_as(client, db, settings, world.account)
    shown = GONE[change](db, world)
    db.rollback()
    assert shown in _page(client, world)
    GONE[change](db, world)
    db.commit()
    assert shown not in _page(client, world)


def test_a_change_committed_through_another_engine_is_seen_and_nothing_else_is_read_again(
    client: TestClient, db: Session, database_url: str, settings: Settings, world: World
) -> None:
    """Another process (here: a second engine on the same database) edits the catalogue: the
    version moves in its transaction, and this process's next page reads it with the child.
    A row changed behind the counter's back stays as it was kept until the version moves,
    which shows that the page did come from memory."""
    sign_in_as(client, db, settings, world.account)
    board_id, definition_id = world.board.id, world.photo_choice.id
    assert "学校だより等への写真の掲載" in _page(client, world) or "choice-" in _page(client, world)
    other = Database(database_url)
    try:
        with other.session() as session:
            definition = session.get_one(ChoiceDefinition, definition_id)
            definitions.edit_definition(
                session,
                definition,
                wording=definitions.Wording("別の工程からの改訂"),
                actor=world.admin_actor,
            )
            session.commit()
        assert "別の工程からの改訂" in _page(client, world)

        with other.engine.begin() as conn:  # not how anything in Tobira writes: the counter stays
            conn.execute(
                text("UPDATE choice_definitions SET label = :label WHERE id = :id"),
                {"label": "記録だけの変更", "id": definition_id},
            )
        page = _page(client, world)
        assert "別の工程からの改訂" in page and "記録だけの変更" not in page
        with other.engine.begin() as conn:
            conn.execute(
                text("UPDATE boards SET catalogue_version = catalogue_version + 1 WHERE id = :id"),
                {"id": board_id},
            )
        assert "記録だけの変更" in _page(client, world)
    finally:
        other.engine.dispose()


def test_a_transaction_that_changed_the_catalogue_keeps_nothing_it_read(db: Session, world: World) -> None:
    """It might roll back: what it read must never be served under a version it did not commit."""
    db.commit()
    version = published.catalogue_version(db, world.board.id)
    definitions.edit_definition(
        db, world.photo_choice, wording=definitions.Wording("未確定"), actor=world.admin_actor
    )
    moved = published.catalogue_version(db, world.board.id)
    assert moved > version
    seen = published.catalogue(db, world.board.id, moved)
    assert any(d.label == "未確定" for s in seen.services for d in s.definitions)
    assert published.CATALOGUES.get((world.board.id, moved)) is None
    db.rollback()
    assert published.catalogue_version(db, world.board.id) == version
    kept = published.catalogue(db, world.board.id, version)
    assert published.CATALOGUES.get((world.board.id, version)) is kept
    assert not any(d.label == "未確定" for s in kept.services for d in s.definitions)


def _orm_objects(value: object, found: list[object]) -> None:
    if isinstance(value, Base):
        found.append(value)
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        for f in dataclasses.fields(value):
            _orm_objects(getattr(value, f.name), found)
    elif isinstance(value, dict):
        for item in value.values():
            _orm_objects(item, found)
    elif isinstance(value, list | tuple):
        for item in value:
            _orm_objects(item, found)


def test_what_is_kept_is_plain_frozen_data_and_bounded(db: Session, world: World) -> None:
    db.commit()
    kept = published.catalogue(db, world.board.id, published.catalogue_version(db, world.board.id))
    assert kept.services and kept.notice_id == world.notice.id
    found: list[object] = []
    _orm_objects(kept, found)
    assert found == []  # nothing attached to a session, nothing to lazy-load
    with pytest.raises(dataclasses.FrozenInstanceError):
        kept.services[0].version.name = "x"  # type: ignore[misc]
    small: published.LRU[int, str] = published.LRU(2)
    for n in range(5):
        small.put(n, str(n))
    assert len(small) == 2 and small.get(0) is None and small.get(4) == "4"


def test_the_counter_moves_with_the_change_and_only_for_its_board(db: Session, world: World) -> None:
    db.commit()

    def versions() -> tuple[int, int]:
        rows = {
            board_id: version for board_id, version in db.execute(select(Board.id, Board.catalogue_version))
        }
        return rows[world.board.id], rows[world.foreign_board.id]

    mine, foreign = versions()
    _publish_version(db, world)
    db.commit()
    assert versions()[0] > mine and versions()[1] == foreign
    assert db.scalar(select(NoticeVersion.id).order_by(NoticeVersion.id.desc()).limit(1)) is not None


def test_a_translation_moves_its_board_s_counter_and_one_of_the_vocabulary_every_board_s(
    db: Session, world: World
) -> None:
    """Translations are kept with the catalogue (ADR 0101): saving one is a change of it."""
    db.commit()

    def versions() -> tuple[int, int]:
        db.expire_all()
        rows = {board_id: n for board_id, n in db.execute(select(Board.id, Board.catalogue_version))}
        return rows[world.board.id], rows[world.foreign_board.id]

    mine, foreign = versions()
    translate(db, world.photo_choice, "vi", label="Ảnh trên bản tin")
    db.commit()
    assert versions() == (mine + 1, foreign)
    category = db.scalars(select(DataCategory).order_by(DataCategory.sort_order)).first()
    assert category is not None
    translate(db, category, "vi", name="Thông tin cơ bản")
    db.commit()
    assert versions() == (mine + 2, foreign + 1)
    kept = published.catalogue(db, world.board.id, mine + 2)
    assert kept.texts("vi")[("data_categories", category.id, "name")] == "Thông tin cơ bản"
    assert kept.texts("vi")[("choice_definitions", world.photo_choice.id, "label")] == "Ảnh trên bản tin"

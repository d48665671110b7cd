"""Migration 0016 moves the English of every `*_en` column into content_translations.

A database at 0015 holding a board's content in Japanese and English is upgraded; the
English is then found as translation rows (and by the guardian's page), the columns are
gone, and a downgrade brings the English back into the columns.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

from sqlalchemy import create_engine, inspect, text

from app import migrate
from app.db import normalize_url
from tests.conftest import _create_pg_database, _drop_pg_database

ROWS = [
    "INSERT INTO boards (id, code, name, name_en, contact_email, contact_phone, jurisdiction,"
    " roster_district_id, show_staff_names, request_answer_days, created_at)"
    " VALUES (1, 'b', 'とびら市教育委員会', 'Tobira City BoE', '', '', 'JP', '', false, 30, '2026-12-01')",
    "INSERT INTO schools (id, board_id, sourced_id, code, name, name_en, kind, status)"
    " VALUES (1, 1, 's1', 'S1', 'みなと小学校', 'Minato Elementary', 'elementary', 'active')",
    "INSERT INTO services (id, board_id, code, status, created_at)"
    " VALUES (1, 1, 'dash', 'active', '2026-12-01')",
    "INSERT INTO service_versions (id, service_id, version, published_at, name, name_en, use_group,"
    " description, description_en, vendor_name, vendor_name_en, policy_url, certifications,"
    " data_centre_country, governing_law, governing_law_en, court, court_en, erased_at_graduation,"
    " erased_at_contract_end, erasure_certificate, subcontracting_requires_approval,"
    " anonymized_statistics, no_advertising, no_profiling, yearly_audit, incident_reporting,"
    " asks_review, coverage)"
    " VALUES (1, 1, 1, '2026-12-01', 'ダッシュボード', 'Dashboard', 'dashboard', '説明', '', 'ベンダー',"
    " 'Vendor Ltd', '', '[]', 'JP', '日本法', 'Japanese law', '', '', true, true, false, true, 'none',"
    " true, true, false, true, false, '[]')",
    "INSERT INTO service_purposes (id, service_version_id, permitted_use, text, text_en, sort_order)"
    " VALUES (1, 1, NULL, '学習のため', 'For learning', 0)",
    "INSERT INTO choice_definitions (id, board_id, service_id, code, kind, options, default_value,"
    " category_codes, label, label_en, explanation, explanation_en, status, created_at, version)"
    " VALUES (1, 1, 1, 'show', 'toggle', '[\"show\", \"hide\"]', 'show', '[]', '表示', 'Display', '', '',"
    " 'active', '2026-12-01', 1)",
]


def _check(url: str) -> None:
    migrate.upgrade(url, "0015")
    engine = create_engine(normalize_url(url))
    with engine.begin() as conn:
        for statement in ROWS:
            conn.execute(text(statement))
    migrate.upgrade(url)
    with engine.connect() as conn:
        rows = set(
            tuple(row)
            for row in conn.execute(
                text(
                    "SELECT board_id, entity_kind, entity_id, field, language, text FROM content_translations"
                )
            )
        )
        columns = {c["name"] for c in inspect(conn).get_columns("service_versions")}
        # Nothing that refers to a changed table is lost on the way (no cascade).
        for table in ("schools", "services", "service_purposes", "choice_definitions"):
            assert conn.execute(text(f"SELECT count(*) FROM {table}")).scalar() == 1, table  # noqa: S608
    assert {
        (1, "boards", 1, "name", "en", "Tobira City BoE"),
        (1, "schools", 1, "name", "en", "Minato Elementary"),
        (1, "service_versions", 1, "name", "en", "Dashboard"),
        (1, "service_versions", 1, "vendor_name", "en", "Vendor Ltd"),
        (1, "service_versions", 1, "governing_law", "en", "Japanese law"),
        (1, "service_purposes", 1, "text", "en", "For learning"),
        (1, "choice_definitions", 1, "label", "en", "Display"),
    } <= rows
    # An empty English column is no translation; the vocabulary's English has no board.
    assert not any(r[1] == "service_versions" and r[3] == "description" for r in rows)
    assert any(r[0] is None and r[1] == "data_categories" and r[3] == "name" for r in rows)
    assert "name_en" not in columns and "description_en" not in columns

    migrate.downgrade(url, "0015")
    with engine.connect() as conn:
        assert conn.execute(text("SELECT name_en FROM service_versions")).scalar() == "Dashboard"
        assert conn.execute(text("SELECT label_en FROM choice_definitions")).scalar() == "Display"
        assert "content_translations" not in inspect(conn).get_table_names()
    engine.dispose()


def test_upgrade_moves_the_english_columns_into_translations(tmp_path: Path) -> None:
    admin_url = os.environ.get("TEST_DATABASE", "")
    if admin_url.startswith("postgres"):
        name, url = _create_pg_database(admin_url)
        try:
            _check(url)
        finally:
            _drop_pg_database(admin_url, name)
    else:
        _check(f"sqlite:///{tmp_path / f'{uuid.uuid4().hex}.sqlite3'}")

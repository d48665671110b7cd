"""The web load benchmark runs end to end at small scale on PostgreSQL (so it never rots):
guardians sign in through the e-mail link, wrk drives every scenario beside the bare page, and
every answered request left its rows (the landed check is 0)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ADMIN_URL = os.environ.get("TEST_DATABASE", "")

pytestmark = [
    pytest.mark.skipif(
        not ADMIN_URL.startswith("postgres"), reason="the web benchmark measures PostgreSQL (TEST_DATABASE)"
    ),
    pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk is not installed (Debian package wrk)"),
]


def test_the_small_web_benchmark_writes_its_table_and_loses_nothing(tmp_path: Path) -> None:
    doc, figures = tmp_path / "performance.md", tmp_path / "web.json"
    doc.write_text("# Performance\n\nProse that stays.\n", encoding="utf-8")
    command = [sys.executable, "-m", "bench.web_benchmark", "--small", "--admin-url", ADMIN_URL]
    run = subprocess.run(
        [*command, "--doc", str(doc), "--json", str(figures)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-4000:]

    outcome = json.loads(figures.read_text(encoding="utf-8"))
    assert outcome["signed_in"] == 120  # every guardian of the small board, through the e-mail link
    rows = outcome["results"]
    assert {(r["scenario"], r["target"]) for r in rows} == {
        (scenario, target)
        for scenario in ("choice", "confirm", "child", "staff")
        for target in ("app", "bare")
    }
    for row in rows:
        assert row["requests"] > 0 and row["errors"] == 0, row
        if row["target"] == "app" and row["scenario"] in ("choice", "confirm"):
            assert row["landed"] == [0, 0, 0], row  # events, outbox, audit: one each per 2xx

    text = doc.read_text(encoding="utf-8")
    assert text.startswith("# Performance\n\nProse that stays.\n")
    block = text.split("<!-- bench:web -->", 1)[1].split("<!-- /bench:web -->", 1)[0]
    assert "| guardian child page GET | 8 |" in block and "bare page, same size" in block
    assert "2 workers req/s" in block and "Measured " in block

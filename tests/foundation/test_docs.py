"""The ADR index lists every decision record with the status the record itself states."""

from __future__ import annotations

import re
from pathlib import Path

ADR = Path(__file__).resolve().parents[2] / "docs" / "adr"


def test_every_adr_has_a_status_and_is_in_the_index() -> None:
    index = (ADR / "README.md").read_text(encoding="utf-8")
    records = sorted(ADR.glob("[0-9][0-9][0-9][0-9]-*.md"))
    assert len(records) > 40
    problems = []
    for record in records:
        status = re.search(r"^Status: (.+)$", record.read_text(encoding="utf-8"), re.MULTILINE)
        if status is None:
            problems.append(f"{record.name}: no 'Status:' line")
            continue
        row = re.search(
            rf"^\| \[{record.name[:4]}\]\({re.escape(record.name)}\) \|.*\| (.+) \|$", index, re.M
        )
        if row is None:
            problems.append(f"{record.name}: not listed in docs/adr/README.md")
        elif row.group(1).strip() != status.group(1).strip():
            problems.append(f"{record.name}: index says {row.group(1)!r}, record says {status.group(1)!r}")
    assert problems == []

"""Writing benchmark results into `docs/performance.md`.

Each benchmark owns one block of the document, fenced by `<!-- bench:NAME -->` and
`<!-- /bench:NAME -->`, and rewrites only that block, so `make bench` can refresh every table
without touching the prose around them. A block that is not there yet is appended at the end.

`BENCH_DOC=path` writes the blocks into another copy of the document instead (the test that
runs every benchmark at small scale does, so that `docs/performance.md` keeps the real figures).
"""

from __future__ import annotations

import os
import platform
import subprocess
from datetime import UTC, datetime
from pathlib import Path

PERFORMANCE_DOC = Path(__file__).resolve().parent.parent / "docs" / "performance.md"
DOC_VARIABLE = "BENCH_DOC"


def document() -> Path:
    """The document the tables go into: `BENCH_DOC` when set, else docs/performance.md."""
    return Path(os.environ.get(DOC_VARIABLE) or PERFORMANCE_DOC)


def markdown_table(header: list[str], rows: list[list[object]]) -> str:
    """A GitHub table; columns after the first are right-aligned (they hold figures)."""
    align = ["---"] + ["---:"] * (len(header) - 1)
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join(align) + " |"]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def run_context() -> str:
    """One line that says where and when the figures were taken: commit, machine, load."""
    try:
        git = ["git", "rev-parse", "--short", "HEAD"]
        result = subprocess.run(git, capture_output=True, text=True, check=True, cwd=PERFORMANCE_DOC.parent)
        commit = result.stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        commit = "unknown"
    load = "/".join(f"{value:.1f}" for value in os.getloadavg())
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return (
        f"Measured {when} at commit `{commit}` on {os.cpu_count()} cores ({platform.machine()}), "
        f"Python {platform.python_version()}; load average {load} (1/5/15 min) when the run ended."
    )


def rewrite_block(name: str, body: str, doc: Path | None = None) -> None:
    """Replace the block `name` of the document with `body` (or append it)."""
    doc = doc or document()
    start, end = f"<!-- bench:{name} -->", f"<!-- /bench:{name} -->"
    block = f"{start}\n{body.strip()}\n{end}"
    text = doc.read_text(encoding="utf-8") if doc.exists() else "# Performance\n"
    if start in text and end in text:
        before, _, rest = text.partition(start)
        _, _, after = rest.partition(end)
        text = before + block + after
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    doc.write_text(text, encoding="utf-8")

"""The ceiling of the web benchmark: a FastAPI + Jinja page with no database.

    python -m bench.web_bare --port 8100 --workers 1

`GET` or `POST /bare/<bytes>` renders a Jinja template to a page of that many bytes (a `POST`
reads its form first, as the app's forms do). It is served the way `portal serve` serves the
app (uvicorn through `app.cli.serving`, the same number of workers), so the difference between
the two is what the app's own work costs.
"""

from __future__ import annotations

import argparse
from functools import lru_cache

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse
from jinja2 import DictLoader, Environment, select_autoescape

from app.cli import serving

PAGE = """<!doctype html>
<html lang="ja"><head><meta charset="utf-8"><title>{{ title }}</title></head>
<body><main><h1>{{ title }}</h1>{% for row in rows %}<p>{{ row }}</p>{% endfor %}</main></body></html>
"""
ROW = "保護者の方へ: この学校で使うサービスと、お子さまのデータの扱いです。"

templates = Environment(loader=DictLoader({"page.html": PAGE}), autoescape=select_autoescape())
app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)


@lru_cache
def _shape(size: int) -> tuple[int, int]:
    """How many rows, then how many padding bytes, make a page of `size` bytes."""
    base = len(templates.get_template("page.html").render(title="ベンチ", rows=[]).encode())
    rows = max(0, (size - base) // len(f"<p>{ROW}</p>".encode()))
    page = templates.get_template("page.html").render(title="ベンチ", rows=[ROW] * rows)
    return rows, max(0, size - len(page.encode()))


def _page(size: int) -> str:
    """A page of `size` bytes (UTF-8), rendered by Jinja once per request like the app's pages."""
    rows, padding = _shape(size)
    return templates.get_template("page.html").render(title="ベンチ", rows=[ROW] * rows) + "x" * padding


@app.get("/bare/{size}")
def bare_get(size: int) -> HTMLResponse:
    return HTMLResponse(_page(size))


@app.post("/bare/{size}")
async def bare_post(request: Request, size: int) -> HTMLResponse:
    await request.form()
    return HTMLResponse(_page(size))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    config = uvicorn.Config(
        "bench.web_bare:app",
        host=args.host,
        port=args.port,
        workers=args.workers,
        access_log=False,
        server_header=False,
        log_level="warning",
    )
    serving.run(config)


if __name__ == "__main__":
    main()

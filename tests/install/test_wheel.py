"""The wheel alone runs Tobira: installed in a fresh environment outside the checkout,
`portal db upgrade` and `portal serve` give styled, translated pages.

Slow (it installs every dependency into a new virtual environment), so it runs only when
TOBIRA_INSTALL_TEST=1, which `.ci/run` sets for one pass.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.helpers import free_port

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(
    os.environ.get("TOBIRA_INSTALL_TEST") != "1", reason="set TOBIRA_INSTALL_TEST=1 (CI does)"
)


def _get(url: str) -> tuple[int, str, bytes]:
    with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 (loopback only)
        return response.status, response.headers.get("Content-Type", ""), response.read()


def test_installed_wheel_serves_styled_japanese_pages(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", str(dist), str(ROOT)],
        check=True,
    )
    wheel = next(dist.glob("tobira-*.whl"))
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run([str(venv / "bin" / "pip"), "install", "--quiet", str(wheel)], check=True)

    # Another directory, far from the checkout: nothing may be found through the source tree.
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {
        "PATH": f"{venv / 'bin'}:/usr/bin:/bin",
        "HOME": str(tmp_path),
        "ENVIRONMENT": "production",
        "SECRET_KEY": "an-installed-wheel-test-key-0123456789abcdef",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'tobira.sqlite3'}",
        "BASE_URL": "http://127.0.0.1",
    }
    portal = str(venv / "bin" / "portal")
    subprocess.run([portal, "db", "upgrade"], cwd=elsewhere, env=env, check=True)

    port = free_port()
    server = subprocess.Popen(
        [portal, "serve", "--host", "127.0.0.1", "--port", str(port)],
        cwd=elsewhere,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                _get(f"{base}/healthz")
                break
            except OSError:
                time.sleep(0.1)
        status, content_type, body = _get(f"{base}/")
        page = body.decode()
        assert status == 200 and content_type.startswith("text/html")
        assert '<html lang="ja">' in page and "サインイン" in page
        for asset in ("/static/app.css", "/static/vendor/tokens.css", "/static/vendor/htmx.min.js"):
            assert asset in page
            asset_status, _type, asset_body = _get(base + asset)
            assert asset_status == 200 and len(asset_body) > 1000, asset
    finally:
        server.terminate()
        output = server.communicate(timeout=10)[0].decode(errors="replace")
    assert "Traceback" not in output, output

"""Benchmark the web app under concurrent load, over HTTP, against the real server.

    python -m bench.web_benchmark                 # 4,000 students, about 2,800 guardians signed in
    python -m bench.web_benchmark --small         # a few hundred students, seconds per figure
    python -m bench.web_benchmark --workers 2

Creates its own PostgreSQL database (dropped afterwards), builds the schema with Alembic,
generates a board (`bench.export_generate`) and one guardian per family of one or two children,
then starts `portal serve` (N workers) on a free loopback port and signs guardians in through
the e-mail link exactly as a family does: ask for the link over HTTP, read it from the e-mail the
app queued in its outbox, open it and press the button, keep the session cookie and the CSRF
token. Each guardian comes from their own address (`X-Forwarded-For` from a trusted proxy), as
households do; the per-address limits of the sign-in still hold.

`wrk` (Debian package `wrk`) drives the load with `bench/web_load.lua`: one connection per wrk
thread, each with its own guardians' cookies, CSRF tokens and children, at 1, 8 and 32
connections, for:
- the choice request POST, as htmx sends it (`HX-Request`, `X-CSRF-Token`), for children whose
  requests nothing else confirms;
- the confirmation POST of a link from a confirmation e-mail (each link used once; the links
  were requested through the domain's own `request_choice` before the server started);
- the guardian child page GET;
- the staff board overview GET (`/staff/reach`, a board administrator's session).
Each is interleaved with a bare FastAPI + Jinja page of the same size and method with no
database (`bench.web_bare`, served the same way, the same workers), in the same run. The landed
check counts the rows written during the measured run (choice events, outbox e-mails, audit
events) and subtracts the 2xx answers: anything but 0 means a request was answered and lost or
written and not answered. Then the child page and the choice request with 2 worker processes
against 1, at 1 and 32 connections, with the share of the machine's CPU in use.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from fastapi import Response
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import Engine

import app.domain.models  # noqa: F401
from app.config import Settings
from app.db import Base, Database, make_engine, normalize_url
from app.domain.accounts.models import Account, AccountGuardian, StaffRole
from app.domain.audit.models import AuditEvent
from app.domain.boards.models import Board
from app.domain.catalog import notices
from app.domain.catalog.models import ChoiceDefinition
from app.domain.choices import requests as flow
from app.domain.choices.models import ChoiceEvent
from app.domain.notifications.models import OutboxEmail
from app.domain.people.models import Guardian, GuardianStudent, Student
from app.surfaces.sessions import SESSION_COOKIE, start_session
from bench import export_generate, report, web_profile

ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
ROOT = Path(__file__).resolve().parent.parent
LUA = Path(__file__).resolve().parent / "web_load.lua"
SECRET_KEY = "web-benchmark-" + "k" * 40
CSRF_COOKIE = "tobira_csrf"
STARTUP_SECONDS = 180  # a busy shared machine can take long to import and fork the workers
MAX_LINKS = 2_000  # confirmation links prepared: more than the confirmation figures use here
GUARDIANS_PER_STUDENT = 0.707  # families of one or two children, as the roster benchmark's
CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')
SIGNIN_LINK = re.compile(r"/signin/email/([A-Za-z0-9_-]+)")
CONFIRM_LINK = re.compile(r"/confirm/([A-Za-z0-9_-]+)")

SCENARIOS = {
    "choice": "choice request POST (htmx)",
    "confirm": "confirmation POST",
    "child": "guardian child page GET",
    "staff": "staff board overview GET",
}
# What one answered request of a scenario writes: (choice event kind, outbox purpose, audit action).
WRITES = {
    "choice": ("requested", "choice_confirmation", "choice.requested"),
    "confirm": ("confirmed", "choice_receipt", "choice.confirmed"),
}


# --- the database ---------------------------------------------------------------------------


@contextmanager
def own_database(admin_url: str) -> Iterator[str]:
    """A fresh PostgreSQL database for this run, dropped afterwards."""
    name = f"tobira_webbench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(normalize_url(admin_url), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield f"{admin_url.rsplit('/', 1)[0]}/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def add_guardians(url: str, board_code: str) -> int:
    """One guardian per family: the first families have two children, the others one."""
    engine = make_engine(url)
    tables = Base.metadata.tables
    with engine.connect() as conn:
        board_id = conn.execute(select(Board.id).where(Board.code == board_code)).scalar_one()
        students = list(
            conn.execute(select(Student.id).where(Student.board_id == board_id).order_by(Student.id))
        )
    count = max(1, round(len(students) * GUARDIANS_PER_STUDENT))
    pairs = max(0, len(students) - count)
    first = export_generate._next_id(engine, tables["guardians"])
    guardian_rows: list[Sequence[Any]] = []
    link_rows: list[Sequence[Any]] = []
    at, now = 0, datetime.now(UTC)
    for n in range(count):
        family, family_kana = export_generate.FAMILY[n % len(export_generate.FAMILY)]
        guardian_rows.append(
            (
                first + n,
                board_id,
                f"g-{n:07d}",
                family,
                "保護者",
                family_kana,
                "ほごしゃ",
                f"g{n}@home.bench.example.jp",
                "ja",
                "active",
                now,
            )
        )
        for _ in range(2 if n < pairs else 1):
            if at < len(students):
                link_rows.append((first + n, students[at][0], "active"))
                at += 1
    columns = ["id", "board_id", "sourced_id", "family_name", "given_name", "family_name_kana"]
    export_generate.bulk_insert(
        engine,
        tables["guardians"],
        [*columns, "given_name_kana", "email", "preferred_language", "status", "updated_at"],
        guardian_rows,
    )
    export_generate.bulk_insert(
        engine, tables["guardian_students"], ["guardian_id", "student_id", "status"], link_rows
    )
    with engine.begin() as conn:
        conn.execute(
            text("SELECT setval(pg_get_serial_sequence('guardians', 'id'), (SELECT max(id) FROM guardians))")
        )
        conn.execute(text("ANALYZE"))
    engine.dispose()
    return count


def written(engine: Engine, scenario: str) -> tuple[int, int, int]:
    """Rows of the kinds one answered request of `scenario` writes, counted now."""
    kind, purpose, action = WRITES[scenario]
    with engine.connect() as conn:
        return (
            conn.execute(
                select(func.count()).select_from(ChoiceEvent).where(ChoiceEvent.kind == kind)
            ).scalar_one(),
            conn.execute(
                select(func.count()).select_from(OutboxEmail).where(OutboxEmail.purpose == purpose)
            ).scalar_one(),
            conn.execute(
                select(func.count()).select_from(AuditEvent).where(AuditEvent.action == action)
            ).scalar_one(),
        )


# --- servers --------------------------------------------------------------------------------


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    name: str
    port: int
    process: subprocess.Popen[bytes]

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        if self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def start(name: str, command: list[str], env: dict[str, str], port: int, log_dir: Path) -> Server:
    log = (log_dir / f"{name}.log").open("ab")
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    server = Server(name, port, process)
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"{name} exited with {process.returncode}; see {log_dir / (name + '.log')}")
        try:
            if httpx.get(
                f"{server.base}/healthz" if name.startswith("app") else f"{server.base}/bare/10"
            ).is_success:
                return server
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    server.stop()
    raise SystemExit(f"{name} did not answer within {STARTUP_SECONDS} s")


def app_env(url: str, port: int) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": url,
        "ENVIRONMENT": "production",
        "SECRET_KEY": SECRET_KEY,
        "BASE_URL": f"http://127.0.0.1:{port}",
        "TRUSTED_PROXIES": "127.0.0.1",
        "WORKER_IN_APP": "false",
        "LOG_LEVEL": "WARNING",
    }


def start_app(url: str, workers: int, log_dir: Path) -> Server:
    port = free_port()
    command = [sys.executable, "-m", "app.cli", "serve", "--port", str(port), "--workers", str(workers)]
    return start(f"app-{workers}w", command, app_env(url, port), port, log_dir)


def start_bare(workers: int, log_dir: Path) -> Server:
    port = free_port()
    command = [sys.executable, "-m", "bench.web_bare", "--port", str(port), "--workers", str(workers)]
    return start(f"bare-{workers}w", command, dict(os.environ), port, log_dir)


# --- signing in -------------------------------------------------------------------------------


@dataclass
class Family:
    guardian_id: int
    email: str
    children: list[int]
    cookie: str = ""  # the Cookie header: session and CSRF cookies
    csrf: str = ""


def _address(n: int) -> str:
    """Each household its own address (10.x.y.z), as the sign-in's per-address limit expects."""
    return f"10.{(n >> 16) & 255}.{(n >> 8) & 255}.{n & 255}"


def sign_in(base: str, engine: Engine, family: Family, n: int) -> None:
    """The e-mail-link sign-in, step by step as a browser takes it."""
    with httpx.Client(base_url=base, timeout=60) as client:
        page = client.get("/signin")
        csrf_cookie = page.cookies[CSRF_COOKIE]
        token_match = CSRF_FIELD.search(page.text)
        assert page.status_code == 200 and token_match, page.status_code
        token = token_match.group(1)
        headers = {"Cookie": f"{CSRF_COOKIE}={csrf_cookie}", "X-Forwarded-For": _address(n)}
        client.cookies.clear()  # the cookies go by hand: the app marks them Secure
        sent = client.post(
            "/signin/email", data={"email": family.email, "csrf_token": token}, headers=headers
        )
        assert sent.status_code == 200, sent.status_code
        with engine.connect() as conn:
            body = conn.execute(
                select(OutboxEmail.body_text)
                .where(OutboxEmail.to_address == family.email, OutboxEmail.purpose == "email_signin")
                .order_by(OutboxEmail.id.desc())
                .limit(1)
            ).scalar_one()
        link = SIGNIN_LINK.search(body)
        assert link, "no sign-in link in the e-mail"
        opened = client.get(f"/signin/email/{link.group(1)}", headers=headers)
        assert opened.status_code == 200, opened.status_code
        client.cookies.clear()
        used = client.post(f"/signin/email/{link.group(1)}", data={"csrf_token": token}, headers=headers)
        assert used.status_code == 303, used.status_code
        session = used.cookies[SESSION_COOKIE]
        family.cookie = f"{SESSION_COOKIE}={session}; {CSRF_COOKIE}={csrf_cookie}"
        family.csrf = token
        assert used.headers["location"].endswith("/children"), used.headers["location"]


def families_of(engine: Engine, board_code: str, count: int) -> list[Family]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(Guardian.id, Guardian.email, GuardianStudent.student_id)
            .join(GuardianStudent, GuardianStudent.guardian_id == Guardian.id)
            .join(Board, Board.id == Guardian.board_id)
            .where(Board.code == board_code)
            .order_by(Guardian.id, GuardianStudent.student_id)
        ).all()
    families: dict[int, Family] = {}
    for guardian_id, email, student_id in rows:
        families.setdefault(guardian_id, Family(guardian_id, email or "", [])).children.append(student_id)
    return list(families.values())[:count]


def staff_cookie(database: Database, settings: Settings, board_code: str) -> str:
    """A board administrator's session (staff sign in at their provider; its cookie is the same)."""
    with database.transaction() as db:
        board_id = db.scalar(select(Board.id).where(Board.code == board_code))
        account = Account(
            issuer="https://idp.bench.example.jp", subject="staff-1", kind="staff", email_verified=True
        )
        db.add(account)
        db.flush()
        db.add(StaffRole(board_id=board_id, account_id=account.id, role="board_admin", source="invitation"))
        response = Response()
        start_session(db, response, settings, account)
    cookie = response.headers["set-cookie"].split(";", 1)[0]
    return f"{cookie}; {CSRF_COOKIE}={'c' * 43}"


def request_confirmations(
    database: Database,
    settings: Settings,
    families: list[Family],
    children: list[tuple[int, int]],
    definition_id: int,
) -> list[tuple[str, str]]:
    """Ask for a choice of each of these children; the confirmation links from their e-mails."""
    by_guardian = {f.guardian_id: f for f in families}
    with database.transaction() as db:
        definition = db.get_one(ChoiceDefinition, definition_id)
        accounts = dict(
            db.execute(
                select(AccountGuardian.guardian_id, AccountGuardian.account_id).where(
                    AccountGuardian.guardian_id.in_([g for g, _ in children])
                )
            ).all()
        )
        first_mail = db.scalar(select(func.coalesce(func.max(OutboxEmail.id), 0)))
        for guardian_id, student_id in children:
            flow.request_choice(
                db,
                settings,
                definition=definition,
                student=db.get_one(Student, student_id),
                guardian=db.get_one(Guardian, guardian_id),
                value="hide_all",
                category_codes=[],
                account_id=accounts[guardian_id],
            )
        mails = db.execute(
            select(OutboxEmail.to_address, OutboxEmail.body_text).where(
                OutboxEmail.id > first_mail, OutboxEmail.purpose == "choice_confirmation"
            )
        ).all()
    by_email = {f.email: f for f in by_guardian.values()}
    links = []
    for to_address, body in mails:
        found = CONFIRM_LINK.search(body)
        assert found, "no confirmation link in the e-mail"
        links.append((by_email[to_address].cookie, found.group(1)))
    return links


# --- load -------------------------------------------------------------------------------------


Entry = tuple[str, str, dict[str, str], str]  # method, path, headers, body


def _lua_string(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def write_data(path: Path, entries: Sequence[Entry]) -> None:
    lines = ["return {"]
    for method, target, headers, body in entries:
        header_items = ", ".join(f"[{_lua_string(k)}] = {_lua_string(v)}" for k, v in headers.items())
        lines.append(
            f"{{{_lua_string(method)}, {_lua_string(target)}, {{{header_items}}}, {_lua_string(body)}}},"
        )
    lines.append("}")
    path.write_text("\n".join(lines), encoding="utf-8")


def cpu_times() -> tuple[int, int]:
    """(busy, total) jiffies of the whole machine."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]
    return sum(fields) - idle, sum(fields)


@dataclass
class Result:
    scenario: str
    target: str  # "app" or "bare"
    workers: int
    connections: int
    requests: int = 0
    seconds: float = 0.0
    ok: int = 0
    errors: int = 0
    p50: float = 0.0
    p95: float = 0.0
    p99: float = 0.0
    cpu: float = 0.0
    landed: list[int] = field(default_factory=list)  # rows written minus 2xx, per kind of row

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def wrk(
    base: str, entries: Sequence[Entry], connections: int, seconds: int, once: bool, work: Path
) -> dict[str, Any]:
    """One wrk run; it ends when every connection has had its last answer (see web_load.lua)."""
    data = work / f"data-{uuid.uuid4().hex[:8]}.lua"
    stopped = work / f"stopped-{uuid.uuid4().hex[:8]}"
    stopped.mkdir()
    if len(entries) < connections:  # every connection needs a request of its own to send
        entries = list(entries) * (connections // max(1, len(entries)) + 1)
    write_data(data, entries)
    limit = seconds + 60  # wrk's own end, only if an answer never comes
    command = [
        "wrk",
        f"-t{connections}",
        f"-c{connections}",
        f"-d{limit}s",
        "--timeout",
        "30s",
        "-s",
        str(LUA),
    ]
    command += [
        base,
        "--",
        str(data),
        str(connections),
        "once" if once else "cycle",
        str(seconds),
        str(stopped),
    ]
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as process:
        try:
            while process.poll() is None and len(list(stopped.iterdir())) < connections:
                time.sleep(0.02)
            if process.poll() is None:
                process.send_signal(signal.SIGINT)
            out, err = process.communicate(timeout=limit + 30)
        except BaseException:
            process.kill()
            raise
    data.unlink()
    shutil.rmtree(stopped)
    line = next((ln for ln in out.splitlines() if ln.startswith("WRKJSON ")), None)
    if line is None:
        raise SystemExit(f"wrk printed no result:\n{out}\n{err}")
    return dict(json.loads(line[len("WRKJSON ") :]))


@dataclass
class Load:
    """The requests of each scenario, and the one-time links not used yet."""

    choice: list[Entry]
    child: list[Entry]
    staff: list[Entry]
    links: list[Entry]
    sizes: dict[str, int]
    # The first request of each scenario, kept for the bare page once one-time links run out.
    first: dict[str, Entry] = field(default_factory=dict)

    def entries(self, scenario: str) -> list[Entry]:
        return {"choice": self.choice, "confirm": self.links, "child": self.child, "staff": self.staff}[
            scenario
        ]

    def bare(self, scenario: str) -> list[Entry]:
        method, _path, headers, body = self.first.get(scenario) or self.entries(scenario)[0]
        return [(method, f"/bare/{self.sizes[scenario]}", headers, body)]


def prime(load: Load, app_server: Server, bare_server: Server, work: Path) -> None:
    """A second of each page on fresh servers, so every worker process has loaded and compiled
    what it serves (templates, catalogues, connections) before a figure is taken."""
    for scenario in ("child", "staff", "choice"):
        wrk(app_server.base, load.entries(scenario), 8, 1, False, work)
        wrk(bare_server.base, load.bare(scenario), 8, 1, False, work)


def measure(
    load: Load,
    scenario: str,
    target: Server,
    kind: str,
    connections: int,
    seconds: int,
    warmup: int,
    engine: Engine,
    work: Path,
) -> Result:
    once = kind == "app" and scenario == "confirm"
    entries = load.entries(scenario) if kind == "app" else load.bare(scenario)
    result = Result(scenario, kind, int(target.name.split("-")[1][:-1]), connections)

    def use(outcome: dict[str, Any]) -> None:
        if once:  # thread t sent entries t, t + C, t + 2C, ... of the list: drop those
            sent = outcome["sent"]
            used = {t + k * connections for t, count in enumerate(sent) for k in range(count)}
            load.links[:] = [e for i, e in enumerate(load.links) if i not in used]

    if once and len(load.links) < connections:
        return result  # no one-time links left for this figure: it is reported as not measured
    if warmup:
        use(wrk(target.base, entries, connections, warmup, once, work))
        if once:
            entries = load.links
    before = written(engine, scenario) if kind == "app" and scenario in WRITES else None
    busy0, total0 = cpu_times()
    outcome = wrk(target.base, entries, connections, seconds, once, work)
    busy1, total1 = cpu_times()
    use(outcome)
    result.requests = outcome["requests"]
    result.seconds = outcome["span"]
    result.ok = outcome["ok"]
    result.errors = outcome["failed"] + outcome["socket_errors"] + outcome["timeouts"] + outcome["redirected"]
    result.p50, result.p95, result.p99 = (outcome[k] / 1000 for k in ("p50", "p95", "p99"))
    result.cpu = 100 * (busy1 - busy0) / max(1, total1 - total0)
    if before is not None:
        after = written(engine, scenario)
        result.landed = [a - b - result.ok for a, b in zip(after, before, strict=True)]
    return result


def build_load(
    base: str, families: list[Family], staff: str, definition_id: int, notice: str
) -> tuple[Load, list[tuple[Family, int]]]:
    """Requests of each scenario; the children left over get the links to confirm."""
    pairs = [(f, child) for f in families for child in f.children]
    # Enough choosers for every connection; the rest confirm, one link each (half at small scale).
    chooser_count = max(min(64, len(pairs) // 2), len(pairs) * 3 // 10)
    choosers, confirmers = pairs[:chooser_count], pairs[chooser_count:][:MAX_LINKS]
    choice = []
    for n, (family, child) in enumerate(choosers):
        value = "hide_all" if n % 2 else "show"
        headers = {
            "Cookie": family.cookie,
            "X-CSRF-Token": family.csrf,
            "HX-Request": "true",
            "HX-Current-URL": f"{base}/children/{child}",
            "HX-Target": f"choice-{definition_id}",
            "Content-Type": "application/x-www-form-urlencoded",
        }
        body = f"csrf_token={family.csrf}&notice_version={notice}&value={value}"
        choice.append(("POST", f"/children/{child}/choices/{definition_id}", headers, body))
    child_pages = [("GET", f"/children/{child}", {"Cookie": f.cookie}, "") for f, child in pairs]
    staff_pages = [("GET", "/staff/reach", {"Cookie": staff}, "")]
    return Load(choice, child_pages, staff_pages, [], {}), confirmers


def link_entries(links: list[tuple[str, str]], csrf_of: dict[str, str]) -> list[Entry]:
    entries = []
    for cookie, secret in links:
        token = csrf_of[cookie]
        headers = {"Cookie": cookie, "Content-Type": "application/x-www-form-urlencoded"}
        entries.append(("POST", f"/confirm/{secret}", headers, f"csrf_token={token}"))
    return entries


def response_size(base: str, entry: Entry) -> int:
    method, target, headers, body = entry
    answer = httpx.request(method, base + target, headers=headers, content=body, timeout=60)
    if not answer.is_success:
        raise SystemExit(f"{method} {target} answered {answer.status_code}")
    return len(answer.content)


# --- the run ----------------------------------------------------------------------------------


def fmt(value: float) -> str:
    return f"{value:,.0f}" if value >= 100 else f"{value:,.1f}"


def table(results: list[Result]) -> str:
    header = [
        "scenario",
        "connections",
        "req/s",
        "p50 ms",
        "p95 ms",
        "p99 ms",
        "errors",
        "× bare page",
        "landed",
    ]
    rows: list[list[object]] = []
    for app_result in (r for r in results if r.target == "app"):
        bare = next(
            r
            for r in results
            if r.target == "bare"
            and r.scenario == app_result.scenario
            and r.connections == app_result.connections
        )
        for r in (bare, app_result):
            name = SCENARIOS[r.scenario] if r.target == "app" else "bare page, same size"
            ratio = f"{app_result.rate / bare.rate:.0%}" if r.target == "app" and bare.rate else ""
            landed = "/".join(str(v) for v in r.landed) if r.landed else ""
            rows.append(
                [
                    name,
                    r.connections,
                    fmt(r.rate),
                    fmt(r.p50),
                    fmt(r.p95),
                    fmt(r.p99),
                    r.errors,
                    ratio,
                    landed,
                ]
            )
    return report.markdown_table(header, rows)


def workers_table(results: list[Result]) -> str:
    header = [
        "scenario",
        "connections",
        "1 worker req/s",
        "2 workers req/s",
        "2 ÷ 1",
        "1 worker p50 ms",
        "2 workers p50 ms",
        "CPU busy 1 / 2 workers",
    ]
    rows: list[list[object]] = []
    keys = sorted({(r.scenario, r.target, r.connections) for r in results}, key=lambda k: (k[1], k[0], k[2]))
    for scenario, target, connections in keys:
        one = [
            r
            for r in results
            if (r.scenario, r.target, r.connections, r.workers) == (scenario, target, connections, 1)
        ]
        two = [
            r
            for r in results
            if (r.scenario, r.target, r.connections, r.workers) == (scenario, target, connections, 2)
        ]
        if not one or not two:
            continue
        a, b = one[-1], two[-1]
        name = (
            SCENARIOS[scenario]
            if target == "app"
            else f"bare page ({SCENARIOS[scenario].split(' ', 1)[0]} size)"
        )
        rows.append(
            [
                name,
                connections,
                fmt(a.rate),
                fmt(b.rate),
                f"{b.rate / a.rate:.2f}×" if a.rate else "",
                fmt(a.p50),
                fmt(b.p50),
                f"{a.cpu:.0f} % / {b.cpu:.0f} %",
            ]
        )
    return report.markdown_table(header, rows)


def run(args: argparse.Namespace, url: str, work: Path) -> dict[str, Any]:
    started = time.monotonic()
    generated = export_generate.generate(url, args.students, 0.15)
    guardian_count = add_guardians(url, export_generate.BOARD_CODE)
    database = Database(url)
    engine = database.engine
    settings = Settings(
        environment="production", database_url=url, secret_key=SECRET_KEY, base_url="http://127.0.0.1"
    )
    with engine.connect() as conn:
        board_id = conn.execute(select(Board.id).where(Board.code == export_generate.BOARD_CODE)).scalar_one()
        definition_id = conn.execute(
            select(ChoiceDefinition.id).where(ChoiceDefinition.board_id == board_id)
        ).scalar_one()
    with database.session() as db:
        current = notices.current_notice_id(db, board_id)
    notice = "" if current is None else str(current)
    families = families_of(engine, export_generate.BOARD_CODE, args.guardians)
    staff = staff_cookie(database, settings, export_generate.BOARD_CODE)

    other = 2 if args.workers == 1 else 1
    servers: list[Server] = []
    try:
        # Both servers run from the start: the main one with --workers, the other for the
        # comparison of 1 and 2 workers, measured in turn while the first one idles.
        for workers in (args.workers, other):
            servers.append(start_app(url, workers, work))
            servers.append(start_bare(workers, work))
        app_server, bare_server, other_app, other_bare = servers
        signed_at = time.monotonic()
        # Half the families sign in on each server: a session from one is good on the other.
        with ThreadPoolExecutor(max_workers=8) as pool:
            list(
                pool.map(
                    lambda nf: sign_in((app_server, other_app)[nf[0] % 2].base, engine, nf[1], nf[0]),
                    enumerate(families),
                )
            )
        signin_seconds = time.monotonic() - signed_at
        print(
            f"{len(families):,} guardians signed in through the e-mail link in {signin_seconds:.0f} s",
            flush=True,
        )
        load, confirmers = build_load(app_server.base, families, staff, definition_id, notice)
        # The confirmation links: requested beforehand through the domain, read from the e-mails.
        pending = request_confirmations(
            database, settings, families, [(f.guardian_id, child) for f, child in confirmers], definition_id
        )
        load.links = link_entries(pending, {f.cookie: f.csrf for f in families})
        for scenario in SCENARIOS:
            load.first[scenario] = load.entries(scenario)[0]
            load.sizes[scenario] = response_size(app_server.base, load.first[scenario])
        if load.links:
            load.links.pop(0)  # used by the size probe above

        prime(load, app_server, bare_server, work)
        prime(load, other_app, other_bare, work)
        results: list[Result] = []
        for connections in args.connections:
            for n, scenario in enumerate(SCENARIOS):
                order = ("bare", "app") if n % 2 == 0 else ("app", "bare")
                for kind in order:
                    target = app_server if kind == "app" else bare_server
                    result = measure(
                        load, scenario, target, kind, connections, args.seconds, args.warmup, engine, work
                    )
                    results.append(result)
                    print(
                        f"{kind:4} {scenario:8} c={connections:<3} {result.rate:8.1f} req/s"
                        f"  p50 {result.p50:7.1f} ms  p99 {result.p99:7.1f} ms"
                        f"  errors {result.errors}  landed {result.landed}",
                        flush=True,
                    )

        # 1 and 2 workers in turn, minute by minute, so both see the same machine.
        compare: list[Result] = []
        by_workers = {args.workers: (app_server, bare_server), other: (other_app, other_bare)}
        for connections in args.compare:
            for scenario in ("child", "choice"):
                for workers in (1, 2):
                    for kind in ("app", "bare"):
                        target = by_workers[workers][0 if kind == "app" else 1]
                        result = measure(
                            load, scenario, target, kind, connections, args.seconds, args.warmup, engine, work
                        )
                        compare.append(result)
                        print(
                            f"{kind:4} {scenario:8} c={connections:<3} {workers}w {result.rate:8.1f} req/s"
                            f"  p50 {result.p50:7.1f} ms  errors {result.errors}  landed {result.landed}",
                            flush=True,
                        )

        # Where the time goes: the one-worker server sampled while 32 connections drive it.
        profiles: dict[str, Counter[str]] = {}
        if args.profile and args.workers == 1:
            for scenario in ("child", "choice"):
                entries = load.entries(scenario)
                profiles[scenario], _idle = web_profile.profile(
                    app_server.process.pid,
                    args.seconds,
                    lambda entries=entries: wrk(app_server.base, entries, 32, args.seconds, False, work),
                    work / f"profile-{scenario}.txt",
                )
                print(f"profile {scenario}: {dict(profiles[scenario])}", flush=True)
    finally:
        for server in servers:
            server.stop()
        database.engine.dispose()

    return {
        "generated": generated,
        "guardians": guardian_count,
        "signed_in": len(families),
        "signin_seconds": signin_seconds,
        "sizes": load.sizes,
        "results": results,
        "compare": compare,
        "profiles": profiles,
        "seconds": time.monotonic() - started,
    }


def profile_table(profiles: dict[str, Counter[str]], seconds: int) -> list[str]:
    """Shares of the server's busy samples by part, child page and choice request side by side."""
    if not profiles:
        return []
    parts = [name for name, _markers in web_profile.PARTS] + ["the rest of Python (stdlib, interpreter)"]
    totals = {scenario: sum(shares.values()) or 1 for scenario, shares in profiles.items()}
    shown = [s for s in ("child", "choice") if s in profiles]
    rows = [[part, *(f"{100 * profiles[s][part] / totals[s]:.0f} %" for s in shown)] for part in parts]
    header = ["where the server's time goes (py-spy, c=32)", "child page GET", "choice request POST"]
    return [
        f"Where the time goes: the one-worker server sampled by py-spy (`--profile`, 200 a second for "
        f"{seconds} s, waits included, idle threads left out) while 32 connections drive each request; "
        "each sample is put under the innermost frame of a part named here.",
        report.markdown_table(header[: 1 + len(profiles)], rows),
    ]


def write_report(args: argparse.Namespace, outcome: dict[str, Any], doc: Path | None) -> None:
    sizes = ", ".join(f"{SCENARIOS[k].split(' (')[0]} {v:,} B" for k, v in outcome["sizes"].items())
    body = "\n\n".join(
        [
            f"Web app under load over HTTP (`python -m bench.web_benchmark{' --small' if args.small else ''}"
            f"{f' --workers {args.workers}' if args.workers != 1 else ''}`): `portal serve` with "
            f"{args.workers} worker process{'es' if args.workers != 1 else ''} on PostgreSQL, "
            f"{outcome['generated']['students']:,} students, {outcome['signed_in']:,} of "
            f"{outcome['guardians']:,} guardians signed in through the e-mail link "
            f"({outcome['signin_seconds']:.0f} s); `wrk` with one connection per thread, "
            f"{args.warmup} s warm-up then {args.seconds} s per figure, each beside a bare FastAPI + Jinja "
            f"page of the same size and method with no database (same workers), interleaved in this run. "
            f"Response sizes: {sizes}. *landed*: choice events / outbox e-mails / audit events written "
            f"during the figure minus its 2xx answers (0/0/0: nothing lost, nothing unanswered).",
            table(outcome["results"]),
            "Two worker processes against one: two servers on the same database and sessions (half "
            "the guardians signed in on each; a session from one is good on the other), measured in "
            "turn figure by figure; *CPU busy* is the whole machine's during the figure (the app, "
            "PostgreSQL, wrk and whatever else runs share its cores).",
            workers_table(outcome["compare"]),
            *profile_table(outcome.get("profiles") or {}, args.seconds),
            report.run_context(),
        ]
    )
    report.rewrite_block("web", body, doc)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--admin-url",
        default=os.environ.get("BENCH_DATABASE", ADMIN_URL),
        help="A PostgreSQL database to create the benchmark's own database from.",
    )
    parser.add_argument("--small", action="store_true", help="A few hundred students, a second per figure.")
    parser.add_argument("--students", type=int, help="Students in the generated board (default 4,000).")
    parser.add_argument(
        "--guardians", type=int, help="Guardians to sign in (default: every one, ~0.7 per student)."
    )
    parser.add_argument("--workers", type=int, default=1, help="Worker processes of the server (default 1).")
    parser.add_argument("--seconds", type=int, help="Measured seconds per figure (default 8).")
    parser.add_argument("--warmup", type=int, help="Warm-up seconds before each figure (default 2).")
    parser.add_argument(
        "--doc",
        type=Path,
        help="Document to write the table into (default: BENCH_DOC, else docs/performance.md).",
    )
    parser.add_argument("--json", type=Path, help="Also write the figures to this JSON file.")
    parser.add_argument("--profile", action="store_true", help="Also sample the server with py-spy at c=32.")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed (Debian: apt-get install -y wrk)")
    if not args.admin_url.startswith("postgresql"):
        raise SystemExit("the web benchmark runs on PostgreSQL (--admin-url postgresql://…)")
    args.students = args.students or (300 if args.small else 4_000)
    args.guardians = args.guardians or (120 if args.small else 1_000_000)
    args.seconds = args.seconds or (1 if args.small else 8)
    args.warmup = args.warmup if args.warmup is not None else (0 if args.small else 2)
    args.connections = (1, 8) if args.small else (1, 8, 32)
    args.compare = (1, 8) if args.small else (1, 32)
    with tempfile.TemporaryDirectory(prefix="tobira-webbench-") as tmp, own_database(args.admin_url) as url:
        outcome = run(args, url, Path(tmp))
    write_report(args, outcome, args.doc)
    print(f"done in {outcome['seconds']:.0f} s; table written to {args.doc or report.document()}")
    if args.json:
        rows = {key: [vars(r) | {"rate": r.rate} for r in outcome[key]] for key in ("results", "compare")}
        args.json.write_text(json.dumps({**outcome, **rows}, default=str, indent=1))


if __name__ == "__main__":
    main()

"""Query timings on a generated database (bench/generate.py), through a live `vedette serve`.

    uv run python bench/queries.py --data /tmp/vedette-q --repeat 20 --json /tmp/q.json
    uv run python bench/queries.py --data /tmp/vedette-q-pg --database postgresql+psycopg://...
    uv run python bench/queries.py --data /tmp/vedette-q --only "slow queries" --only "UI issue"

Every request goes over HTTP (httpx, one keep-alive connection, one request at a time) to the
JSON API, and to the web UI's pages where it has them (a benchmark user signs in first). Each
query is sent twice to warm up, then ``--repeat`` times; p50, p95 and max wall time are
printed as a Markdown table, with the size of the database (and written to ``--json``).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, os.path.dirname(__file__))

from servers import _spawn, free_port, wait_until_up
from sqlalchemy import func, select

from vedette.storage import users
from vedette.storage.database import Database
from vedette.storage.schema import events

PERIOD = "statsPeriod=14d"
UI_EMAIL, UI_PASSWORD = "bench@example.com", "bench-password-123"


def timings(call: Callable[[], httpx.Response], repeat: int) -> dict[str, Any]:
    for _ in range(2):
        call().raise_for_status()
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        response = call()
        times.append(time.perf_counter() - started)
        response.raise_for_status()
    times.sort()
    return {
        "p50_ms": round(times[len(times) // 2] * 1000, 1),
        "p95_ms": round(times[min(len(times) - 1, int(len(times) * 0.95))] * 1000, 1),
        "max_ms": round(times[-1] * 1000, 1),
        "bytes": len(response.content),
    }


def ensure_ui_user(url: str) -> None:
    db = Database(url)
    try:
        with db.write() as conn:
            if users.authenticate(conn, UI_EMAIL, UI_PASSWORD) is None:
                users.create_user(conn, UI_EMAIL, UI_PASSWORD, is_superuser=True)
    finally:
        db.dispose()


def stored_events(url: str) -> int:
    """Error events in the database (retention may have trimmed the largest issues)."""
    db = Database(url)
    try:
        with db.read() as conn:
            return int(
                conn.execute(
                    select(func.count()).select_from(events).where(events.c.type == "error")
                ).scalar_one()
            )
    finally:
        db.dispose()


def sign_in(ui: httpx.Client) -> bool:
    page = ui.get("/login/")
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    if page.status_code != 200 or found is None:
        return False
    form = {"email": UI_EMAIL, "password": UI_PASSWORD, "csrf_token": found.group(1), "next": "/"}
    return ui.post("/login/", data=form).status_code in (200, 303)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--database", default=None)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--json", type=Path, default=None, help="also write the timings here")
    parser.add_argument(
        "--only", action="append", default=[], help="time only queries whose label holds this"
    )
    args = parser.parse_args()
    manifest = json.loads((args.data / "manifest.json").read_text())
    port = free_port()
    env = {
        **os.environ,
        "VEDETTE_DATA_DIR": str(args.data),
        "VEDETTE_BASE_URL": f"http://127.0.0.1:{port}",
        # Read-only: no worker, so retention does not trim the database while it is measured
        # (run `vedette cleanup` on it first to time it as a running server keeps it).
        "VEDETTE_WORKER_ENABLED": "false",
    }
    url = args.database or f"sqlite:///{args.data / 'vedette.sqlite3'}"
    if args.database:
        env["VEDETTE_DATABASE_URL"] = args.database
    token = subprocess.run(
        [sys.executable, "-m", "vedette", "token", "create"], env=env, check=True,
        capture_output=True, text=True,
    ).stdout.splitlines()[-1]  # fmt: skip
    ensure_ui_user(url)
    server = _spawn(
        [sys.executable, "-m", "vedette", "serve", "--port", str(port), "--log-level", "warning"],
        env,
        args.data / "queries-server.log",
    )
    base = f"http://127.0.0.1:{port}"
    api = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=120)
    ui = httpx.Client(base_url=base, timeout=120, follow_redirects=False)
    rows: list[tuple[str, str, dict[str, Any]]] = []
    try:
        wait_until_up(f"{base}/_health/", 120)
        p = f"/api/0/projects/{manifest['org']}/{manifest['project']}"
        # A database of transactions only (--events 0) has no issue to read.
        issues = api.get(f"{p}/issues/?sort=freq&limit=1").json()
        biggest = issues[0]["id"] if issues else None
        stored = stored_events(url)
        tag = manifest["tag_filter"]
        name = manifest["transaction"]
        checks: list[tuple[str, str]] = []
        if biggest is not None:
            tail = api.get(f"{p}/issues/?sort=new&limit=1").json()[0]["id"]
            latest = api.get(f"/api/0/issues/{biggest}/events/latest/").json()
            event_id = latest.get("eventID") or latest.get("id")
            checks += [
                ("issue list (default)", f"{p}/issues/"),
                ("issue list (is:unresolved, sort=freq)",
                 f"{p}/issues/?query=is:unresolved&sort=freq"),
                (f"issue list (tag {tag})", f"{p}/issues/?query={tag}"),
                (f"issue list (is:unresolved {tag})", f"{p}/issues/?query=is:unresolved {tag}"),
                ("issue detail (largest issue)", f"/api/0/issues/{biggest}/"),
                ("issue detail (newest issue)", f"/api/0/issues/{tail}/"),
                ("issue's latest event", f"/api/0/issues/{biggest}/events/latest/"),
                ("issue's events (first page)", f"/api/0/issues/{biggest}/events/"),
                ("event detail", f"{p}/events/{event_id}/"),
            ]  # fmt: skip
        if manifest["transactions"]:
            checks += [
                ("transaction table (14d)", f"{p}/transactions/?{PERIOD}"),
                ("transaction table (24h)", f"{p}/transactions/?statsPeriod=24h"),
                ("transaction summary (14d)",
                 f"{p}/transactions/summary/?transaction={name}&{PERIOD}"),
                ("slow queries (14d)", f"{p}/slow-queries/?{PERIOD}"),
            ]  # fmt: skip
        wanted = [c for c in checks if not args.only or any(o in c[0] for o in args.only)]
        for label, path in wanted:
            rows.append(("API", label, timings(lambda path=path: api.get(path), args.repeat)))
            print(label, rows[-1][2], flush=True)
        if sign_in(ui):
            w = f"/p/{manifest['org']}/{manifest['project']}"
            pages = [
                ("issue list", f"{w}/issues/"),
                (f"issue list ({tag})", f"{w}/issues/?query={tag}"),
            ]
            if biggest is not None:
                pages.append(("issue detail (largest issue)", f"{w}/issues/{biggest}/"))
            if manifest["transactions"]:
                pages += [
                    ("performance (transactions)", f"{w}/performance/"),
                    ("transaction summary", f"{w}/performance/summary/?transaction={name}"),
                    ("slow queries", f"{w}/queries/"),
                ]
            for label, path in pages:
                if args.only and not any(o in f"UI {label}" for o in args.only):
                    continue
                try:
                    result = timings(lambda path=path: ui.get(path), args.repeat)
                except httpx.HTTPStatusError as exc:
                    print(f"UI {label}: {exc.response.status_code}, skipped")
                    continue
                rows.append(("UI", label, result))
                print("UI", label, result, flush=True)
        else:
            print("web UI sign-in failed: UI pages skipped")
    finally:
        api.close()
        ui.close()
        server.terminate()
        server.wait(30)
    scale = (
        f"{manifest['events']:,} error events ({stored:,} stored) in {manifest['issues']:,} issues,"
        f" {manifest['spans']:,} spans ({manifest['transactions']:,} transactions)"
    )
    engine = "PostgreSQL" if args.database else "SQLite"
    if args.json:
        timed = [{"surface": s, "query": q, **r} for s, q, r in rows]
        args.json.write_text(
            json.dumps({"scale": scale, "engine": engine, "rows": timed}, indent=2)
        )
    print(f"\n{scale}; {engine}\n")
    print("| surface | query | p50 ms | p95 ms | max ms | response bytes |")
    print("| --- | --- | ---: | ---: | ---: | ---: |")
    for surface, label, r in rows:
        print(f"| {surface} | {label} | {r['p50_ms']} | {r['p95_ms']} | {r['max_ms']} |"
              f" {r['bytes']} |")  # fmt: skip


if __name__ == "__main__":
    main()

"""Log search at scale: fill ``log_records`` of a database, then time the API's query shapes.

    uv run python bench/logs.py generate --out /tmp/vedette-logs --logs 10000000
    uv run python bench/logs.py generate --out /tmp/vedette-logs-pg --logs 10000000 \\
        --database postgresql+psycopg://postgres@127.0.0.1:5432/vedette_logs
    uv run python bench/logs.py query --data /tmp/vedette-logs --repeat 20
    uv run python bench/logs.py query --data /tmp/vedette-logs-pg --repeat 20

``generate`` writes rows straight into ``log_records`` (the worker's path costs about 65 µs of
CPU per record, ``bench/hotspots.py digest --payload log``: 10 M records would take hours here):
``executemany`` on SQLite with ``synchronous=OFF``, ``COPY`` on PostgreSQL with the table's
secondary indexes dropped during the load and rebuilt from their own definitions afterwards, then
``VACUUM (ANALYZE)``.
The rows have the shape the worker stores for the Python SDK's records (typed attributes with
``sentry.*`` keys, template and parameters), in time order:

- 3 projects of one organisation (``bench``): ``logs-a`` 70 %, ``logs-b`` 20 %, ``logs-c`` 10 %;
- spread evenly over 14 days up to the time of generation (written to ``manifest.json``:
  ``query`` times windows that end there, so the results do not age);
- levels: info 70 %, debug 15 %, warn 10 %, error 4.5 %, fatal 0.5 %;
- bodies from 12 templates with parameters (an order id, a customer, a duration, ...);
- about 12 attributes per record: the SDK's (``sentry.sdk.name``, ``sentry.sdk.version``,
  ``sentry.environment``, ``sentry.release``, ``server.address``, ``sentry.message.template``,
  the parameters) and the application's (``http.route``, ``user.id``, ``customer``,
  ``http.status_code``, ``retry``), strings, integers, doubles and booleans;
- trace ids shared by 5 to 20 consecutive records.

``query`` starts `vedette serve` on the data (worker off) and times ``GET .../logs/`` of the
largest project over HTTP, newest first, 100 rows a page, over the last 24 hours and 7 days of
the generated data, for each shape of the search language.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import psycopg
from sqlalchemy import text

sys.path.insert(0, os.path.dirname(__file__))

from generate import hex_id, pick, zipf_weights
from servers import _spawn, free_port, wait_until_up

from vedette.storage import accounts, partitions
from vedette.storage.database import Database
from vedette.storage.migrate import upgrade

DAYS = 14
PROJECTS = (("logs-a", 0.7), ("logs-b", 0.2), ("logs-c", 0.1))
LEVELS = (("info", 9, 0.70), ("debug", 5, 0.15), ("warn", 13, 0.10), ("error", 17, 0.045),
          ("fatal", 21, 0.005))  # fmt: skip
HOSTS = [f"web-{n:02d}" for n in range(20)]
ROUTES = [f"/api/{kind}/{{id}}/{verb}" for kind in ("orders", "users", "carts", "items",
          "payments") for verb in ("view", "edit", "list", "pay", "ship", "refund", "sync",
          "export", "import", "audit")]  # fmt: skip
RELEASES = [f"shop@2.{n}.0" for n in range(10)]
# (level, template, parameters: name -> kind): kinds are filled in by ``_parameter``.
TEMPLATES = {
    "info": [
        ("Order {order_id} created for {customer} with {items} items",
         {"order_id": "order", "customer": "customer", "items": "small"}),
        ("User {user} signed in from {country}", {"user": "user", "country": "country"}),
        ("Cart {cart} checked out in {duration_ms} ms", {"cart": "cart", "duration_ms": "ms"}),
        ("Shipment {shipment} handed to {carrier}", {"shipment": "order", "carrier": "carrier"}),
        ("Invoice {invoice} sent to {customer}", {"invoice": "order", "customer": "customer"}),
    ],
    "debug": [
        ("Cache miss for cart:{cart}", {"cart": "cart"}),
        ("SQL {table} returned {rows} rows", {"table": "table", "rows": "small"}),
    ],
    "warn": [
        ("Slow query on {table} took {duration_ms} ms", {"table": "table", "duration_ms": "ms"}),
        ("Carrier {carrier} answered slowly", {"carrier": "carrier"}),
    ],
    "error": [
        ("Payment {payment} declined by {provider}: {reason}",
         {"payment": "order", "provider": "provider", "reason": "reason"}),
        ("Carrier {carrier} timed out after {duration_ms} ms",
         {"carrier": "carrier", "duration_ms": "ms"}),
    ],
    "fatal": [("Worker {host} out of memory", {"host": "host"})],
}  # fmt: skip
COUNTRIES = ["DE", "FR", "US", "GB", "NL", "SE", "PL", "ES", "IT", "JP"]
CARRIERS = ["DHL", "UPS", "FedEx", "GLS", "DPD"]
TABLES = ["order_lines", "users", "carts", "stock", "payments", "invoices"]
PROVIDERS = ["stripe", "adyen", "paypal"]
REASONS = ["card_declined", "insufficient_funds", "expired_card", "do_not_honor"]
COLUMNS = ("project_id", "log_id", "timestamp", "level", "severity_number", "body", "template",
           "parameters", "attributes", "trace_id", "span_id", "release", "environment",
           "sdk")  # fmt: skip
CHUNK = 20_000


class Shapes:
    """Random draws for one record, Zipf-like where real data is (users, customers, routes)."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.users = zipf_weights(100_000, 1.05)
        self.customers = zipf_weights(1000, 1.0)
        self.routes = zipf_weights(len(ROUTES), 1.0)
        self.levels = [sum(w for _, _, w in LEVELS[: i + 1]) for i in range(len(LEVELS))]

    def level(self) -> tuple[str, int]:
        roll = self.rng.random()
        for (name, number, _), bound in zip(LEVELS, self.levels, strict=True):
            if roll < bound:
                return name, number
        return LEVELS[0][0], LEVELS[0][1]

    def parameter(self, kind: str) -> tuple[str, Any]:
        rng = self.rng
        match kind:
            case "order":
                return "integer", rng.randrange(1_000_000, 99_999_999)
            case "customer":
                return "string", f"acme-{pick(self.customers, rng)}"
            case "user":
                return "string", f"u{pick(self.users, rng)}"
            case "small":
                return "integer", rng.randrange(1, 40)
            case "ms":
                return "double", round(rng.lognormvariate(4.5, 0.8), 1)
            case "cart":
                return "integer", rng.randrange(100_000)
            case "country":
                return "string", rng.choice(COUNTRIES)
            case "carrier":
                return "string", rng.choice(CARRIERS)
            case "table":
                return "string", rng.choice(TABLES)
            case "provider":
                return "string", rng.choice(PROVIDERS)
            case "reason":
                return "string", rng.choice(REASONS)
            case _:
                return "string", rng.choice(HOSTS)


def records(
    count: int, end: float, seed: int, project_ids: list[int], days: float = DAYS
) -> Iterator[tuple[Any, ...]]:
    """``count`` rows in time order over the ``days`` before ``end`` (columns: ``COLUMNS``,
    JSON columns as JSON text)."""
    rng = random.Random(seed)
    shapes = Shapes(rng)
    project_cum = [sum(w for _, w in PROJECTS[: i + 1]) for i in range(len(PROJECTS))]
    step = days * 86400 / max(count, 1)
    start = end - days * 86400
    trace_id, trace_left = "", 0
    for index in range(count):
        if trace_left == 0:
            trace_id, trace_left = hex_id(rng, 32), rng.randrange(5, 21)
            host = rng.choice(HOSTS)
            user = f"u{pick(shapes.users, rng)}"
            route = ROUTES[pick(shapes.routes, rng)]
            environment = "production" if rng.random() < 0.8 else "staging"
        trace_left -= 1
        roll = rng.random()
        project_id = project_ids[0 if roll < project_cum[0] else 1 if roll < project_cum[1] else 2]
        timestamp = start + index * step + rng.random() * step
        level, severity = shapes.level()
        template, kinds = rng.choice(TEMPLATES[level])
        parameters = {name: shapes.parameter(kind) for name, kind in kinds.items()}
        body = template.format(**{name: value for name, (_, value) in parameters.items()})
        release = RELEASES[min(len(RELEASES) - 1, int(len(RELEASES) * index / count))]
        attributes: dict[str, dict[str, Any]] = {
            "http.route": {"value": route, "type": "string"},
            "user.id": {"value": user, "type": "string"},
            "customer": {"value": f"acme-{pick(shapes.customers, rng)}", "type": "string"},
            "http.status_code": {"value": 200 if level in ("info", "debug") else 500,
                                 "type": "integer"},
            "retry": {"value": rng.random() < 0.05, "type": "boolean"},
        }  # fmt: skip
        for name, (kind, value) in parameters.items():
            attributes[f"sentry.message.parameter.{name}"] = {"value": value, "type": kind}
        attributes.update({
            "sentry.message.template": {"value": template, "type": "string"},
            "sentry.sdk.name": {"value": "sentry.python", "type": "string"},
            "sentry.sdk.version": {"value": "2.75.0", "type": "string"},
            "server.address": {"value": host, "type": "string"},
            "sentry.environment": {"value": environment, "type": "string"},
            "sentry.release": {"value": release, "type": "string"},
        })  # fmt: skip
        yield (
            project_id, hex_id(rng, 32), timestamp, level, severity, body, template,
            json.dumps({name: value for name, (_, value) in parameters.items()}),
            json.dumps(attributes), trace_id, hex_id(rng, 16), release, environment,
            "sentry.python 2.75.0",
        )  # fmt: skip


def chunks(rows: Iterator[tuple[Any, ...]], size: int) -> Iterator[list[tuple[Any, ...]]]:
    chunk: list[tuple[Any, ...]] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def load_sqlite(path: Path, rows: Iterator[tuple[Any, ...]], progress: Any, phase: Any) -> None:
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA synchronous=OFF")
    conn.execute("PRAGMA cache_size=-4000000")
    sql = f"INSERT INTO log_records ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})"
    for chunk in chunks(rows, CHUNK):
        with conn:
            conn.executemany(sql, chunk)
        progress(len(chunk))
    with phase("analyze"):
        conn.execute("ANALYZE")
    conn.close()


def _copy_text(value: Any) -> str:
    if value is None:
        return "\\N"
    text = str(value)
    return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")


def load_postgres(url: str, rows: Iterator[tuple[Any, ...]], progress: Any, phase: Any) -> None:
    """COPY without the secondary indexes, then each rebuilt from its own definition (on the
    partitioned table: into every day's partition, which ``generate`` made beforehand), then
    ``VACUUM``: it sets the visibility map that index-only scans need (the bounded search's
    look-up of where it stopped), which autovacuum would otherwise do while ``query`` runs."""
    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as conn:
        indexes = conn.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'log_records'"
            " AND indexname NOT IN (SELECT conname FROM pg_constraint)"
        ).fetchall()
        constraints = conn.execute(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint"
            " WHERE conrelid = 'log_records'::regclass AND contype = 'u'"
        ).fetchall()
        for name, _ in constraints:
            conn.execute(f'ALTER TABLE log_records DROP CONSTRAINT "{name}"')
        for name, _ in indexes:
            conn.execute(f'DROP INDEX "{name}"')
        conn.commit()
        sql = f"COPY log_records ({', '.join(COLUMNS)}) FROM STDIN"
        with conn.cursor() as cursor, cursor.copy(sql) as copy:
            for chunk in chunks(rows, CHUNK):
                buffer = io.StringIO()
                for row in chunk:
                    buffer.write("\t".join(_copy_text(v) for v in row))
                    buffer.write("\n")
                copy.write(buffer.getvalue())
                progress(len(chunk))
        conn.commit()
        with phase("indexes"):
            conn.execute("SET maintenance_work_mem = '1GB'")
            for _, definition in indexes:
                conn.execute(definition.replace(" ON ONLY ", " ON "))
            for name, definition in constraints:
                conn.execute(f'ALTER TABLE log_records ADD CONSTRAINT "{name}" {definition}')
            conn.commit()
        conn.autocommit = True
        with phase("vacuum"):
            conn.execute("VACUUM (ANALYZE) log_records")


def make_days(db: Database, start: float, end: float) -> None:
    """PostgreSQL: the partitions of the days the logs fill (else COPY puts them all into the
    default partition)."""
    with db.read() as conn:
        if not partitions.is_partitioned(conn, partitions.LOGS):
            return
        have = partitions.existing_days(conn, partitions.LOGS)
    wanted = range(partitions.day_of(start), partitions.day_of(end) + 1)
    partitions.create_days(db, partitions.LOGS, [day for day in wanted if day not in have])


def generate(args: argparse.Namespace) -> None:
    args.out.mkdir(parents=True, exist_ok=True)
    url = args.database or f"sqlite:///{args.out / 'vedette.sqlite3'}"
    db = Database(url)
    upgrade(db)
    with db.write() as conn:
        ids = []
        for slug, _ in PROJECTS:
            found = accounts.find_project(conn, "bench", slug)
            ids.append(found.id if found else accounts.create_project(conn, "bench", slug).id)
    end = time.time()
    make_days(db, end - args.days * 86400, end)
    db.dispose()
    began = time.monotonic()
    done = 0

    def progress(n: int) -> None:
        nonlocal done
        done += n
        if done % 500_000 < n:
            print(f"{done:,} logs ({done / (time.monotonic() - began):,.0f}/s)", flush=True)

    phases: dict[str, float] = {}

    @contextmanager
    def phase(name: str) -> Iterator[None]:
        phases["load"] = phases.get("load", round(time.monotonic() - began, 1))
        print(f"{name}...", flush=True)
        started = time.monotonic()
        yield
        phases[name] = round(time.monotonic() - started, 1)

    rows = records(args.logs, end, args.seed, ids, args.days)
    if args.database:
        load_postgres(args.database, rows, progress, phase)
    else:
        load_sqlite(args.out / "vedette.sqlite3", rows, progress, phase)
    manifest = {
        "database": args.database,
        "org": "bench",
        "projects": [slug for slug, _ in PROJECTS],
        "logs": args.logs,
        "days": args.days,
        "end": end,
        "seed": args.seed,
        "seconds": round(time.monotonic() - began, 1),
        "phases": phases,
    }
    (args.out / "manifest.json").write_text(json.dumps(manifest, indent=2))
    print(json.dumps(manifest, indent=2))


def timed(api: httpx.Client, path: str, params: dict[str, Any], repeat: int) -> dict[str, Any]:
    """One warm-up, then ``repeat`` runs (3 when one run takes over a second: the p95 is then
    the slowest of the 3): p50, p95, max, rows."""
    url = f"{path}?{urlencode(params)}"
    first = time.perf_counter()
    response = api.get(url)
    response.raise_for_status()
    runs = 3 if time.perf_counter() - first > 1 else repeat
    return {**timings_of(lambda: api.get(url), runs), "rows": len(response.json())}


def timings_of(call: Any, repeat: int) -> dict[str, Any]:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        call().raise_for_status()
        times.append(time.perf_counter() - started)
    times.sort()
    return {
        "runs": repeat,
        "p50_ms": round(times[len(times) // 2] * 1000, 1),
        "p95_ms": round(times[min(len(times) - 1, int(len(times) * 0.95))] * 1000, 1),
        "max_ms": round(times[-1] * 1000, 1),
    }


def shapes(api: httpx.Client, path: str, start: float, end: float) -> list[tuple[str, str]]:
    """The query shapes, with a trace, a user and an order id taken from records stored in the
    middle of the window (of the part of it the data covers): the rarest user of 200 records
    (users are Zipf-like), so the rare shapes match a handful of records and have to look
    through the whole window."""
    middle = (start + end) / 2
    found = api.get(path, params={"start": middle - 600, "end": middle, "limit": 200}).json()
    sample = max(found, key=lambda r: int(r["attributes"]["user.id"].removeprefix("u")))
    attributes = sample["attributes"]
    user = attributes["user.id"]
    number = next(
        (str(v) for k, v in attributes.items() if k.endswith((".order_id", ".payment", ".invoice",
         ".shipment", ".cart"))),
        "99999999",
    )  # fmt: skip
    return [
        ("no filter", ""),
        ("level:error", "level:error"),
        ("trace:ID", f"trace:{sample['trace_id']}"),
        ("attribute, common value (server.address, 5 %)", "server.address:web-03"),
        ("attribute, rare value (user.id of one trace)", f"user.id:{user}"),
        ("free text, common word (14 %)", "created"),
        ("free text, rare word (an order id)", number),
        ("combined: level, attribute, text", "level:error server.address:web-03 declined"),
        ("excluded attribute: !http.status_code:200", "!http.status_code:200"),
    ]


def query(args: argparse.Namespace) -> None:
    manifest = json.loads((args.data / "manifest.json").read_text())
    port = free_port()
    env = {
        **os.environ,
        "VEDETTE_DATA_DIR": str(args.data),
        "VEDETTE_BASE_URL": f"http://127.0.0.1:{port}",
        "VEDETTE_WORKER_ENABLED": "false",  # read-only: retention would trim the data
    }
    if manifest["database"]:
        env["VEDETTE_DATABASE_URL"] = manifest["database"]
    token = subprocess.run(
        [sys.executable, "-m", "vedette", "token", "create"], env=env, check=True,
        capture_output=True, text=True,
    ).stdout.splitlines()[-1]  # fmt: skip
    server = _spawn(
        [sys.executable, "-m", "vedette", "serve", "--port", str(port), "--log-level", "warning"],
        env,
        args.data / "logs-server.log",
    )
    base = f"http://127.0.0.1:{port}"
    api = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=300)
    rows: list[dict[str, Any]] = []
    try:
        wait_until_up(f"{base}/_health/", 120)
        path = f"/api/0/projects/{manifest['org']}/{manifest['projects'][0]}/logs/"
        end = manifest["end"]
        for period, seconds in (("24h", 86400), ("7d", 7 * 86400)):
            start = end - seconds
            covered = max(start, end - manifest.get("days", DAYS) * 86400)
            for label, search in shapes(api, path, covered, end):
                if args.only and args.only not in label:
                    continue
                params = {"query": search, "start": start, "end": end, "limit": 100}
                if args.scan:
                    params["scan"] = args.scan
                result = timed(api, path, params, args.repeat)
                rows.append({"period": period, "shape": label, "query": search,
                             "scan": args.scan or "default", **result})  # fmt: skip
                print(json.dumps(rows[-1]), flush=True)
    finally:
        api.close()
        server.terminate()
        server.wait(30)
    engine = "PostgreSQL" if manifest["database"] else "SQLite"
    if args.json:
        args.json.write_text(json.dumps({"engine": engine, "logs": manifest["logs"],
                                         "rows": rows}, indent=2))  # fmt: skip
    print(f"\n{manifest['logs']:,} logs; {engine}\n")
    print("| period | shape | query | p50 ms | p95 ms | max ms | rows |")
    print("| --- | --- | --- | ---: | ---: | ---: | ---: |")
    for r in rows:
        print(f"| {r['period']} | {r['shape']} | `{r['query']}` | {r['p50_ms']} | {r['p95_ms']} |"
              f" {r['max_ms']} | {r['rows']} |")  # fmt: skip


def _rows_of_day(conn: Any, day: int) -> int:
    name = partitions.partition_name(partitions.LOGS.table, day)
    return int(conn.scalar(text(f'SELECT count(*) FROM {partitions.SCHEMA}."{name}"')) or 0)


def retention(args: argparse.Namespace) -> None:
    """On generated PostgreSQL data: how long retention takes for a day of logs, deleting its
    rows as SQLite does (batches of 500 per project, each its own transaction; ``--delete-rows``
    of them, the rest extrapolated) and dropping another day's partition as PostgreSQL now
    does: with the count of its rows that retention reports, then the DROP alone (of the day
    the deletes started on)."""
    manifest = json.loads((args.data / "manifest.json").read_text())
    assert manifest["database"], "PostgreSQL data (generate --database ...)"
    db = Database(manifest["database"])
    try:
        with db.read() as conn:
            days = sorted(partitions.existing_days(conn, partitions.LOGS))
            sizes = {day: _rows_of_day(conn, day) for day in days}
        full = [day for day in days if sizes[day]]
        deleted_day, dropped_day = full[0], full[1]
        # As retention deletes on SQLite: per project, by the (project, timestamp) index.
        doomed = text(
            "DELETE FROM log_records WHERE id IN (SELECT id FROM log_records"
            ' WHERE project_id = :project AND "timestamp" >= :start AND "timestamp" < :end'
            " LIMIT 500)"
        )
        window = {"start": deleted_day * 86400, "end": (deleted_day + 1) * 86400}
        with db.read() as conn:
            projects = list(conn.scalars(text("SELECT id FROM projects ORDER BY id")))
        removed, began = 0, time.perf_counter()
        for project in projects:
            while removed < args.delete_rows:
                with db.write() as conn:
                    count = conn.execute(doomed, {**window, "project": project}).rowcount
                removed += count
                if count < 500:
                    break
        delete_seconds = time.perf_counter() - began
        began = time.perf_counter()
        with db.write() as conn:
            rows = partitions.drop_day(conn, partitions.LOGS, dropped_day)
        drop_seconds = time.perf_counter() - began
        began = time.perf_counter()
        with db.write() as conn:
            conn.execute(text("SET LOCAL lock_timeout = '2s'"))
            name = partitions.partition_name(partitions.LOGS.table, deleted_day)
            conn.execute(text(f'DROP TABLE {partitions.SCHEMA}."{name}"'))
        bare_drop_seconds = time.perf_counter() - began
    finally:
        db.dispose()
    per_row = delete_seconds / max(removed, 1)
    result = {
        "delete": {"rows": removed, "seconds": round(delete_seconds, 2),
                   "rows_per_second": round(removed / delete_seconds),
                   "day_rows": sizes[deleted_day],
                   "day_seconds_extrapolated": round(per_row * sizes[deleted_day], 1)},
        "drop": {"rows": rows, "ms_with_count": round(drop_seconds * 1000, 1),
                 "ms_drop_alone": round(bare_drop_seconds * 1000, 1)},
    }  # fmt: skip
    print(json.dumps(result, indent=2))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = parser.add_subparsers(dest="command", required=True)
    make = commands.add_parser("generate", help="fill log_records")
    make.add_argument("--out", type=Path, required=True, help="data directory (SQLite file)")
    make.add_argument("--database", default=None, help="database URL (default: SQLite in --out)")
    make.add_argument("--logs", type=int, default=10_000_000)
    make.add_argument("--seed", type=int, default=13)
    make.add_argument("--days", type=float, default=DAYS,
                      help="spread the logs over this many days up to now")  # fmt: skip
    run = commands.add_parser("query", help="time the API's query shapes")
    run.add_argument("--data", type=Path, required=True)
    run.add_argument("--repeat", type=int, default=20)
    run.add_argument("--json", type=Path, default=None, help="also write the timings here")
    run.add_argument("--only", default="", help="only the shapes whose label contains this")
    run.add_argument(
        "--scan",
        type=int,
        default=0,
        help="records a bounded search reads (the API's scan=; 0: its default)",
    )
    drop = commands.add_parser("retention", help="PostgreSQL: drop a day vs delete its rows")
    drop.add_argument("--data", type=Path, required=True)
    drop.add_argument("--delete-rows", type=int, default=100_000,
                      help="rows deleted in batches of 500 to time the delete path")  # fmt: skip
    args = parser.parse_args()
    {"generate": generate, "query": query, "retention": retention}[args.command](args)


if __name__ == "__main__":
    main()

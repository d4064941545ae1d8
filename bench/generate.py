"""A database for the query benchmarks: error events in issues, and transactions with spans.

    uv run python bench/generate.py --out /tmp/vedette-q                    # 1M events, 10M spans
    uv run python bench/generate.py --out /tmp/vedette-q --events 100000 --spans 1000000
    uv run python bench/generate.py --out /tmp/vedette-q-pg --events 100000 --spans 1000000 \\
        --database postgresql+psycopg://postgres@127.0.0.1:5432/vedette_q

Running a million envelopes through ingest and the worker would take hours here, so the real
pipeline runs once: the real-SDK error and transaction envelopes of bench/payloads.py are
processed by ``process_envelope`` (normalise, scrub, group, title). Copies of those processed
error events, varied as below, then go through the worker's own storage function
(``store_processed``: issues and their counters, tag values, users, releases, events packed as
they always are) in batches, as the worker would. Transactions take a bulk path
(``store_transactions``: 2,900 spans/s on the shared 2 cores against 1,200 before): the
worker's own row builders and aggregation (``performance.aggregate``) over chunks of 5,000
transactions, written by the worker's upserts, without its per-batch duplicate checks.
Upserts add, so the rows are those the worker leaves (tests/storage/test_bench_generate.py
compares both paths on a small database). SQLite runs with ``synchronous=OFF`` and a large
page cache while generating (a crash mid-run just means running it again).

Distributions: issues are picked with a Zipf-like weight (rank^-1.1: a few issues hold most
events, a long tail holds one or two); timestamps are spread evenly over the last 14 days in
arrival order; releases advance with time (20 of them); tags per event: environment
(production 80 %, staging 20 %), release, level, server_name (50 hosts), browser (6), os (4),
customer (1,000, Zipf-like), url (200 routes), user (100,000, Zipf-like). 8 % of issues are then
resolved and 2 % ignored. Transactions: 200 names (Zipf-like), one root span and 20 children
each (db spans drawn from 300 query shapes, http.client and cache spans), durations
log-normal. The database is SQLite in ``--out`` (where `vedette serve` finds it with
VEDETTE_DATA_DIR) unless ``--database`` names one. Writes ``manifest.json`` there for
bench/queries.py. Run again on the same ``--out`` to add to a database (e.g. errors first,
then spans): the project is reused and the manifest's counts add up.
"""

from __future__ import annotations

import argparse
import gzip
import json
import math
import os
import random
import sys
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

sys.path.insert(0, os.path.dirname(__file__))

from payloads import build_payloads
from sqlalchemy import Connection, event, update
from sqlalchemy.pool import ConnectionPoolEntry

from vedette.domain.envelope import parse_envelope
from vedette.domain.events import Grouping, IssueStatus
from vedette.domain.processed import ProcessedEnvelope, ProcessedEvent
from vedette.processing.pipeline import ProcessingConfig, process_envelope
from vedette.processing.spans import transaction_rows
from vedette.storage import accounts, performance
from vedette.storage.database import Database
from vedette.storage.event_rows import insert_events, upsert_releases
from vedette.storage.ingest_store import store_processed
from vedette.storage.migrate import upgrade
from vedette.storage.schema import groups, spans

DAYS = 14
RELEASES = [f"shop@1.{n // 5}.{n % 5}" for n in range(20)]
HOSTS = [f"web-{n:02d}" for n in range(50)]
BROWSERS = ["Chrome 131", "Firefox 133", "Safari 18", "Edge 131", "Chrome Mobile 131", "Opera"]
OSES = ["Windows 11", "macOS 15", "Linux", "iOS 18"]
ROUTES = [f"/api/{kind}/{{id}}/{verb}" for kind in ("orders", "users", "carts", "items",
          "payments") for verb in ("view", "edit", "list", "pay", "ship", "refund", "sync",
          "export", "import", "audit") for _ in range(4)][:200]  # fmt: skip
TRANSACTIONS = [f"GET {route}" for route in ROUTES]
TABLES = [f"{a}_{b}" for a in ("order", "user", "cart", "item", "payment", "stock") for b in
          ("lines", "events", "audit", "notes", "tags", "links", "flags", "prices", "taxes",
           "history")]  # fmt: skip
QUERIES = [f"SELECT * FROM {t} WHERE {col} = %s" for t in TABLES for col in ("id", "owner_id",
           "created_at", "status", "ref")][:300]  # fmt: skip
TAG_FILTER = ("customer", "acme-7")  # a mid-frequency value: bench/queries.py filters on it
ERROR_BATCH = 1000
TRANSACTION_CHUNK = 5000


def zipf_weights(n: int, s: float = 1.1) -> list[float]:
    weights = [1.0 / (rank**s) for rank in range(1, n + 1)]
    total = 0.0
    cumulative = []
    for w in weights:
        total += w
        cumulative.append(total)
    return cumulative


def pick(cum: list[float], rng: random.Random) -> int:
    """Index by cumulative weights (bisect: C speed)."""
    import bisect

    return bisect.bisect_left(cum, rng.random() * cum[-1])


def hex_id(rng: random.Random, digits: int) -> str:
    return f"{rng.getrandbits(digits * 4):0{digits}x}"


def processed_templates() -> tuple[ProcessedEvent, dict[str, Any]]:
    """The real-SDK envelopes through the real pipeline, once."""
    payloads = build_payloads()
    config = ProcessingConfig()
    now = time.time()
    error = process_envelope(parse_envelope(gzip.decompress(payloads["error"].body)), now,
                             "127.0.0.1", config).errors[0]  # fmt: skip
    envelope = parse_envelope(gzip.decompress(payloads["transaction"].body))
    transaction = process_envelope(envelope, now, "127.0.0.1", config).transactions[0]
    return error, transaction


def error_batches(
    template: ProcessedEvent, count: int, issues: int, start: float, rng: random.Random,
    batch: int,
) -> Iterator[list[ProcessedEvent]]:  # fmt: skip
    issue_cum = zipf_weights(issues)
    user_cum = zipf_weights(100_000, 1.05)
    customer_cum = zipf_weights(1000, 1.0)
    base = template.event
    exception = base["exception"]["values"][-1]
    step = DAYS * 86400 / max(count, 1)
    out: list[ProcessedEvent] = []
    for index in range(count):
        issue = pick(issue_cum, rng)
        ts = start + index * step + rng.random() * step
        release = RELEASES[min(19, int(20 * index / count + rng.random() * 1.5))]
        environment = "production" if rng.random() < 0.8 else "staging"
        user = f"u{pick(user_cum, rng)}"
        route = ROUTES[issue % len(ROUTES)]
        tags = [
            ["browser", BROWSERS[rng.randrange(len(BROWSERS))]],
            ["customer", f"acme-{pick(customer_cum, rng)}"],
            ["environment", environment],
            ["level", "error"],
            ["os", OSES[rng.randrange(len(OSES))]],
            ["release", release],
            ["server_name", HOSTS[rng.randrange(len(HOSTS))]],
            ["url", f"https://shop.example.com{route}"],
            ["user", f"id:{user}"],
        ]
        value = f"{exception.get('value')} (case {issue})"
        event = {
            **base,
            "event_id": hex_id(rng, 32),
            "timestamp": ts,
            "received": ts + 0.05,
            "release": release,
            "environment": environment,
            "server_name": tags[6][1],
            "user": {"id": user},
            "tags": tags,
            "exception": {"values": [{**exception, "value": value}]},
        }
        summary = replace(
            template.summary,
            title=f"{exception.get('type')}: {value}",
            culprit=f"{template.summary.culprit} ({route})",
            metadata={**template.summary.metadata, "value": value},
        )
        grouping = Grouping(template.grouping.strategy, (f"{issue + 1:032x}",))
        out.append(ProcessedEvent(event, grouping, summary))
        if len(out) == batch:
            yield out
            out = []
    if out:
        yield out


def transaction_batches(
    template: dict[str, Any], count: int, start: float, rng: random.Random, batch: int,
    seconds: float = DAYS * 86400,
) -> Iterator[ProcessedEnvelope]:  # fmt: skip
    """``count`` transactions evenly over ``seconds`` from ``start``, ``batch`` per envelope."""
    name_cum = zipf_weights(len(TRANSACTIONS), 1.0)
    query_cum = zipf_weights(len(QUERIES), 0.9)
    trace_ctx = template["contexts"]["trace"]
    step = seconds / max(count, 1)
    envelope = ProcessedEnvelope()
    for index in range(count):
        end = start + index * step + rng.random() * step
        duration = min(30.0, rng.lognormvariate(math.log(0.12), 0.8))
        begin = end - duration
        trace_id, root = hex_id(rng, 32), hex_id(rng, 16)
        spans = []
        cursor = begin
        for _ in range(20):
            length = duration / 20 * rng.uniform(0.2, 0.95)
            kind = rng.random()
            if kind < 0.7:
                op, description = "db", QUERIES[pick(query_cum, rng)]
            elif kind < 0.9:
                op, description = "http.client", f"GET https://api.example.com{rng.choice(ROUTES)}"
            else:
                op, description = "cache.get", f"cart:{rng.randrange(1000)}"
            spans.append({
                "span_id": hex_id(rng, 16), "parent_span_id": root, "trace_id": trace_id,
                "op": op, "description": description, "start_timestamp": cursor,
                "timestamp": cursor + length, "status": "ok",
            })  # fmt: skip
            cursor += duration / 20
        release = RELEASES[min(19, int(20 * index / count + rng.random() * 1.5))]
        status = "ok" if rng.random() < 0.97 else "internal_error"
        trace = {**trace_ctx, "trace_id": trace_id, "span_id": root, "status": status}
        event = {
            **template,
            "event_id": hex_id(rng, 32),
            "transaction": TRANSACTIONS[pick(name_cum, rng)],
            "start_timestamp": begin,
            "timestamp": end,
            "received": end + 0.05,
            "release": release,
            "environment": "production" if rng.random() < 0.8 else "staging",
            "contexts": {**template["contexts"], "trace": trace},
            "spans": spans,
        }
        fact, rows = transaction_rows(event)
        envelope.transactions.append(event)
        envelope.transaction_facts.append(fact)
        envelope.spans.extend(rows)
        if len(envelope.transactions) == batch:
            yield envelope
            envelope = ProcessedEnvelope()
    if envelope.transactions:
        yield envelope


def store_transactions(conn: Connection, project_id: int, envelope: ProcessedEnvelope) -> None:
    """What ``store_processed`` stores for fresh transactions, in bulk.

    The worker's own pieces: releases, event rows, span rows and the aggregates of every span
    (all new: the generator's ids are random, so the duplicate checks are skipped), with the
    spans in the order the worker aggregates them (by trace and span id).
    """
    pairs = [(project_id, t) for t in envelope.transactions]
    upsert_releases(conn, pairs)
    insert_events(conn, [], pairs, {})
    rows = sorted(envelope.spans, key=lambda r: (r.trace_id, r.span_id))
    conn.execute(spans.insert(), [performance.span_values(project_id, r) for r in rows])
    facts = [(project_id, f) for f in envelope.transaction_facts]
    thresholds = performance.apdex_thresholds(conn, [project_id])
    found = performance.aggregate(facts, [(project_id, r) for r in rows], thresholds)
    performance.write_aggregates(conn, found)


def fast_sqlite(db: Database) -> None:
    """Generation only: no fsync per commit and a 4 GB page cache (the spans' key index is
    random-ordered: it must stay in memory for inserts to keep their pace)."""
    if not db.is_sqlite:
        return

    @event.listens_for(db.engine, "connect")
    def _pragmas(dbapi_conn: Any, _record: ConnectionPoolEntry) -> None:
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA synchronous=OFF")
        cursor.execute("PRAGMA cache_size=-4000000")
        cursor.execute("PRAGMA temp_store=MEMORY")
        cursor.close()


def bench_project(db: Database) -> int:
    with db.write() as conn:
        found = accounts.find_project(conn, "bench", "bench")
        return found.id if found else accounts.create_project(conn, "bench", "bench").id


def generate_errors(
    db: Database, project_id: int, template: ProcessedEvent, args: argparse.Namespace,
    start: float, rng: random.Random,
) -> float:  # fmt: skip
    """Error events through ``store_processed``, then 8 % of issues resolved, 2 % ignored."""
    began = time.monotonic()
    stored = 0
    for batch in error_batches(template, args.events, args.issues, start, rng, ERROR_BATCH):
        with db.write() as conn:
            store_processed(conn, [(project_id, ProcessedEnvelope(errors=batch))])
        stored += len(batch)
        if stored % 50_000 == 0:
            rate = stored / (time.monotonic() - began)
            print(f"{stored} error events ({rate:.0f}/s)", flush=True)
    with db.write() as conn:
        conn.execute(
            update(groups)
            .where(groups.c.id % 50 < 4)
            .values(status=IssueStatus.RESOLVED.value, resolved_at=time.time(), substatus=None)
        )
        conn.execute(update(groups).where(groups.c.id % 50 == 4).values(
            status=IssueStatus.IGNORED.value, substatus=None))  # fmt: skip
    return time.monotonic() - began


def generate_transactions(
    db: Database, project_id: int, template: dict[str, Any], count: int, start: float,
    rng: random.Random,
) -> float:  # fmt: skip
    began = time.monotonic()
    done = 0
    for envelope in transaction_batches(template, count, start, rng, TRANSACTION_CHUNK):
        with db.write() as conn:
            store_transactions(conn, project_id, envelope)
        done += len(envelope.transactions)
        rate = done * 21 / (time.monotonic() - began)
        print(f"{done} transactions, {done * 21} spans ({rate:.0f} spans/s)", flush=True)
    return time.monotonic() - began


def merged_manifest(path: Path, run: dict[str, Any]) -> dict[str, Any]:
    """This run's manifest, added to the one already in ``--out`` (a database added to)."""
    if not path.exists():
        return run
    old = json.loads(path.read_text())
    merged = {**old, **run}
    for key in ("events", "transactions", "spans"):
        merged[key] = old[key] + run[key]
    merged["issues"] = max(old["issues"], run["issues"]) if run["events"] else old["issues"]
    merged["seconds"] = {
        k: round(old["seconds"].get(k, 0) + run["seconds"][k], 1) for k in run["seconds"]
    }
    return merged


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, required=True, help="data directory (SQLite file)")
    parser.add_argument("--database", default=None, help="database URL (default: SQLite in --out)")
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--issues", type=int, default=10_000)
    parser.add_argument("--spans", type=int, default=10_000_000, help="21 per transaction")
    parser.add_argument("--seed", type=int, default=6)
    args = parser.parse_args()

    args.out.mkdir(parents=True, exist_ok=True)
    url = args.database or f"sqlite:///{args.out / 'vedette.sqlite3'}"
    db = Database(url)
    fast_sqlite(db)
    upgrade(db)
    project_id = bench_project(db)
    rng = random.Random(args.seed)
    error, transaction = processed_templates()
    start = time.time() - DAYS * 86400
    errors_s = generate_errors(db, project_id, error, args, start, rng) if args.events else 0.0
    transactions = args.spans // 21
    spans_s = generate_transactions(db, project_id, transaction, transactions, start, rng)
    db.dispose()
    run = {
        "database": url if args.database else None,
        "org": "bench",
        "project": "bench",
        "events": args.events,
        "issues": args.issues,
        "transactions": transactions,
        "spans": transactions * 21,
        "tag_filter": f"{TAG_FILTER[0]}:{TAG_FILTER[1]}",
        "transaction": TRANSACTIONS[0],
        "seconds": {"errors": round(errors_s, 1), "transactions": round(spans_s, 1)},
    }
    path = args.out / "manifest.json"
    manifest = merged_manifest(path, run)
    path.write_text(json.dumps(manifest, indent=2))
    print(json.dumps(manifest, indent=2))


if __name__ == "__main__":
    main()

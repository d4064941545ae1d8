"""Bytes on disk per stored error event and per span, against their raw JSON.

    uv run python bench/storage.py --data /tmp/vedette-q                 # SQLite (dbstat)
    uv run python bench/storage.py --database postgresql+psycopg://...   # pg_total_relation_size

Sizes are per table with its indexes (SQLite: the dbstat virtual table, pages actually used;
PostgreSQL: pg_total_relation_size, heap + TOAST + indexes, after VACUUM ANALYZE). The events
table holds both error events and transactions: it is split between them in proportion to the
bytes of their rows. Error events are charged for their issues' tables too (groups, hashes,
tag values, users, releases); spans for the span table and every performance aggregate. Raw
JSON is what the SDK sent (bench/payloads.py): the error event item, and the transaction
envelope over its 21 spans.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import sqlite3
import sys
from pathlib import Path

import psycopg

sys.path.insert(0, os.path.dirname(__file__))

from payloads import build_payloads

ERROR_TABLES = ("groups", "group_hashes", "group_tag_values", "group_users", "releases")
SPAN_TABLES = (
    "spans", "span_groups", "perf_minutes", "perf_histograms", "perf_hours",
    "perf_hour_histograms", "perf_hour_histogram_packs", "perf_hour_histogram_packs_all",
    "perf_days", "perf_day_histograms", "perf_day_histogram_packs",
    "perf_day_histogram_packs_all", "perf_op_minutes", "perf_op_hours", "perf_op_days",
)  # fmt: skip
ROW_BYTES = (
    "SELECT type, count(*), sum(length(data) + length(title) + length(event_id) + 64)"
    " FROM events GROUP BY type"
)


def sqlite_sizes(path: Path) -> tuple[dict[str, int], dict[str, tuple[int, int]]]:
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
        owner = dict(conn.execute("SELECT name, tbl_name FROM sqlite_master"))
        sizes: dict[str, int] = {}
        for name, size in conn.execute("SELECT name, sum(pgsize) FROM dbstat GROUP BY name"):
            table = owner.get(name, name)
            sizes[table] = sizes.get(table, 0) + int(size)
        rows = {t: (int(n), int(b)) for t, n, b in conn.execute(ROW_BYTES)}
    return sizes, rows


def postgres_sizes(url: str) -> tuple[dict[str, int], dict[str, tuple[int, int]]]:
    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as conn:
        conn.autocommit = True
        conn.execute("VACUUM ANALYZE")
        sizes = {
            str(name): int(size)
            for name, size in conn.execute(
                "SELECT relname, pg_total_relation_size(oid) FROM pg_class"
                " WHERE relkind = 'r' AND relnamespace = 'public'::regnamespace"
            )
        }
        rows = {
            str(t): (int(n), int(b))
            for t, n, b in conn.execute(ROW_BYTES.replace("length(data)", "octet_length(data)"))
        }
    return sizes, rows


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=None)
    parser.add_argument("--database", default=None)
    args = parser.parse_args()
    if args.database:
        sizes, rows = postgres_sizes(args.database)
    else:
        sizes, rows = sqlite_sizes(args.data / "vedette.sqlite3")
    payloads = build_payloads()
    error_raw = gzip.decompress(payloads["error"].body)
    error_item = len(error_raw.split(b"\n")[2])
    transaction_raw = len(gzip.decompress(payloads["transaction"].body))

    errors, error_bytes = rows.get("error", (0, 0))
    transactions, transaction_bytes = rows.get("transaction", (0, 0))
    share = error_bytes / max(error_bytes + transaction_bytes, 1)
    events_table = sizes.get("events", 0)
    per_error = (events_table * share + sum(sizes.get(t, 0) for t in ERROR_TABLES)) / max(errors, 1)
    span_count = transactions * 21
    per_span = (events_table * (1 - share) + sum(sizes.get(t, 0) for t in SPAN_TABLES)) / max(
        span_count, 1
    )
    result = {
        "engine": "postgresql" if args.database else "sqlite",
        "error_events": errors,
        "spans": span_count,
        "tables_bytes": dict(sorted(sizes.items(), key=lambda kv: -kv[1])),
        "bytes_per_error_event": round(per_error),
        "raw_error_event_json": error_item,
        "error_ratio": round(per_error / error_item, 3),
        "bytes_per_span": round(per_span),
        "raw_json_per_span": round(transaction_raw / 21),
        "span_ratio": round(per_span / (transaction_raw / 21), 3),
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()

"""bench/generate.py's bulk path leaves the rows the worker's own storage function leaves.

The query benchmarks run on a database of millions of spans that only the bulk path makes in
reasonable time; they measure something real only if its rows (spans, transaction events,
releases, every performance aggregate) are those ``store_processed`` would have written.
"""

from __future__ import annotations

import math
import random
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Table, select
from tests.conftest import fresh_database_url

from vedette.storage.database import Database
from vedette.storage.ingest_store import store_processed
from vedette.storage.migrate import upgrade
from vedette.storage.schema import (
    events,
    perf_day_histograms,
    perf_days,
    perf_histograms,
    perf_hour_histograms,
    perf_hours,
    perf_minutes,
    perf_op_days,
    perf_op_hours,
    perf_op_minutes,
    releases,
    span_groups,
    spans,
)

sys.path.insert(0, str(Path(__file__).parents[2] / "bench"))
import generate

TABLES = (
    spans, events, releases, perf_minutes, perf_histograms, perf_hours, perf_hour_histograms,
    perf_days, perf_day_histograms, perf_op_minutes, perf_op_hours, perf_op_days, span_groups,
)  # fmt: skip
# A span group's example is the first span of the group in the first batch that held one: it
# depends on where batches begin (the worker's vary too), not on the data.
EXAMPLE = {"example_trace_id", "example_span_id", "example_event_id", "example_transaction"}
TRANSACTIONS = 150  # about 30,000 rows compared; the bulk path still takes two chunks
SECONDS = 900.0  # 10 transactions a minute: aggregate rows are shared, as in a large run


@pytest.fixture
def second_db(database_url: str, tmp_path: Path) -> Iterator[Database]:
    """Another empty database of the same engine."""
    backend = "postgresql" if database_url.startswith("postgresql") else "sqlite"
    for url in fresh_database_url(backend, tmp_path / "second", migrated=True):
        database = Database(url)
        upgrade(database)
        yield database
        database.dispose()


def fill(db: Database, bulk: bool, batch: int, start: float) -> None:
    project_id = generate.bench_project(db)
    _, template = generate.processed_templates()
    rng = random.Random(3)
    for envelope in generate.transaction_batches(
        template, TRANSACTIONS, start, rng, batch, SECONDS
    ):
        with db.write() as conn:
            if bulk:
                generate.store_transactions(conn, project_id, envelope)
            else:
                store_processed(conn, [(project_id, envelope)])


def table_rows(db: Database, table: Table) -> dict[tuple[Any, ...], dict[str, Any]]:
    """Rows by primary key (events by project and event id: their ids are a counter)."""
    key = ["project_id", "event_id"] if table is events else [c.name for c in table.primary_key]
    with db.read() as conn:
        rows = [dict(r._mapping) for r in conn.execute(select(table))]
    return {
        tuple(row[k] for k in key): {k: v for k, v in row.items() if k not in EXAMPLE | {"id"}}
        for row in rows
    }


def same(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """Equal, floats within 1e-9 (sums added up in another order round differently)."""
    return a.keys() == b.keys() and all(
        math.isclose(a[k], b[k], rel_tol=1e-9) if isinstance(a[k], float) else a[k] == b[k]
        for k in a
    )


def test_bulk_path_leaves_the_rows_of_the_worker(db: Database, second_db: Database) -> None:
    start = time.time() - 3600
    fill(db, bulk=False, batch=40, start=start)  # the worker's path, in worker-sized batches
    fill(second_db, bulk=True, batch=128, start=start)  # bulk: chunks whose aggregates add up
    for table in TABLES:
        worker, bulk = table_rows(db, table), table_rows(second_db, table)
        assert worker.keys() == bulk.keys(), table.name
        assert len(worker) > 0, table.name
        differing = [k for k in worker if not same(worker[k], bulk[k])]
        assert differing == [], (table.name, differing[:3])
    with second_db.read() as conn:  # every example is a span of its group
        examples = conn.execute(
            select(span_groups.c.span_group, spans.c.span_group).join(
                spans,
                (spans.c.trace_id == span_groups.c.example_trace_id)
                & (spans.c.span_id == span_groups.c.example_span_id),
            )
        ).all()
    assert len(examples) == len(table_rows(second_db, span_groups))
    assert all(group == span_group for group, span_group in examples)

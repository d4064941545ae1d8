"""Migration 0005 fills the op rollups (per hour, per day) from the stored minutes exactly as
the worker fills them as it goes, and the summary reads the same op times from either."""

from __future__ import annotations

import math
import random
import sys
import time
from pathlib import Path
from typing import Any

from alembic import command
from sqlalchemy import Table, select

from vedette.storage import performance_queries as performance
from vedette.storage.database import Database
from vedette.storage.ingest_store import store_processed
from vedette.storage.migrate import alembic_config, upgrade
from vedette.storage.schema import perf_op_days, perf_op_hours

sys.path.insert(0, str(Path(__file__).parents[2] / "bench"))
import generate


def op_rows(db: Database, table: Table) -> dict[tuple[Any, ...], tuple[int, float]]:
    with db.read() as conn:
        rows = conn.execute(select(table)).all()
    return {tuple(r[:6]): (r.count, r.exclusive_sum) for r in rows}


def test_migration_backfills_the_rollups_the_worker_writes(db: Database) -> None:
    project_id = generate.bench_project(db)
    _, template = generate.processed_templates()
    start = time.time() - 3 * 86400
    batches = generate.transaction_batches(template, 200, start, random.Random(5), 50, 3 * 86400.0)
    for envelope in batches:
        with db.write() as conn:
            store_processed(conn, [(project_id, envelope)])
    now = time.time()
    window = performance.Window(project_id, start - 3600, now)
    name = generate.TRANSACTIONS[0]
    with db.read() as conn:
        live_ops = performance.op_times(conn, window, name)
    written = {t.name: op_rows(db, t) for t in (perf_op_hours, perf_op_days)}
    assert all(written.values())

    with db.write() as conn:  # back to before 0005 (its tables dropped), then up again
        command.downgrade(alembic_config(conn), "0004")
    upgrade(db)

    for table in (perf_op_hours, perf_op_days):
        backfilled = op_rows(db, table)
        assert backfilled.keys() == written[table.name].keys()
        for key, (count, exclusive) in backfilled.items():
            assert count == written[table.name][key][0]
            assert math.isclose(exclusive, written[table.name][key][1], rel_tol=1e-9)
    with db.read() as conn:
        assert [(o.op, o.count) for o in performance.op_times(conn, window, name)] == [
            (o.op, o.count) for o in live_ops
        ]

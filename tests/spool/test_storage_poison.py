"""An entry that storage refuses is found by halving the batch, not by storing the other 199
one at a time: one project's bad data cannot stall the worker for every other project.

Storage's refusal is real: a database trigger that aborts the insert of one event (SQLite and
PostgreSQL each in their own syntax), the way a constraint would.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import event, func, select, text
from tests.spool.test_processing_pool import drain, spool, storage_at

from vedette.spool.worker import Worker, WorkerConfig
from vedette.storage.schema import dead_letters, events
from vedette.stores import Storage

CORPUS = Path(__file__).parents[1] / "fixtures" / "corpora" / "sdk-python"
TEMPLATE = (CORPUS / "error_zero_division.envelope").read_bytes()
TEMPLATE_ID = b"48ff7871266a4a838ea1b6f0bffcf293"
POISON_ID = "dead" * 8
BATCH = 120


def copy(n: int) -> bytes:
    return TEMPLATE.replace(TEMPLATE_ID, f"{n:032x}".encode())


def refuse_the_poison(storage: Storage) -> None:
    with storage.db.write() as conn:
        if storage.db.is_sqlite:
            conn.execute(text(
                f"CREATE TRIGGER poison BEFORE INSERT ON events WHEN NEW.event_id = '{POISON_ID}'"
                " BEGIN SELECT RAISE(ABORT, 'storage refuses this event'); END"
            ))  # fmt: skip
            return
        conn.execute(text(
            "CREATE FUNCTION refuse_poison() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
            f" IF NEW.event_id = '{POISON_ID}' THEN"
            " RAISE EXCEPTION 'storage refuses this event'; END IF; RETURN NEW; END $$"
        ))  # fmt: skip
        conn.execute(text(
            "CREATE TRIGGER poison BEFORE INSERT ON events"
            " FOR EACH ROW EXECUTE FUNCTION refuse_poison()"
        ))  # fmt: skip


@pytest.fixture
def storage(database_url: str, tmp_path: Path) -> Iterator[Storage]:
    with storage_at(database_url, tmp_path) as opened:
        refuse_the_poison(opened)
        yield opened


def test_one_entry_storage_refuses_costs_a_few_transactions_and_is_dead_lettered(
    storage: Storage,
) -> None:
    payloads = [copy(n) for n in range(BATCH)]
    payloads[BATCH // 3] = TEMPLATE.replace(TEMPLATE_ID, POISON_ID.encode())
    spool(storage, payloads)
    transactions: list[str] = []
    event.listen(storage.db.engine, "commit", lambda _conn: transactions.append("commit"))
    event.listen(storage.db.engine, "rollback", lambda _conn: transactions.append("rollback"))
    drain(Worker(storage.db, storage.spool, WorkerConfig(batch_size=BATCH)))

    with storage.db.read() as conn:
        stored = set(conn.scalars(select(events.c.event_id)))
        errors = list(conn.scalars(select(dead_letters.c.error)))
        assert conn.scalar(select(func.count()).select_from(dead_letters)) == 1
    assert stored == {f"{n:032x}" for n in range(BATCH)} - {f"{BATCH // 3:032x}"}
    assert "storage refuses this event" in errors[0]
    # Halving: about 2 log2(120) transactions, each retry of the entry alone, and the reads.
    # One at a time, it was 120 and more.
    assert transactions.count("commit") + transactions.count("rollback") < 40, transactions

"""The test clock (VEDETTE_TEST_CLOCK_FILE): the seconds a test writes move lease expiry, and
nothing is read or moved without the setting."""

from __future__ import annotations

from pathlib import Path

import pytest

from vedette.domain.spooled import NewEntry
from vedette.spool.clock_shift import FileShift, clock_shift, no_shift
from vedette.spool.spools import TableSpool
from vedette.storage import spool_store
from vedette.storage.database import Database
from vedette.storage.schema import spool


@pytest.mark.parametrize(
    ("content", "shift"),
    [
        (None, 0.0),  # no file yet
        ("", 0.0),
        ("60", 60.0),
        ("61.5\n", 61.5),
        (" -30 ", -30.0),
    ],
)
def test_the_shift_is_the_number_in_the_file(
    tmp_path: Path, content: str | None, shift: float
) -> None:
    path = tmp_path / "clock-shift"
    if content is not None:
        path.write_text(content)
    assert clock_shift(path)() == shift


def test_without_the_setting_nothing_is_read() -> None:
    assert clock_shift(None) is no_shift
    assert no_shift() == 0.0


def test_a_shift_past_the_lease_frees_a_crashed_workers_entries(
    db: Database, tmp_path: Path
) -> None:
    with db.write() as conn:
        spool_store.append(conn, spool, [NewEntry(1, 1_700_000_000.0, None, b"envelope")])
    path = tmp_path / "clock-shift"
    crashed = TableSpool(db, lease_seconds=60, clock_shift=FileShift(path))
    restarted = TableSpool(db, lease_seconds=60, clock_shift=FileShift(path))
    now = 1_800_000_000.0

    assert len(crashed.claim(10, now)) == 1  # and never acknowledged
    assert restarted.claim(10, now + 59) == [], "leased for 60 s"
    path.write_text("60")
    assert len(restarted.claim(10, now + 1)) == 1, "61 s later on the shifted clock"

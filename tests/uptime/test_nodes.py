"""Two nodes on one PostgreSQL database run each check once per interval."""

from __future__ import annotations

import threading

import pytest
from tests.conftest import BACKENDS
from tests.uptime.bench import UptimeBench
from tests.uptime.servers import Site

from vedette.storage.database import Database
from vedette.uptime.checker import Checker, CheckerSettings
from vedette.uptime.probe import ProbeSettings


@pytest.mark.skipif("postgresql" not in BACKENDS, reason="several nodes share PostgreSQL")
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_two_nodes_run_each_check_once_per_interval(db: Database, database_url: str) -> None:
    bench = UptimeBench(db)
    other_db = Database(database_url)
    other = Checker(other_db, CheckerSettings(ProbeSettings(allow_private=True)), bench.clock)
    with Site() as site:
        monitors = [bench.monitor(f"{site.url}/{i}", interval_seconds=30) for i in range(12)]
        for _ in range(4):
            start = threading.Barrier(2)
            ran: list[int] = []

            def node(
                checker: Checker, start: threading.Barrier = start, ran: list[int] = ran
            ) -> None:
                start.wait()
                while claimed := checker.run_due():  # as many as it has threads, each time
                    ran.append(claimed)

            threads = [threading.Thread(target=node, args=(c,)) for c in (bench.checker, other)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            assert sum(ran) == len(monitors)
            bench.clock.now += 30
        assert len(site.requests) == 4 * len(monitors)
        for monitor in monitors:
            times = [c.checked_at for c in bench.checks(monitor)]
            assert len(times) == 4 and len(set(times)) == 4
    other.close()
    other_db.dispose()
    bench.close()

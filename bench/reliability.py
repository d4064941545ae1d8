"""The figures of docs/reliability.md: crash runs and the hostile corpus, bigger than in CI.

    uv run python -m bench.reliability --backend sqlite --kills 10
    uv run python -m bench.reliability --backend postgresql --kills 10

Uses the same harness as the tests (tests/e2e/crash_stream.py, tests/e2e/test_hostile_input.py)
against a live server on 127.0.0.1, and prints a Markdown table.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from tests.conftest import LiveVedette, fresh_database_url
from tests.e2e.crash_stream import StreamReport, kill_worker, run_crash_stream
from tests.e2e.test_hostile_input import GoodClient, peak_memory_kib, run_corpus


def crash_row(label: str, report: StreamReport) -> str:
    return (
        f"| {label} | {report.sent} | {len(report.acknowledged)} | {report.stored} |"
        f" {report.lost} | {report.duplicates} | {report.kills} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--kills", type=int, default=10)
    parser.add_argument("--senders", type=int, default=8)
    parser.add_argument("--between", type=int, default=300, help="acks between two kills")
    args = parser.parse_args()

    rows = []
    for label, crash in (("server kill -9", LiveVedette.kill), ("worker kill -9", kill_worker)):
        with tempfile.TemporaryDirectory() as tmp:
            for url in fresh_database_url(args.backend, Path(tmp)):
                server = LiveVedette(url, Path(tmp), args.backend)
                try:
                    project = server.create_project()
                    report = run_crash_stream(
                        server, project, args.kills, crash, args.between, args.senders,
                        spool_lease_seconds="5",
                    )  # fmt: skip
                finally:
                    server.close()
                rows.append(crash_row(f"{label} ({args.backend})", report))

    with tempfile.TemporaryDirectory() as tmp:
        for url in fresh_database_url(args.backend, Path(tmp)):
            server = LiveVedette(url, Path(tmp), args.backend)
            try:
                server.start(body_timeout_seconds="2")
                project = server.create_project()
                assert server.process is not None
                with GoodClient(server, project) as good:
                    outcomes = run_corpus(server, project)
                server.wait_processed(timeout=120)
                peak = peak_memory_kib(server.process.pid)
            finally:
                server.close()

    print("| run | sent | acknowledged | stored | lost | duplicates | kills |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    print("\n".join(rows))
    wrong = [o for o in outcomes if o[1] != o[2]]
    print(
        f"\nhostile corpus ({args.backend}): {len(outcomes)} requests, {len(wrong)} answered"
        f" otherwise than expected {wrong}; good client: {len(good.statuses)} requests,"
        f" statuses {sorted(set(good.statuses))}; server peak RSS {peak / 1024:.0f} MiB"
    )


if __name__ == "__main__":
    main()

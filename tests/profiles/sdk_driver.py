"""The real sentry-sdk profiling a transaction that does CPU work in named functions.

Run as a process of its own (the SDK's profilers are process-wide threads and schedulers):
``python tests/profiles/sdk_driver.py transaction|continuous DSN``. Prints the transaction's
event id. ``transaction``: ``profiles_sample_rate=1.0`` (a ``profile`` item with the
transaction); ``continuous``: ``profile_session_sample_rate=1.0`` with the manual lifecycle,
between ``start_profiler()`` and ``stop_profiler()`` (``profile_chunk`` items).
"""

from __future__ import annotations

import sys
import time

import sentry_sdk
import sentry_sdk.profiler

BUSY_SECONDS = 0.4


def crunch_invoice_numbers() -> int:
    """CPU-bound, so the sampler (101 Hz) finds it on the stack many times."""
    total, started = 0, time.process_time()
    while time.process_time() - started < BUSY_SECONDS:
        total += sum(i * i for i in range(500))
    return total


def render_monthly_report() -> int:
    return crunch_invoice_numbers()


def main(mode: str, dsn: str) -> None:
    options: dict[str, object] = {"profiles_sample_rate": 1.0}
    if mode == "continuous":
        options = {"profile_session_sample_rate": 1.0, "profile_lifecycle": "manual"}
    sentry_sdk.init(
        dsn=dsn,
        traces_sample_rate=1.0,
        default_integrations=False,
        release="profiled@1.0",
        environment="test",
        **options,  # type: ignore[arg-type]
    )
    if mode == "continuous":
        sentry_sdk.profiler.start_profiler()
    with sentry_sdk.start_transaction(name="monthly-report", op="task") as transaction:
        render_monthly_report()
    if mode == "continuous":
        sentry_sdk.profiler.stop_profiler()  # joins the sampler, which sends its last chunk
    sentry_sdk.flush(timeout=10)
    print(transaction.trace_id)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])

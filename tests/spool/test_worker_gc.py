"""The worker process's garbage collector settings (in a child process: they are global)."""

from __future__ import annotations

import subprocess
import sys

from vedette.spool.worker import WorkerConfig


def test_worker_collects_young_garbage_less_often_and_skips_startup_objects() -> None:
    code = (
        "import gc\n"
        "from vedette.spool.gc_tuning import tune_garbage_collector\n"
        "before = gc.get_threshold()\n"
        "tune_garbage_collector(50_000)\n"
        "after = gc.get_threshold()\n"
        "print(after[0], after[1:] == before[1:], gc.get_freeze_count() > 0, gc.isenabled())\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["50000", "True", "True", "True"]
    assert WorkerConfig().gc_threshold == 50_000

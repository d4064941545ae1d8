"""What `vedette serve` sets up in its own process before uvicorn takes over."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from vedette.cli import SERVER_GC_THRESHOLD

# uvicorn.run is replaced by a report of the collector's state at the moment it would start.
_SERVE_AND_REPORT = """
import gc, sys, uvicorn
uvicorn.run = lambda app, **options: print(gc.get_threshold()[0], gc.get_freeze_count() > 0)
from vedette.cli import main
sys.argv = ["vedette", "serve", "--port", "0"]
main()
"""


def test_serve_freezes_startup_objects_and_collects_young_garbage_less_often(
    tmp_path: Path,
) -> None:
    env = {**os.environ, "VEDETTE_DATA_DIR": str(tmp_path), "VEDETTE_WORKER_ENABLED": "false"}
    out = subprocess.run(
        [sys.executable, "-c", _SERVE_AND_REPORT], env=env, capture_output=True, text=True,
        check=True, timeout=60,
    )  # fmt: skip
    assert out.stdout.split()[-2:] == [str(SERVER_GC_THRESHOLD), "True"]

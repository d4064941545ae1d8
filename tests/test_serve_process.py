"""What `vedette serve` sets up in its own process before uvicorn takes over."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import orjson
import pytest

from vedette.cli import SERVER_GC_THRESHOLD

# uvicorn.run is replaced by a report of the process's state at the moment it would start.
_SERVE_AND_REPORT = """
import gc, json, sys, uvicorn
uvicorn.run = lambda app, **options: print(json.dumps({
    "threshold": gc.get_threshold()[0],
    "frozen": gc.get_freeze_count() > 0,
    "enabled": gc.isenabled(),
    "modules": sorted(sys.modules),
}))
from vedette.cli import main
sys.argv = ["vedette", "serve", "--port", "0"]
main()
"""

# Libraries that only some requests need, loaded with the first of them: each server start (and
# every test's) would pay their import, and each server its memory, for requests it may never see.
LOADED_ON_FIRST_USE = {
    "google.protobuf": "OTLP requests (with the generated OTLP modules): 6 MiB",
    "opentelemetry": "OTLP requests",
    "httpx": "notifications and uptime checks, both in the worker: 4 MiB",
    "markdown_it": "the first comment shown",
    "symbolic": "the first source map parsed: 0.9 MiB",
    # The report's server starts on an empty database: a child process migrates it.
    "alembic": "migrations, run by a child `vedette migrate`: 14 MiB with Mako",
    "mako": "Alembic",
}


@pytest.fixture(scope="module")
def serve_report(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    data_dir: Path = tmp_path_factory.mktemp("serve")
    env = {**os.environ, "VEDETTE_DATA_DIR": str(data_dir), "VEDETTE_WORKER_ENABLED": "false"}
    out = subprocess.run(
        [sys.executable, "-c", _SERVE_AND_REPORT], env=env, capture_output=True, text=True,
        check=True, timeout=60,
    )  # fmt: skip
    report: dict[str, Any] = orjson.loads(out.stdout.splitlines()[-1])
    return report


def test_serve_freezes_startup_objects_and_collects_young_garbage_less_often(
    serve_report: dict[str, Any],
) -> None:
    """Collection is off while the app is imported and made, and on again once it serves."""
    state = serve_report["threshold"], serve_report["frozen"], serve_report["enabled"]
    assert state == (SERVER_GC_THRESHOLD, True, True)


def test_serve_starts_without_the_libraries_that_only_some_requests_need(
    serve_report: dict[str, Any],
) -> None:
    loaded = [m for m in serve_report["modules"] if m.startswith(tuple(LOADED_ON_FIRST_USE))]
    assert loaded == []


def test_serve_stops_when_the_child_migration_fails(tmp_path: Path) -> None:
    """A database at a revision this code does not know (a newer release's) is not served."""
    connection = sqlite3.connect(tmp_path / "vedette.sqlite3")
    with connection:
        connection.execute("CREATE TABLE alembic_version (version_num VARCHAR(32) PRIMARY KEY)")
        connection.execute("INSERT INTO alembic_version VALUES ('9999')")
    connection.close()
    env = {**os.environ, "VEDETTE_DATA_DIR": str(tmp_path), "VEDETTE_WORKER_ENABLED": "false"}
    serve = subprocess.run(
        [sys.executable, "-m", "vedette", "serve", "--port", "0"], env=env, capture_output=True,
        text=True, timeout=60,
    )  # fmt: skip
    assert serve.returncode == 1
    assert "Can't locate revision identified by '9999'" in serve.stderr
    assert serve.stderr.endswith("vedette serve: the migration failed (exit code 1)\n")

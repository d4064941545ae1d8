"""What the profile tests share: hand-made payloads, and the real sentry-sdk run in a process
of its own (``sdk_driver.py``) against a live server."""

from __future__ import annotations

import copy
import subprocess
import sys
from pathlib import Path
from typing import Any

import orjson
from tests.conftest import LiveVedette, ProjectHandle

DRIVER = Path(__file__).with_name("sdk_driver.py")
ROOT = Path(__file__).parents[2]
WORKERS = ("crunch_invoice_numbers", "render_monthly_report")  # the driver's functions

RECEIVED = 1_700_000_000.0
PROFILE_ID = "51da1e852bd14cfea5e3161180477092"
TRANSACTION_ID = "87bf854b4a4d43dfb5abc4c4439b3d83"
TRACE_ID = "31080a270b7646898a1a1d37552f8383"
PROFILER_ID = "0123456789abcdef0123456789abcdef"
CHUNK_ID = "fedcba9876543210fedcba9876543210"

FRAMES = [
    {"function": "handler", "module": "app.views", "lineno": 10, "in_app": True},
    {"function": "query", "module": "app.db", "lineno": 20, "in_app": True},
    {"function": "main", "module": "__main__", "filename": "main.py", "abs_path": "/app/main.py"},
]
STACKS = [[1, 0, 2], [0, 2]]  # leaf first


def envelope_of(*items: tuple[dict[str, Any], bytes]) -> bytes:
    parts = [b"{}"]
    for header, payload in items:
        parts += [orjson.dumps({**header, "length": len(payload)}), payload]
    return b"\n".join(parts) + b"\n"


def sampled(**overrides: Any) -> dict[str, Any]:
    """A transaction profile as the Python SDK sends it (offsets as strings)."""
    payload: dict[str, Any] = {
        "event_id": PROFILE_ID,
        "version": "1",
        "platform": "python",
        "release": "shop@1.0",
        "environment": "production",
        "timestamp": RECEIVED - 10,
        "transactions": [
            {
                "id": TRANSACTION_ID,
                "name": "GET /orders",
                "trace_id": TRACE_ID,
                "active_thread_id": "7",
                "relative_start_ns": "0",
                "relative_end_ns": "50000000",
            }
        ],
        "profile": {
            "frames": copy.deepcopy(FRAMES),
            "stacks": copy.deepcopy(STACKS),
            "samples": [
                {"elapsed_since_start_ns": "20000000", "thread_id": "7", "stack_id": 1},
                {"elapsed_since_start_ns": "10000000", "thread_id": "7", "stack_id": 0},
                {"elapsed_since_start_ns": 10000000, "thread_id": 8, "stack_id": 1},
            ],
            "thread_metadata": {"7": {"name": "MainThread"}, "99": {"name": "idle"}},
        },
    }
    payload.update(overrides)
    return payload


def chunk(**overrides: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "version": "2",
        "chunk_id": CHUNK_ID,
        "profiler_id": PROFILER_ID,
        "platform": "python",
        "profile": {
            "frames": copy.deepcopy(FRAMES),
            "stacks": copy.deepcopy(STACKS),
            "samples": [
                {"timestamp": RECEIVED - 1.0, "thread_id": "7", "stack_id": 0},
                {"timestamp": RECEIVED - 0.99, "thread_id": "7", "stack_id": 1},
            ],
            "thread_metadata": {"7": {"name": "MainThread"}},
        },
    }
    payload.update(overrides)
    return payload


def run_driver(mode: str, project: ProjectHandle) -> None:
    """``sdk_driver.py`` in ``mode`` (transaction | continuous) sending to ``project``."""
    done = subprocess.run(
        [sys.executable, str(DRIVER), mode, project.dsn],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]


def only_transaction(server: LiveVedette, project: ProjectHandle) -> dict[str, Any]:
    base = f"/api/0/projects/{project.org}/{project.slug}"
    listed = server.api_get(f"{base}/events/", type="transaction")
    assert len(listed) == 1, listed
    event: dict[str, Any] = server.api_get(f"{base}/events/{listed[0]['eventID']}/")
    return event


def flame_names(nodes: list[dict[str, Any]]) -> set[str]:
    return {node["name"] for node in nodes}

"""``SENTRY_PROFILES_SAMPLE_RATE``: continuous profiling of traced requests.

In a process of its own: the continuous profiler is a process-wide thread and scheduler.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

DRIVER = """
import asyncio, json, time
from fastapi import FastAPI
from tests.kit.recording import RecordingTransport
from tests.kit.support import asgi_client, kit_settings, sdk_overrides
from vedette.kit import init_monitoring, instrument_app, shutdown_monitoring

transport = RecordingTransport()
init_monitoring(
    kit_settings(sentry_traces_sample_rate=1.0, sentry_profiles_sample_rate=1.0),
    **sdk_overrides(transport),
)
app = FastAPI()
instrument_app(app)

@app.get("/busy")
def busy() -> int:
    total, started = 0, time.process_time()
    while time.process_time() - started < 0.3:  # CPU-bound, so the sampler has frames to see
        total += sum(range(1000))
    return total

async def go() -> None:
    async with asgi_client(app) as client:
        assert (await client.get("/busy")).status_code == 200

asyncio.run(go())
deadline = time.monotonic() + 20  # the profiler's thread flushes its chunk once the trace ends
while time.monotonic() < deadline and not transport.items("profile_chunk"):
    time.sleep(0.05)
shutdown_monitoring()
print(json.dumps(sorted({i.type for e in transport.envelopes for i in e.items})))
"""


def test_a_traced_cpu_bound_request_is_profiled() -> None:
    done = subprocess.run(
        [sys.executable, "-W", "error::DeprecationWarning", "-c", DRIVER],
        cwd=Path(__file__).parents[2], capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    types = json.loads(done.stdout.strip().splitlines()[-1])
    assert "transaction" in types
    assert "profile_chunk" in types

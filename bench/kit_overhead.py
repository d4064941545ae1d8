"""What monitoring costs the shop: requests/s and server CPU per request, by variant.

    uv run python bench/kit_overhead.py                      # every variant, both endpoints
    uv run python bench/kit_overhead.py --duration 5 --runs 3 --variant off --variant kit-0.1

Each variant runs ``examples/shop`` under uvicorn (1 worker, its defaults: uvloop, httptools)
in a process of its own, pinned to CPU 0; the load comes from this process, pinned to CPU 1: a
minimal HTTP/1.1 keep-alive client on asyncio streams (httpx would be the bottleneck). The SDK's
transport drops envelopes, so the figures are the in-process cost of monitoring, not network.
Runs of different variants are interleaved so that a noisy neighbour hits all of them alike;
besides requests/s the server's own CPU time per request is reported (from /proc), which
another process's load does not inflate.

Variants:
  off           the kit installed, no DSN (init_monitoring returns False; middleware inert)
  bare-0.1/1.0  plain ``sentry_sdk.init(dsn, traces_sample_rate=...)`` with its defaults
  kit-0.1/1.0   ``init_monitoring`` + ``instrument_app`` (scrubbing, sampler, context, ...)
  seed-0.1      bare-0.1 plus the seed's ``SentryMiddleware(BaseHTTPMiddleware)``
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

VARIANTS = ["off", "bare-0.1", "kit-0.1", "bare-1.0", "kit-1.0", "seed-0.1"]
DSN = "http://public@127.0.0.1:9/1"  # never contacted: the transport drops everything
SERVER_CPU, CLIENT_CPU = 0, 1


# -- the server side ------------------------------------------------------------------------


def build_app(variant: str, database: Path) -> Any:
    import sentry_sdk
    from examples.shop.app import create_app
    from examples.shop.settings import ShopSettings
    from sentry_sdk.transport import Transport

    from vedette.kit import MonitoringSettings

    class DropTransport(Transport):
        def capture_envelope(self, envelope: Any) -> None:
            pass

        def flush(self, timeout: float, callback: Any = None) -> None:
            pass

        def kill(self) -> None:
            pass

    kind, _, rate = variant.partition("-")
    shop = ShopSettings(database_path=database, gateway_latency_seconds=0.0)
    off = MonitoringSettings(_env_file=None, sentry_dsn=None)  # type: ignore[call-arg]
    if kind == "kit":
        monitoring = MonitoringSettings(
            _env_file=None,  # type: ignore[call-arg]
            sentry_dsn=DSN,
            sentry_traces_sample_rate=float(rate),
            environment="bench",
            app_version="bench",
        )
        return create_app(shop, monitoring, transport=DropTransport())
    if kind in ("bare", "seed"):
        sentry_sdk.init(
            dsn=DSN, traces_sample_rate=float(rate), transport=DropTransport(),
            environment="bench", release="bench",
        )  # fmt: skip
    app = create_app(shop, off)
    if kind == "seed":
        app.add_middleware(seed_middleware())
    return app


def seed_middleware() -> Any:
    """The seed's ``SentryMiddleware``, as written in seed-sentry-monitoring.md."""
    import sentry_sdk
    from starlette.middleware.base import BaseHTTPMiddleware

    class SentryMiddleware(BaseHTTPMiddleware):
        async def dispatch(self, request: Any, call_next: Any) -> Any:
            sentry_sdk.set_context(
                "request_info",
                {
                    "path": request.url.path,
                    "method": request.method,
                    "query_params": dict(request.query_params),
                },
            )
            start_time = time.perf_counter()
            try:
                response = await call_next(request)
                duration = time.perf_counter() - start_time
                sentry_sdk.set_context(
                    "response_info",
                    {
                        "status_code": response.status_code,
                        "duration_ms": round(duration * 1000, 2),
                    },
                )
                return response
            except Exception:
                duration = time.perf_counter() - start_time
                sentry_sdk.set_context("error_info", {"duration_ms": round(duration * 1000, 2)})
                raise

    return SentryMiddleware


def serve(variant: str, port: int, database: Path) -> None:
    import uvicorn

    os.sched_setaffinity(0, {SERVER_CPU})
    app = build_app(variant, database)
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


# -- the client side ------------------------------------------------------------------------


async def _connection(port: int, request: bytes, stop: float, counts: list[int]) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while time.perf_counter() < stop:
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            await reader.readexactly(length)
            status = int(head[9:12])
            counts[0 if status < 400 else 1] += 1
    finally:
        writer.close()


async def load(port: int, path: str, token: str, connections: int, seconds: float) -> list[int]:
    request = (
        f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {token}\r\n"
        "User-Agent: kit-overhead\r\n\r\n"
    ).encode()
    counts = [0, 0]
    stop = time.perf_counter() + seconds
    await asyncio.gather(*(_connection(port, request, stop, counts) for _ in range(connections)))
    return counts


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class Server:
    variant: str
    process: subprocess.Popen[bytes]
    port: int
    token: str


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start(variant: str, workdir: Path) -> Server:
    port = free_port()
    database = workdir / f"{variant}.sqlite3"
    process = subprocess.Popen(
        [sys.executable, __file__, "serve", variant, str(port), str(database)], cwd=REPO
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            if httpx.get(f"{base}/health").status_code == 200:
                break
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline or process.poll() is not None:
            raise SystemExit(f"{variant}: the shop did not start")
        time.sleep(0.1)
    with httpx.Client(base_url=base) as client:
        signup = client.post(
            "/users", json={"email": f"{variant}@example.com", "name": "B", "password": "x"}
        )
        token = str(signup.json()["token"])
        for product in range(1, 7):  # six orders: the listing runs 1 + 6 item queries
            client.post(
                "/orders",
                headers={"Authorization": f"Bearer {token}"},
                json={"items": [{"product_id": 1 + product % 5, "quantity": 1}]},
            )
    return Server(variant, process, port, token)


def measure(server: Server, path: str, connections: int, seconds: float) -> dict[str, float]:
    before = cpu_seconds(server.process.pid)
    began = time.perf_counter()
    ok, failed = asyncio.run(load(server.port, path, server.token, connections, seconds))
    elapsed = time.perf_counter() - began
    used = cpu_seconds(server.process.pid) - before
    if failed or not ok:
        raise SystemExit(f"{server.variant} {path}: {failed} failed requests")
    return {"rps": ok / elapsed, "cpu_us": used / ok * 1e6}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--variant", action="append", choices=VARIANTS)
    parser.add_argument("--path", action="append", help="endpoints (default: search and orders)")
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per run")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    variants = args.variant or VARIANTS
    paths = args.path or ["/products/search?q=mug&page=2", "/orders"]
    os.sched_setaffinity(0, {CLIENT_CPU})
    results: dict[tuple[str, str], list[dict[str, float]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        servers = [start(v, Path(tmp)) for v in variants]
        try:
            for server in servers:  # warm-up: imports, first queries, sampling decisions
                for path in paths:
                    measure(server, path, args.connections, 1.0)
            for run in range(args.runs):
                order = servers if run % 2 == 0 else list(reversed(servers))
                for server in order:
                    for path in paths:
                        found = measure(server, path, args.connections, args.duration)
                        results.setdefault((server.variant, path), []).append(found)
        finally:
            for server in servers:
                server.process.terminate()
                server.process.wait()
    report(results, variants, paths, args.json)


def report(
    results: dict[tuple[str, str], list[dict[str, float]]],
    variants: list[str],
    paths: list[str],
    as_json: bool,
) -> None:
    rows = []
    for path in paths:
        base_cpu = statistics.median(r["cpu_us"] for r in results[("off", path)]) if (
            ("off", path) in results
        ) else None  # fmt: skip
        for variant in variants:
            runs = results[(variant, path)]
            rps = [r["rps"] for r in runs]
            cpu = statistics.median(r["cpu_us"] for r in runs)
            rows.append(
                {
                    "path": path,
                    "variant": variant,
                    "rps_runs": [round(x) for x in rps],
                    "rps_median": round(statistics.median(rps)),
                    "cpu_us_per_request": round(cpu),
                    "added_cpu_us": None if base_cpu is None else round(cpu - base_cpu),
                }
            )
    if as_json:
        print(json.dumps(rows, indent=2))
        return
    print("| endpoint | variant | req/s (runs) | median req/s | server CPU µs/req | added µs |")
    print("| --- | --- | --- | ---: | ---: | ---: |")
    for row in rows:
        runs = " / ".join(f"{x:,}" for x in row["rps_runs"])
        added = "—" if row["added_cpu_us"] in (None, 0) and row["variant"] == "off" else (
            f"+{row['added_cpu_us']}" if row["added_cpu_us"] is not None else "?"
        )  # fmt: skip
        print(
            f"| `{row['path']}` | {row['variant']} | {runs} | {row['rps_median']:,} |"
            f" {row['cpu_us_per_request']:,} | {added} |"
        )


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "serve":
        serve(sys.argv[2], int(sys.argv[3]), Path(sys.argv[4]))
    else:
        main()

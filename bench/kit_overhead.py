"""What monitoring costs the shop: server CPU per request and requests/s, by variant.

    uv run python bench/kit_overhead.py                  # both methods, every variant
    uv run python bench/kit_overhead.py --method asgi    # A only (stable on a busy machine)
    uv run python bench/kit_overhead.py --method uvicorn --duration 5 --runs 3 --variant off

Variants:
  off           the kit installed, no DSN (init_monitoring returns False; middleware inert)
  bare-0.1/1.0  plain ``sentry_sdk.init(dsn, traces_sample_rate=...)`` with its defaults
  kit-0.1/1.0   ``init_monitoring`` + ``instrument_app`` (scrubbing, sampler, context, ...)
  seed-0.1      bare-0.1 plus the seed's ``SentryMiddleware(BaseHTTPMiddleware)``

The SDK's transport drops envelopes, so both methods measure the in-process cost of monitoring,
not the network. Each variant runs in a process of its own (the SDK is process-global).

Method A (``asgi``): the shop's ASGI app is called directly, in batches of about 25 ms of CPU;
the figure is the fastest batch's CPU time per request out of a few hundred, from worker
processes interleaved across variants. Other processes only ever add time, so the minimum is
what the code costs; this is the figure that still holds on a shared, busy machine.

Method B (``uvicorn``): the shop under uvicorn (1 worker, its defaults: uvloop, httptools),
pinned to CPU 0, loaded from this process on CPU 1 by a minimal keep-alive HTTP/1.1 client on
asyncio streams (httpx would be the bottleneck); requests/s and the server's CPU time per
request from /proc, runs of the variants interleaved.
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


# -- method A: the ASGI app called in-process -----------------------------------------------


async def asgi_call(
    app: Any, method: str, path: str, headers: dict[str, str], body: bytes = b""
) -> tuple[int, bytes]:
    route, _, query = path.partition("?")
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method,
        "scheme": "http", "path": route, "raw_path": route.encode(), "query_string":
        query.encode(), "root_path": "", "server": ("127.0.0.1", 8000),
        "client": ("127.0.0.1", 50000),
        "headers": [(b"host", b"127.0.0.1"), *((k.lower().encode(), v.encode())
                                               for k, v in headers.items())],
    }  # fmt: skip
    sent: list[dict[str, Any]] = []
    delivered = False

    async def receive() -> dict[str, Any]:
        nonlocal delivered
        if delivered:
            await asyncio.sleep(3600)
        delivered = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(scope, receive, send)
    status = next(m["status"] for m in sent if m["type"] == "http.response.start")
    return status, b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")


async def asgi_prepare(app: Any, variant: str) -> str:
    json_headers = {"content-type": "application/json"}
    user = json.dumps({"email": f"{variant}@example.com", "name": "B", "password": "x"})
    _, body = await asgi_call(app, "POST", "/users", json_headers, user.encode())
    token = str(json.loads(body)["token"])
    for product in range(1, 7):
        order = {"items": [{"product_id": 1 + product % 5, "quantity": 1}]}
        await asgi_call(
            app, "POST", "/orders", {**json_headers, "authorization": f"Bearer {token}"},
            json.dumps(order).encode(),
        )  # fmt: skip
    return token


def asgi_worker(variant: str, paths: list[str], batches: int) -> None:
    """Print, as JSON, the CPU microseconds per request of each batch, per path. A batch takes
    about 25 ms of CPU: short enough that many of them run while no other process interferes."""
    with tempfile.TemporaryDirectory() as tmp:
        app = build_app(variant, Path(tmp) / "shop.sqlite3")

        async def timed(path: str, headers: dict[str, str], count: int) -> float:
            began = time.process_time()
            for _ in range(count):
                status, _body = await asgi_call(app, "GET", path, headers)
                if status != 200:
                    raise SystemExit(f"{variant} {path}: {status}")
            return (time.process_time() - began) / count

        async def run() -> dict[str, list[float]]:
            token = await asgi_prepare(app, variant)
            headers = {"authorization": f"Bearer {token}", "user-agent": "kit-overhead"}
            sizes = {}
            for path in paths:  # warm-up, and the batch size
                sizes[path] = max(5, min(200, int(0.025 / await timed(path, headers, 20))))
            found: dict[str, list[float]] = {path: [] for path in paths}
            for _ in range(batches):
                for path in paths:
                    found[path].append(await timed(path, headers, sizes[path]) * 1e6)
            return found

        print(json.dumps(asyncio.run(run())))


def method_asgi(variants: list[str], paths: list[str], rounds: int) -> dict[str, Any]:
    results: dict[tuple[str, str], list[float]] = {}
    for number in range(rounds):
        order = variants if number % 2 == 0 else list(reversed(variants))
        for variant in order:
            out = subprocess.run(
                [sys.executable, __file__, "asgi-worker", variant, json.dumps(paths)],
                cwd=REPO, capture_output=True, text=True, check=True,
            ).stdout  # fmt: skip
            for path, samples in json.loads(out).items():
                results.setdefault((variant, path), []).extend(samples)
    return {
        f"{variant} {path}": {
            "min_us": round(min(samples), 1),
            "p10_us": round(statistics.quantiles(samples, n=10)[0], 1),
        }
        for (variant, path), samples in results.items()
    }


# -- method B: uvicorn and a load generator ------------------------------------------------


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


def method_uvicorn(
    variants: list[str], paths: list[str], runs: int, duration: float, connections: int
) -> dict[tuple[str, str], list[dict[str, float]]]:
    os.sched_setaffinity(0, {CLIENT_CPU})
    results: dict[tuple[str, str], list[dict[str, float]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        servers = [start(v, Path(tmp)) for v in variants]
        try:
            for server in servers:  # warm-up: imports, first queries, sampling decisions
                for path in paths:
                    measure(server, path, connections, 1.0)
            for run in range(runs):
                order = servers if run % 2 == 0 else list(reversed(servers))
                for server in order:
                    for path in paths:
                        found = measure(server, path, connections, duration)
                        results.setdefault((server.variant, path), []).append(found)
        finally:
            for server in servers:
                server.process.terminate()
                server.process.wait()
    os.sched_setaffinity(0, set(range(os.cpu_count() or 1)))
    return results


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--method", choices=["asgi", "uvicorn", "both"], default="both")
    parser.add_argument("--variant", action="append", choices=VARIANTS)
    parser.add_argument("--path", action="append", help="endpoints (default: search and orders)")
    parser.add_argument("--rounds", type=int, default=3, help="A: worker processes per variant")
    parser.add_argument("--duration", type=float, default=5.0, help="B: seconds per run")
    parser.add_argument("--runs", type=int, default=3, help="B: runs per variant and endpoint")
    parser.add_argument("--connections", type=int, default=16, help="B: client connections")
    args = parser.parse_args()
    variants = args.variant or VARIANTS
    paths = args.path or ["/products/search?q=mug&page=2", "/orders"]
    if args.method in ("asgi", "both"):
        report_asgi(method_asgi(variants, paths, args.rounds), variants, paths)
    if args.method in ("uvicorn", "both"):
        found = method_uvicorn(variants, paths, args.runs, args.duration, args.connections)
        report_uvicorn(found, variants, paths)


def report_asgi(results: dict[str, Any], variants: list[str], paths: list[str]) -> None:
    print("Method A: CPU µs per request, fastest batch (and the 10th percentile of batches)")
    print("| endpoint | variant | µs/request | p10 | added to `off` |")
    print("| --- | --- | ---: | ---: | ---: |")
    for path in paths:
        base = results.get(f"off {path}", {}).get("min_us")
        for variant in variants:
            row = results[f"{variant} {path}"]
            added = "—" if base is None or variant == "off" else f"+{row['min_us'] - base:.0f}"
            print(f"| `{path}` | {variant} | {row['min_us']:.0f} | {row['p10_us']:.0f} | {added} |")
    print(flush=True)


def report_uvicorn(
    results: dict[tuple[str, str], list[dict[str, float]]], variants: list[str], paths: list[str]
) -> None:
    print("Method B: uvicorn, requests/s per run and the server's CPU µs per request (median)")
    print("| endpoint | variant | req/s (runs) | median req/s | server CPU µs/req |")
    print("| --- | --- | --- | ---: | ---: |")
    for path in paths:
        for variant in variants:
            runs = results[(variant, path)]
            rps = [r["rps"] for r in runs]
            cpu = statistics.median(r["cpu_us"] for r in runs)
            shown = " / ".join(f"{x:,.0f}" for x in rps)
            print(
                f"| `{path}` | {variant} | {shown} | {statistics.median(rps):,.0f} | {cpu:,.0f} |"
            )
    print(flush=True)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "serve":
        serve(sys.argv[2], int(sys.argv[3]), Path(sys.argv[4]))
    elif len(sys.argv) > 1 and sys.argv[1] == "asgi-worker":
        asgi_worker(sys.argv[2], json.loads(sys.argv[3]), batches=100)
    else:
        main()

"""Building SDK-shaped traffic with known numbers, and feeding it through the real pipeline.

Envelopes go through ``parse_envelope`` -> ``process_envelope`` -> ``store_processed`` (what
the worker does), so everything from normalisation to the aggregates is exercised; only the
HTTP edge and the spool are skipped. ``api_client`` serves the real API routes over the same
database.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import anyio
import httpx
import orjson
from starlette.applications import Starlette

from vedette.api.routes import Api
from vedette.domain.envelope import parse_envelope
from vedette.processing.pipeline import ProcessingConfig, process_envelope
from vedette.storage import accounts, tokens
from vedette.storage.database import Database
from vedette.storage.ingest_store import store_processed
from vedette.storage.spool_store import SpoolStats


def hex_id(n: int) -> str:
    return uuid.uuid4().hex[:n] if n <= 32 else uuid.uuid4().hex


@dataclass(frozen=True)
class Span:
    op: str
    description: str
    offset_ms: float  # from the transaction start
    duration_ms: float
    parent: int | None = None  # index of the parent span; None: the transaction root
    status: str = "ok"


def transaction(
    name: str,
    start: float,
    duration_ms: float,
    *,
    status: str = "ok",
    spans: Sequence[Span] = (),
    release: str | None = "shop@1.0.0",
    environment: str | None = "prod",
    trace_id: str | None = None,
    source: str = "route",
) -> dict[str, Any]:
    """A transaction event as sentry-python sends it (ISO timestamps, root in contexts)."""
    trace_id = trace_id or uuid.uuid4().hex
    root = hex_id(16)
    ids = [hex_id(16) for _ in spans]
    payload: dict[str, Any] = {
        "type": "transaction",
        "event_id": uuid.uuid4().hex,
        "platform": "python",
        "transaction": name,
        "transaction_info": {"source": source},
        "start_timestamp": start,
        "timestamp": start + duration_ms / 1000.0,
        "contexts": {
            "trace": {"trace_id": trace_id, "span_id": root, "op": "http.server", "status": status}
        },
        "spans": [
            {
                "trace_id": trace_id,
                "span_id": ids[i],
                "parent_span_id": root if s.parent is None else ids[s.parent],
                "op": s.op,
                "description": s.description,
                "status": s.status,
                "start_timestamp": start + s.offset_ms / 1000.0,
                "timestamp": start + (s.offset_ms + s.duration_ms) / 1000.0,
            }
            for i, s in enumerate(spans)
        ],
    }
    if release:
        payload["release"] = release
    if environment:
        payload["environment"] = environment
    return payload


def envelope(*items: tuple[str, dict[str, Any]], headers: dict[str, Any] | None = None) -> bytes:
    lines = [orjson.dumps(headers or {})]
    for item_type, payload in items:
        body = orjson.dumps(payload)
        lines += [orjson.dumps({"type": item_type, "length": len(body)}), body]
    return b"\n".join(lines) + b"\n"


def ingest(
    db: Database,
    project_id: int,
    envelopes: Sequence[bytes],
    received: float,
    config: ProcessingConfig | None = None,
    batch: int = 200,
) -> None:
    """Process and store like the worker: ``batch`` envelopes per write transaction."""
    for first in range(0, len(envelopes), batch):
        processed = [
            (
                project_id,
                process_envelope(parse_envelope(e), received, None, config or ProcessingConfig()),
            )
            for e in envelopes[first : first + batch]
        ]
        with db.write() as conn:
            store_processed(conn, processed, now=received)


def create_project(db: Database, slug: str | None = None, org: str = "acme") -> accounts.Project:
    with db.write() as conn:
        return accounts.create_project(conn, org, slug or f"p-{uuid.uuid4().hex[:8]}")


@dataclass
class ApiClient:
    """The real API routes over httpx's ASGI transport (synchronous calls for tests)."""

    app: Starlette
    token: str
    project: accounts.Project

    @property
    def base(self) -> str:
        return f"/api/0/projects/{self.project.organization_slug}/{self.project.slug}"

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        async def call() -> httpx.Response:
            transport = httpx.ASGITransport(app=self.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
                return await client.request(
                    method, path, headers={"Authorization": f"Bearer {self.token}"}, **kwargs
                )

        return anyio.run(call)

    def get(self, path: str, **params: Any) -> Any:
        response = self.request("GET", self.base + path, params=params)
        assert response.status_code == 200, (response.status_code, response.text)
        return response.json()

    def put(self, path: str, body: dict[str, Any]) -> Any:
        response = self.request("PUT", self.base + path, json=body)
        assert response.status_code == 200, (response.status_code, response.text)
        return response.json()


@contextmanager
def api_client(db: Database, project: accounts.Project) -> Iterator[ApiClient]:
    api = Api(db, lambda: SpoolStats(0, None, 0), "http://testserver", lambda _key: None)
    with db.write() as conn:
        token = tokens.create_token(conn, "tests")
    yield ApiClient(Starlette(routes=api.routes()), token, project)


def durations(rng: random.Random, n: int) -> list[float]:
    """A long-tailed mix like real endpoints: mostly fast, some slow, a few very slow."""
    found = []
    for _ in range(n):
        roll = rng.random()
        if roll < 0.7:
            found.append(rng.lognormvariate(3.5, 0.4))  # ~33 ms
        elif roll < 0.95:
            found.append(rng.uniform(200, 1500))
        else:
            found.append(rng.uniform(1500, 9000))
    return found

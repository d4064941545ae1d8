"""Profiles in the JSON API (docs/profiles.md).

- ``GET /api/0/projects/{org}/{project}/profiling/profiles/{profile_id}/``: one transaction
  profile in Sentry's sample format (version "1");
- ``GET .../profiling/chunks/{chunk_id}/``: one continuous profile chunk (version "2");
- ``GET .../profiling/flamegraph/?transaction=NAME`` (or ``?profiler_id=ID``) with
  ``statsPeriod`` or ``start``/``end``: the call tree merged over the transaction's newest
  profiles in the period (or the profiler's samples in it), and its slowest functions.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from vedette.api.access import ApiAccess
from vedette.api.http import ApiError, json_response
from vedette.api.logs import time_window
from vedette.api.serialize import iso
from vedette.domain.envelope import normalize_event_id
from vedette.domain.flamegraph import CallNode, FunctionStats, call_tree, slowest_functions
from vedette.domain.profiles import (
    PROFILE_CHUNK,
    TRANSACTION_PROFILE,
    ProfileRecord,
    samples_between,
)
from vedette.storage import profiles
from vedette.storage.tokens import TokenGrant

NOT_FOUND = "The requested resource does not exist"
# Nodes lighter than this share of the whole tree are left out of the JSON and the graph.
MIN_NODE_SHARE = 1 / 5000
MAX_TRANSACTION_CHARS = 200
MAX_FRAME_VISITS = 5_000_000


def sample_format(record: ProfileRecord) -> dict[str, Any]:
    """A stored profile as the SDK sent it, in Sentry's sample format (normalised)."""
    profile = record.profile
    chunk = record.kind == PROFILE_CHUNK
    samples = [
        {"stack_id": s.stack_id, "thread_id": s.thread_id}
        | (
            {"timestamp": record.start + s.elapsed_ns / 1e9}
            if chunk
            else {"elapsed_since_start_ns": s.elapsed_ns}
        )
        for s in profile.samples
    ]
    body: dict[str, Any] = {
        "platform": record.platform,
        "release": record.release,
        "environment": record.environment,
        "profile": {
            "samples": samples,
            "stacks": [list(stack) for stack in profile.stacks],
            "frames": profile.to_payload()["frames"],
            "thread_metadata": {t: {"name": n} for t, n in profile.thread_names.items()},
        },
    }
    if chunk:
        return {**body, "version": "2", "chunk_id": record.profile_id,
                "profiler_id": record.profiler_id}  # fmt: skip
    transaction = {
        "id": record.transaction_id,
        "name": record.transaction_name,
        "trace_id": record.trace_id,
        "active_thread_id": profile.active_thread_id,
        "relative_start_ns": 0,
        "relative_end_ns": round(record.duration * 1e9),
    }
    return {
        **body,
        "version": "1",
        "event_id": record.profile_id,
        "timestamp": iso(record.start),
        "duration_ns": round(record.duration * 1e9),
        "transaction": transaction,
        "transactions": [transaction],
    }


def flame_nodes(root: CallNode, minimum_ns: float) -> list[dict[str, Any]]:
    """The call tree as a flat list in pre-order (a caller before its callees, heaviest callee
    first), each node naming its ``parent``'s index: flat, so however deep the stacks, the
    JSON is not."""
    found: list[dict[str, Any]] = []
    pending: list[tuple[CallNode, int | None, int]] = [(root, None, 0)]
    while pending:
        node, parent, depth = pending.pop()
        index = len(found)
        found.append(
            {
                "name": node.function,
                "module": node.module,
                "in_app": node.in_app,
                "parent": parent,
                "depth": depth,
                "total_ns": round(node.total_ns),
                "self_ns": round(node.self_ns),
            }
        )
        children = [c for c in node.sorted_children() if c.total_ns >= minimum_ns]
        pending.extend((c, index, depth + 1) for c in reversed(children))
    return found


def function_json(stats: FunctionStats) -> dict[str, Any]:
    return {
        "function": stats.function,
        "module": stats.module,
        "in_app": stats.in_app,
        "self_ns": round(stats.self_ns),
        "total_ns": round(stats.total_ns),
        "profiles": stats.profiles,
        "p75_self_ns": round(stats.p75_self_ns),
        "p95_self_ns": round(stats.p95_self_ns),
    }


@dataclass(frozen=True, slots=True)
class Aggregate:
    """The merged call tree and slowest functions of some profiles."""

    records: list[ProfileRecord]
    tree: CallNode
    functions: list[FunctionStats]


def aggregate(records: list[ProfileRecord], window: tuple[float, float] | None = None) -> Aggregate:
    """The records merged, in order, while their stacks hold at most MAX_FRAME_VISITS frames
    together (always the first): the work of one page stays bounded. With a ``window``
    (continuous profiles), only the samples taken in it count."""
    kept: list[ProfileRecord] = []
    frames = 0
    for record in records:
        frames += sum(len(stack) for stack in record.profile.stacks)
        if kept and frames > MAX_FRAME_VISITS:
            break
        kept.append(record)
    found = [r.profile if window is None else samples_between(r, *window) for r in kept]
    return Aggregate(kept, call_tree(found), slowest_functions(found))


def load_profiles(
    conn: Connection,
    project_id: int,
    transaction: str | None,
    profiler_id: str | None,
    start: float,
    end: float,
) -> list[ProfileRecord]:
    """The transaction's newest profiles, or the profiler's chunks, in [start, end)."""
    if profiler_id is not None:
        return profiles.profiler_chunks(conn, project_id, profiler_id, start, end)
    return profiles.transaction_profiles(conn, project_id, transaction or "", start, end)


class ProfileEndpoints:
    def __init__(self, access: ApiAccess) -> None:
        self._access = access

    def routes(self) -> list[Route]:
        p = "/api/0/projects/{org}/{project}/profiling"
        wrap = self._access.wrap
        return [
            Route(f"{p}/profiles/{{profile_id}}/", wrap(self.profile)),
            Route(f"{p}/chunks/{{chunk_id}}/", wrap(self.chunk)),
            Route(f"{p}/flamegraph/", wrap(self.flamegraph)),
        ]

    async def _one(self, request: Request, grant: TokenGrant, param: str, kind: str) -> Response:
        project = await self._access.project(request, grant)
        found_id = normalize_event_id(request.path_params[param])
        record = (
            None
            if found_id is None
            else await self._access.read(
                lambda c: profiles.get_profile(c, project.id, found_id, kind)
            )
        )
        if record is None:
            raise ApiError(404, NOT_FOUND)
        return json_response(sample_format(record))

    async def profile(self, request: Request, grant: TokenGrant) -> Response:
        return await self._one(request, grant, "profile_id", TRANSACTION_PROFILE)

    async def chunk(self, request: Request, grant: TokenGrant) -> Response:
        return await self._one(request, grant, "chunk_id", PROFILE_CHUNK)

    async def flamegraph(self, request: Request, grant: TokenGrant) -> Response:
        project = await self._access.project(request, grant)
        params = request.query_params
        transaction = params.get("transaction") or None
        raw_profiler = params.get("profiler_id")
        profiler_id = normalize_event_id(raw_profiler) if raw_profiler else None
        if raw_profiler and profiler_id is None:
            raise ApiError(400, "profiler_id must be a profiler id (32 hex digits)")
        if (transaction is None) == (profiler_id is None):
            raise ApiError(400, "give either transaction or profiler_id")
        if transaction is not None and len(transaction) > MAX_TRANSACTION_CHARS:
            raise ApiError(400, "transaction is too long")
        start, end = time_window(params, time.time())
        records = await self._access.read(
            lambda c: load_profiles(c, project.id, transaction, profiler_id, start, end)
        )
        window = None if profiler_id is None else (start, end)
        found = await run_in_threadpool(aggregate, records, window)
        return json_response(
            {
                "transaction": transaction,
                "profiler_id": profiler_id,
                "start": iso(start),
                "end": iso(end),
                "profiles": [r.profile_id for r in records],
                "flamegraph": flame_nodes(found.tree, found.tree.total_ns * MIN_NODE_SHARE),
                "functions": [function_json(f) for f in found.functions],
            }
        )

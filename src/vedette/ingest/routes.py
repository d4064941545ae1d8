"""The HTTP edge for SDKs: /api/{project_id}/envelope/, /store/ and OTLP/HTTP's
/integration/otlp/v1/traces and /logs (vedette.ingest.otlp).

Handlers stay thin: read (capped) -> decode (capped) -> parse -> authenticate -> spool. The 200
goes out only after the spool has committed the envelope.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import time
import uuid
import zlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import orjson
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from vedette.domain.envelope import (
    INTERNAL_OUTCOMES,
    EnvelopeError,
    ItemTooLarge,
    item_category,
    item_is_valid,
    normalize_event_id,
    parse_envelope,
    single_event_envelope,
)
from vedette.domain.spooled import NewEntry
from vedette.ingest.auth import KeyInfo, KeyRegistry, authorize, extract_credentials
from vedette.ingest.decode import decode_body
from vedette.ingest.errors import (
    BadRequest,
    IngestError,
    PayloadTooLarge,
    RequestTimeout,
    TooManyRequests,
)
from vedette.ingest.limits import item_limits
from vedette.ingest.metrics import IngestMetrics, reason_of
from vedette.ingest.otlp import SIGNALS, check_body, media_type, spooled_envelope, success_body
from vedette.ingest.ratelimit import (
    KeyQuota,
    ProjectQuota,
    RefusedOutcomes,
    SpoolGauge,
    limited_items,
)
from vedette.spool.clock_shift import ClockShift, no_shift
from vedette.spool.payloads import spooled_form
from vedette.spool.writer import SpoolUnavailable, SpoolWriter

CORS_ALLOW_HEADERS = (
    "x-sentry-auth, x-requested-with, x-forwarded-for, origin, referer, accept, content-type, "
    "authentication, authorization, content-encoding, transfer-encoding, sentry-trace, baggage"
)
CORS_HEADERS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Expose-Headers": "x-sentry-error, x-sentry-rate-limits, retry-after",
}


@dataclass(frozen=True, slots=True)
class IngestConfig:
    max_body_bytes: int
    max_envelope_bytes: int
    max_event_bytes: int
    max_attachment_bytes: int
    trust_forwarded_for: bool
    body_timeout_seconds: float = 60.0
    # Added to the time rate-limit windows read (tests move it; spool/clock_shift.py).
    quota_clock_shift: ClockShift = no_shift


def _json(body: object, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(
        orjson.dumps(body),
        status_code=status,
        media_type="application/json",
        headers={**CORS_HEADERS, **(headers or {})},
    )


def error_response(error: IngestError) -> Response:
    headers = {"X-Sentry-Error": error.detail}
    if isinstance(error, TooManyRequests):
        headers["Retry-After"] = str(error.retry_after)
        headers["X-Sentry-Rate-Limits"] = error.rate_limits
    return _json({"detail": error.detail}, error.status, headers)


async def read_capped(request: Request, limit: int, timeout: float) -> bytes:
    """The request body, refusing (without reading further) past ``limit`` bytes or when it
    has not fully arrived within ``timeout`` seconds (a trickling client holds no slot for long).
    """
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"request body exceeds {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    try:
        async with asyncio.timeout(timeout):
            async for chunk in request.stream():
                size += len(chunk)
                if size > limit:
                    raise PayloadTooLarge(f"request body exceeds {limit} bytes")
                chunks.append(chunk)
    except TimeoutError:
        raise RequestTimeout(f"request body not received within {timeout:g} s") from None
    return b"".join(chunks)


def _project_id(request: Request) -> int:
    raw = request.path_params["project_id"]
    if not raw.isdigit():
        raise BadRequest("invalid project id in path")
    return int(raw)


def _client_ip(request: Request, trust_forwarded_for: bool) -> str | None:
    if trust_forwarded_for:
        forwarded = request.headers.get("x-forwarded-for")
        if forwarded:
            return forwarded.split(",")[0].strip()[:64]
    return request.client.host if request.client else None


class IngestEndpoints:
    def __init__(
        self,
        config: IngestConfig,
        keys: KeyRegistry,
        spool: SpoolWriter,
        metrics: IngestMetrics,
        quota: ProjectQuota,
        spool_gauge: SpoolGauge,
        refused: RefusedOutcomes,
    ) -> None:
        self._refused = refused
        self._config = config
        self._quota = quota
        self._key_quota = KeyQuota()
        self._spool_gauge = spool_gauge
        self._metrics = metrics
        self._keys = keys
        self._spool = spool
        self._item_limit = item_limits(config.max_event_bytes, config.max_attachment_bytes)

    def routes(self) -> list[Route]:
        methods = ["POST", "OPTIONS"]
        return [
            Route("/api/{project_id}/envelope/", self.envelope, methods=methods),
            Route("/api/{project_id}/envelope", self.envelope, methods=methods),
            Route("/api/{project_id}/store/", self.store, methods=methods),
            Route("/api/{project_id}/store", self.store, methods=methods),
            *(
                Route(
                    f"/api/{{project_id}}/integration/otlp/v1/{name}{slash}",
                    self.otlp,
                    methods=methods,
                )
                for name in SIGNALS
                for slash in ("", "/")  # sentry-sdk's OTLPIntegration adds the slash
            ),
        ]

    async def envelope(self, request: Request) -> Response:
        return await self._guarded(request, self._accept_envelope)

    async def store(self, request: Request) -> Response:
        return await self._guarded(request, self._accept_store)

    async def otlp(self, request: Request) -> Response:
        return await self._guarded(request, self._accept_otlp)

    async def _guarded(
        self,
        request: Request,
        accept: Callable[[Request], Awaitable[dict[str, str] | Response]],
    ) -> Response:
        if request.method == "OPTIONS":
            return preflight()
        try:
            body = await accept(request)
        except IngestError as error:
            self._metrics.rejected_for(reason_of(error))
            return error_response(error)
        except SpoolUnavailable as error:
            self._metrics.rejected_for(reason_of(error))
            return _json(
                {"detail": "spool unavailable"}, 503, {"X-Sentry-Error": "spool unavailable"}
            )
        return body if isinstance(body, Response) else _json(body)

    async def _authenticate(self, request: Request, project_id: int, dsn: object) -> KeyInfo:
        creds = extract_credentials(request.headers, request.query_params, dsn, project_id)
        now = time.time()
        hit, info = self._keys.cached(creds.public_key, now)
        if not hit:
            info = await run_in_threadpool(self._keys.load, creds.public_key, now)
        return authorize(info, project_id)

    def _admit(self, key: KeyInfo, item_types: list[str], now: float) -> None:
        project_id = key.project_id
        now += self._config.quota_clock_shift()
        full = self._spool_gauge.refusal()
        categories = [item_category(t) for t in item_types]
        if full is not None:
            self._refused.add(project_id, categories, "spool_full")
            raise TooManyRequests(
                "spool full: processing is behind", full.retry_after, SpoolGauge.header(full)
            )
        quantity = limited_items(item_types)
        refusal = self._key_quota.admit(key.public_key, key.rate_limit, quantity, now)
        if refusal is not None:
            self._refused.add(project_id, categories, "key_quota")
            raise TooManyRequests(
                "event quota exceeded for this DSN key", refusal.retry_after, refusal.header()
            )
        refusal = self._quota.admit(project_id, quantity, now)
        if refusal is not None:
            self._refused.add(project_id, categories, "project_quota")
            raise TooManyRequests(
                "event quota exceeded for this project", refusal.retry_after, refusal.header()
            )

    async def _accept_envelope(self, request: Request) -> dict[str, str]:
        project_id = _project_id(request)
        received = time.time()
        body = await read_capped(
            request, self._config.max_body_bytes, self._config.body_timeout_seconds
        )
        data = decode_body(
            body, request.headers.get("content-encoding"), self._config.max_envelope_bytes
        )
        try:
            envelope = parse_envelope(data, self._item_limit)
        except ItemTooLarge as exc:
            raise PayloadTooLarge(str(exc)) from exc
        except EnvelopeError as exc:
            raise BadRequest(f"invalid envelope: {exc}") from exc
        key = await self._authenticate(request, project_id, envelope.headers.get("dsn"))
        if envelope.items and not any(item_is_valid(item) for item in envelope.items):
            raise BadRequest("no valid item in envelope")
        if any(item.type == INTERNAL_OUTCOMES for item in envelope.items):
            raise BadRequest(f"item type {INTERNAL_OUTCOMES!r} is reserved")
        self._admit(key, [item.type for item in envelope.items], received)
        client_ip = _client_ip(request, self._config.trust_forwarded_for)
        spooled = spooled_form(body, request.headers.get("content-encoding"), data)
        await self._spool.append(NewEntry(project_id, received, client_ip, spooled))
        self._metrics.accepted(len(data))
        event_id = envelope.event_id
        return {"id": event_id} if event_id else {}

    async def _accept_store(self, request: Request) -> dict[str, str]:
        project_id = _project_id(request)
        received = time.time()
        key = await self._authenticate(request, project_id, None)
        body = await read_capped(
            request, self._config.max_body_bytes, self._config.body_timeout_seconds
        )
        data = decode_body(
            body, request.headers.get("content-encoding"), self._config.max_event_bytes
        )
        event = _decode_store_body(data, self._config.max_event_bytes)
        self._admit(
            key, ["transaction" if event.get("type") == "transaction" else "event"], received
        )
        event_id = normalize_event_id(event.get("event_id")) or uuid.uuid4().hex
        await self._spool.append(
            NewEntry(
                project_id,
                received,
                _client_ip(request, self._config.trust_forwarded_for),
                single_event_envelope(event, event_id),
            )
        )
        self._metrics.accepted(len(data))
        return {"id": event_id}

    async def _accept_otlp(self, request: Request) -> Response:
        """OTLP/HTTP traces or logs (docs/protocol.md, "OTLP"), spooled as one internal item."""
        project_id = _project_id(request)
        signal = SIGNALS[request.url.path.rstrip("/").rpartition("/")[2]]  # routes: SIGNALS' keys
        received = time.time()
        key = await self._authenticate(request, project_id, None)
        media = media_type(request.headers.get("content-type"))
        body = await read_capped(
            request, self._config.max_body_bytes, self._config.body_timeout_seconds
        )
        limit = min(self._config.max_envelope_bytes, self._item_limit(signal.item_type))
        data = decode_body(body, request.headers.get("content-encoding"), limit)
        check_body(signal, media, data)
        self._admit(key, [signal.item_type], received)
        client_ip = _client_ip(request, self._config.trust_forwarded_for)
        await self._spool.append(
            NewEntry(project_id, received, client_ip, spooled_envelope(signal, media, data))
        )
        self._metrics.accepted(len(data))
        return Response(success_body(signal, media), media_type=media, headers=CORS_HEADERS)


def _decode_store_body(data: bytes, limit: int) -> dict[str, object]:
    """A legacy /store/ body: JSON, or base64(zlib(JSON)) as old raven clients send."""
    text = data.strip()
    if text[:1] != b"{":
        try:
            compressed = base64.b64decode(text, validate=True)
            decoder = zlib.decompressobj()
            text = decoder.decompress(compressed, limit + 1)
        except (binascii.Error, zlib.error) as exc:
            raise BadRequest("store body is neither JSON nor base64(zlib(JSON))") from exc
        if len(text) > limit:
            raise PayloadTooLarge(f"decompressed body exceeds {limit} bytes")
    try:
        event = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise BadRequest(f"invalid JSON: {exc}") from exc
    if not isinstance(event, dict):
        raise BadRequest("event is not a JSON object")
    return event


def preflight() -> Response:
    return Response(
        status_code=200,
        headers={
            **CORS_HEADERS,
            "Access-Control-Allow-Methods": "POST, OPTIONS",
            "Access-Control-Allow-Headers": CORS_ALLOW_HEADERS,
            "Access-Control-Max-Age": "3600",
        },
    )

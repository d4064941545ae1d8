"""The HTTP edge for SDKs: /api/{project_id}/envelope/, /store/ and OTLP/HTTP's
/integration/otlp/v1/traces and /logs (vedette.ingest.otlp).

Plain ASGI (issue 18): ``IngestFirst`` hands these paths to ``IngestEndpoints`` before
Starlette's middleware and router see them, and the endpoints read the ASGI scope and send their
answer themselves. A request pays for reading, decoding, parsing, authenticating and spooling
its body, not for a walk of the route table or Request and Response objects. Every other path
goes to Starlette unchanged.

Handlers stay thin: read (capped) -> decode (capped) -> parse -> authenticate -> spool. The 200
goes out only after the spool has committed the envelope.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import functools
import time
import uuid
import zlib
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from urllib.parse import parse_qsl

import orjson
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.routing import BaseRoute
from starlette.types import Lifespan, Receive, Scope, Send

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
from vedette.ingest.otlp import (
    SIGNALS,
    Signal,
    check_body,
    media_type,
    spooled_envelope,
    success_body,
)
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
# Response headers as ASGI sends them: lower-case names, latin-1 bytes.
_CORS = [
    (b"access-control-allow-origin", b"*"),
    (b"access-control-expose-headers", b"x-sentry-error, x-sentry-rate-limits, retry-after"),
]
_JSON = [*_CORS, (b"content-type", b"application/json")]
# The request headers ingest reads. Of a repeated one the first counts (as Starlette's
# ``Headers.get``, which these endpoints used before).
_READ_HEADERS = {
    name.encode(): name
    for name in (
        "content-length", "content-encoding", "content-type", "x-sentry-auth", "authorization",
        "user-agent", "x-forwarded-for",
    )
}  # fmt: skip


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


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    body: bytes
    headers: list[tuple[bytes, bytes]]  # all but Content-Length

    async def send(self, send: Send) -> None:
        headers = [*self.headers, (b"content-length", b"%d" % len(self.body))]
        await send({"type": "http.response.start", "status": self.status, "headers": headers})
        await send({"type": "http.response.body", "body": self.body})


def json_answer(body: object) -> Answer:
    return Answer(200, orjson.dumps(body), _JSON)


def header_value(text: str) -> bytes:
    """``text`` as a header value: an error's detail can quote what the client sent (an item's
    type), so anything but printable ASCII is escaped, never a 500 or a forged header line."""
    return "".join(c if " " <= c <= "~" else ascii(c)[1:-1] for c in text).encode("ascii")


def error_answer(error: IngestError) -> Answer:
    headers = [*_JSON, (b"x-sentry-error", header_value(error.detail))]
    if isinstance(error, TooManyRequests):
        headers.append((b"retry-after", str(error.retry_after).encode()))
        headers.append((b"x-sentry-rate-limits", error.rate_limits.encode("latin-1")))
    return Answer(error.status, orjson.dumps({"detail": error.detail}), headers)


PREFLIGHT = Answer(
    200,
    b"",
    [
        *_CORS,
        (b"access-control-allow-methods", b"POST, OPTIONS"),
        (b"access-control-allow-headers", CORS_ALLOW_HEADERS.encode()),
        (b"access-control-max-age", b"3600"),
    ],
)
# What Starlette answered other methods on these paths.
METHOD_NOT_ALLOWED = Answer(
    405,
    b"Method Not Allowed",
    [(b"allow", b"POST, OPTIONS"), (b"content-type", b"text/plain; charset=utf-8")],
)
SPOOL_UNAVAILABLE = Answer(
    503,
    orjson.dumps({"detail": "spool unavailable"}),
    [*_JSON, (b"x-sentry-error", b"spool unavailable")],
)


class ClientDisconnected(Exception):
    """The client went away before its body arrived: there is no one to answer (counted at
    /metrics as ``client_disconnected``; Starlette's request stream raised its own exception,
    which uvicorn logged as an error of the application)."""


def _is_number(text: str) -> bool:
    return text.isascii() and text.isdigit()  # str.isdigit alone takes "²", which int() refuses


@dataclass(slots=True)  # not frozen: a frozen dataclass's __init__ costs a microsecond more
class IngestRequest:
    """What the endpoints read of an ASGI request, taken from its scope once."""

    project_id: int
    headers: dict[str, str]  # _READ_HEADERS only
    query_string: bytes
    client: tuple[str, int] | None
    receive: Receive

    @classmethod
    def of(cls, project: str, scope: Scope, receive: Receive) -> IngestRequest:
        if not _is_number(project):
            raise BadRequest("invalid project id in path")
        return cls(
            int(project), read_headers(scope["headers"]), scope["query_string"],
            scope.get("client"), receive,
        )  # fmt: skip

    def query(self) -> dict[str, str]:
        """The query parameters, the last of repeated ones (as Starlette's ``QueryParams``)."""
        if not self.query_string:
            return {}
        return dict(parse_qsl(self.query_string.decode("latin-1"), keep_blank_values=True))


def read_headers(raw: Iterable[tuple[bytes, bytes]]) -> dict[str, str]:
    found: dict[str, str] = {}
    for name, value in raw:
        key = _READ_HEADERS.get(name)
        if key is not None and key not in found:
            found[key] = value.decode("latin-1")
    return found


async def read_capped(request: IngestRequest, limit: int, timeout: float) -> bytes:
    """The request body, refusing (without reading further) past ``limit`` bytes or when it
    has not fully arrived within ``timeout`` seconds (a trickling client holds no slot for long).
    """
    declared = request.headers.get("content-length")
    if declared is not None and _is_number(declared) and int(declared) > limit:
        raise PayloadTooLarge(f"request body exceeds {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    more = True
    try:
        async with asyncio.timeout(timeout):
            while more:
                message = await request.receive()
                if message["type"] != "http.request":
                    raise ClientDisconnected
                chunk = message.get("body", b"")
                size += len(chunk)
                if size > limit:
                    raise PayloadTooLarge(f"request body exceeds {limit} bytes")
                chunks.append(chunk)
                more = message.get("more_body", False)
    except TimeoutError:
        raise RequestTimeout(f"request body not received within {timeout:g} s") from None
    return b"".join(chunks)  # one chunk (the usual case): that very object, not a copy


Accept = Callable[[IngestRequest], Awaitable[Answer]]


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
        # The path after /api/{project_id}/ -> its endpoint, with and without the final slash
        # (sentry-sdk's OTLPIntegration adds one).
        endpoints: list[tuple[str, Accept]] = [
            ("envelope", self._accept_envelope),
            ("store", self._accept_store),
            *(
                (f"integration/otlp/v1/{name}", functools.partial(self._accept_otlp, signal))
                for name, signal in SIGNALS.items()
            ),
        ]
        self._endpoints = {
            path + slash: accept for path, accept in endpoints for slash in ("", "/")
        }

    def route(self, path: str) -> tuple[Accept, str] | None:
        """The endpoint of an ingest path and the project id as the path spells it, else None
        (``/api/{project_id}/envelope/`` and the others, ``{project_id}`` any non-empty text
        without a slash, as a Starlette route matched it)."""
        if not path.startswith("/api/"):
            return None
        project, slash, rest = path[5:].partition("/")
        accept = self._endpoints.get(rest) if slash and project else None
        return None if accept is None else (accept, project)

    async def serve(
        self, route: tuple[Accept, str], scope: Scope, receive: Receive, send: Send
    ) -> None:
        accept, project = route
        method = scope["method"]
        if method == "OPTIONS":
            answer = PREFLIGHT
        elif method != "POST":
            answer = METHOD_NOT_ALLOWED
        else:
            try:
                answer = await accept(IngestRequest.of(project, scope, receive))
            except IngestError as error:
                self._metrics.rejected_for(reason_of(error))
                answer = error_answer(error)
            except SpoolUnavailable as error:
                self._metrics.rejected_for(reason_of(error))
                answer = SPOOL_UNAVAILABLE
            except ClientDisconnected as gone:
                self._metrics.rejected_for(reason_of(gone))
                return
        await answer.send(send)

    async def _authenticate(self, request: IngestRequest, dsn: object, now: float) -> KeyInfo:
        creds = extract_credentials(request.headers, request.query(), dsn, request.project_id)
        hit, info = self._keys.cached(creds.public_key, now)
        if not hit:
            info = await run_in_threadpool(self._keys.load, creds.public_key, now)
        return authorize(info, request.project_id)

    def _admit(self, key: KeyInfo, item_types: list[str], now: float) -> None:
        project_id = key.project_id
        now += self._config.quota_clock_shift()
        full = self._spool_gauge.refusal()
        if full is not None:
            self._refused.add(project_id, map(item_category, item_types), "spool_full")
            raise TooManyRequests(
                "spool full: processing is behind", full.retry_after, SpoolGauge.header(full)
            )
        quantity = limited_items(item_types)
        refusal = self._key_quota.admit(key.public_key, key.rate_limit, quantity, now)
        if refusal is not None:
            self._refused.add(project_id, map(item_category, item_types), "key_quota")
            raise TooManyRequests(
                "event quota exceeded for this DSN key", refusal.retry_after, refusal.header()
            )
        refusal = self._quota.admit(project_id, quantity, now)
        if refusal is not None:
            self._refused.add(project_id, map(item_category, item_types), "project_quota")
            raise TooManyRequests(
                "event quota exceeded for this project", refusal.retry_after, refusal.header()
            )

    def _read(self, request: IngestRequest) -> Awaitable[bytes]:
        return read_capped(request, self._config.max_body_bytes, self._config.body_timeout_seconds)

    def _client_ip(self, request: IngestRequest) -> str | None:
        if self._config.trust_forwarded_for:
            forwarded = request.headers.get("x-forwarded-for")
            if forwarded:
                return forwarded.split(",")[0].strip()[:64]
        return request.client[0] if request.client else None

    async def _accept_envelope(self, request: IngestRequest) -> Answer:
        received = time.time()
        body = await self._read(request)
        encoding = request.headers.get("content-encoding")
        data = decode_body(body, encoding, self._config.max_envelope_bytes)
        try:
            envelope = parse_envelope(data, self._item_limit)
        except ItemTooLarge as exc:
            raise PayloadTooLarge(str(exc)) from exc
        except EnvelopeError as exc:
            raise BadRequest(f"invalid envelope: {exc}") from exc
        key = await self._authenticate(request, envelope.headers.get("dsn"), received)
        items = envelope.items
        if items and not any(item_is_valid(item) for item in items):
            raise BadRequest("no valid item in envelope")
        item_types = [item.type for item in items]
        if INTERNAL_OUTCOMES in item_types:
            raise BadRequest(f"item type {INTERNAL_OUTCOMES!r} is reserved")
        self._admit(key, item_types, received)
        await self._spool_accepted(request, received, spooled_form(body, encoding, data), data)
        event_id = envelope.event_id
        return json_answer({"id": event_id} if event_id else {})

    async def _spool_accepted(
        self, request: IngestRequest, received: float, spooled: bytes, data: bytes
    ) -> None:
        """Commit what was accepted to the spool (the 200 waits for this), then count it."""
        entry = NewEntry(request.project_id, received, self._client_ip(request), spooled)
        await self._spool.append(entry)
        self._spool_gauge.appended()
        self._metrics.accepted(len(data))

    async def _accept_store(self, request: IngestRequest) -> Answer:
        received = time.time()
        key = await self._authenticate(request, None, received)
        body = await self._read(request)
        limit = self._config.max_event_bytes
        data = decode_body(body, request.headers.get("content-encoding"), limit)
        event = _decode_store_body(data, limit)
        self._admit(
            key, ["transaction" if event.get("type") == "transaction" else "event"], received
        )
        event_id = normalize_event_id(event.get("event_id")) or uuid.uuid4().hex
        await self._spool_accepted(request, received, single_event_envelope(event, event_id), data)
        return json_answer({"id": event_id})

    async def _accept_otlp(self, signal: Signal, request: IngestRequest) -> Answer:
        """OTLP/HTTP traces or logs (docs/protocol.md, "OTLP"), spooled as one internal item."""
        received = time.time()
        key = await self._authenticate(request, None, received)
        media = media_type(request.headers.get("content-type"))
        body = await self._read(request)
        limit = min(self._config.max_envelope_bytes, self._item_limit(signal.item_type))
        data = decode_body(body, request.headers.get("content-encoding"), limit)
        check_body(signal, media, data)
        self._admit(key, [signal.item_type], received)
        await self._spool_accepted(request, received, spooled_envelope(signal, media, data), data)
        return Answer(200, success_body(signal, media), [*_CORS, (b"content-type", media.encode())])


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


def route_path(scope: Scope) -> str:
    """The path a route matches: without the ``root_path`` a proxy's prefix put in front (as
    Starlette's routing reads it)."""
    path: str = scope["path"]
    root: str = scope.get("root_path", "")
    if root and path.startswith(root) and path[len(root) : len(root) + 1] == "/":
        return path[len(root) :]
    return path


class IngestFirst(Starlette):
    """The application: requests to the ingest paths go straight to ``IngestEndpoints``; all
    else (other paths, the lifespan) through Starlette's middleware and router."""

    def __init__(
        self,
        ingest: IngestEndpoints,
        routes: Sequence[BaseRoute],
        lifespan: Lifespan[IngestFirst],
    ) -> None:
        super().__init__(routes=routes, lifespan=lifespan)
        self._ingest = ingest

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            route = self._ingest.route(route_path(scope))
            if route is not None:
                await self._ingest.serve(route, scope, receive, send)
                return
        await super().__call__(scope, receive, send)

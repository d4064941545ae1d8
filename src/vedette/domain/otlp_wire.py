"""How many records an OTLP/HTTP protobuf request holds, read from its wire format alone.

Decoding a request builds every message at once: eleven megabytes of empty spans are five
million messages and a gigabyte. Ingest counts first, skipping every payload by its length, and
stops as soon as the count passes the limit, so the cost is bounded by the limit, not the body.

Both signals nest the same way (opentelemetry-proto): the request's field 1 holds resources
(``resource_spans``, ``resource_logs``), a resource's field 2 its scopes (``scope_spans``,
``scope_logs``), a scope's field 2 its records (``spans``, ``log_records``). See
https://protobuf.dev/programming-guides/encoding/ for the wire format.
"""

from __future__ import annotations

# Records (spans or log records) of one request: SDKs send 512 at most by default, and the
# worker keeps 1,000 of a request (the rest are counted invalid).
MAX_OTLP_RECORDS = 10_000

_VARINT, _I64, _LEN, _I32 = 0, 1, 2, 5
# (field number that leads one level down) at each level: request -> resource -> scope -> record
_PATH = (1, 2, 2)


class MalformedProtobuf(ValueError):
    pass


def count_records(body: bytes, limit: int) -> int:
    """The records of the request, or ``limit + 1`` once there are more than ``limit`` (or
    more than ``limit`` resources and scopes on the way, empty ones included)."""
    counts = [0, 0]  # records, nodes visited
    _walk(memoryview(body), 0, counts, limit)
    return limit + 1 if counts[1] > limit else min(counts[0], limit + 1)


def _walk(data: memoryview, depth: int, counts: list[int], limit: int) -> None:
    at, end = 0, len(data)
    while at < end:
        if counts[0] > limit or counts[1] > limit:
            return
        tag, at = _varint(data, at)
        field, wire = tag >> 3, tag & 7
        if wire == _VARINT:
            _, at = _varint(data, at)
        elif wire == _I64:
            at += 8
        elif wire == _I32:
            at += 4
        elif wire == _LEN:
            length, at = _varint(data, at)
            if at + length > end:
                raise MalformedProtobuf("a field runs past the end of its message")
            if field == _PATH[depth]:
                if depth == len(_PATH) - 1:
                    counts[0] += 1
                else:
                    counts[1] += 1
                    _walk(data[at : at + length], depth + 1, counts, limit)
            at += length
        else:
            raise MalformedProtobuf(f"wire type {wire} where OTLP has none")
    if at > end:
        raise MalformedProtobuf("a field runs past the end of its message")


def _varint(data: memoryview, at: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if at >= len(data) or shift > 63:
            raise MalformedProtobuf("a truncated or overlong varint")
        byte = data[at]
        at += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, at
        shift += 7

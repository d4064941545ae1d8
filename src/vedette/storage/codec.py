"""How stored event JSON is packed: orjson, then zstd (events are mostly repetitive text)."""

from __future__ import annotations

import threading
from typing import Any

import orjson
import zstandard

_LEVEL = 3


class _Contexts(threading.local):
    """One compression and one decompression context per thread: a context is not safe to
    share between threads, and making one costs about as much as compressing a small event
    (9 to 12 µs against 14 µs for 5 to 8 KB of JSON)."""

    def __init__(self) -> None:
        self.compressor = zstandard.ZstdCompressor(level=_LEVEL)
        self.decompressor = zstandard.ZstdDecompressor()


_contexts = _Contexts()


def pack(event: dict[str, Any]) -> bytes:
    return _contexts.compressor.compress(orjson.dumps(event))


def unpack(data: bytes) -> dict[str, Any]:
    value = orjson.loads(_contexts.decompressor.decompress(data))
    if not isinstance(value, dict):
        raise ValueError("stored event is not a JSON object")
    return value

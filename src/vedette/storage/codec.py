"""How stored event JSON is packed: orjson, then zstd (events are mostly repetitive text)."""

from __future__ import annotations

from typing import Any

import orjson
import zstandard

_LEVEL = 3


def pack(event: dict[str, Any]) -> bytes:
    return zstandard.ZstdCompressor(level=_LEVEL).compress(orjson.dumps(event))


def unpack(data: bytes) -> dict[str, Any]:
    value = orjson.loads(zstandard.ZstdDecompressor().decompress(data))
    if not isinstance(value, dict):
        raise ValueError("stored event is not a JSON object")
    return value

"""Bounded decoding of request bodies: the compressed cap, the decoder, the decompressed cap.

Every decoder is asked for at most ``limit + 1`` output bytes, so a decompression bomb costs us
at most ``limit`` bytes of memory before it is answered with 413.
"""

from __future__ import annotations

import io
import zlib

import brotli
import zstandard

from vedette.ingest.errors import BadRequest, PayloadTooLarge, UnsupportedEncoding

# Relay treats these as "no encoding" (sentry-ruby 5 sends "", old Android "UTF-8").
_IDENTITY = {"", "identity", "utf-8"}


def _too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(f"decompressed body exceeds {limit} bytes")


_GZIP_MAGIC = b"\x1f\x8b"


def _zlib(body: bytes, wbits: int, limit: int) -> bytes:
    """A zlib or gzip body; gzip's members one after the other (RFC 1952 lets a file hold
    several, and HTTP clients decode them all). Anything else after the end is refused: a
    200 for a body part of which was never read would drop that part silently."""
    out = bytearray()
    rest = body
    while True:
        decoder = zlib.decompressobj(wbits)
        try:
            out += decoder.decompress(rest, limit + 1 - len(out))
        except zlib.error as exc:
            raise BadRequest(f"corrupt compressed body: {exc}") from exc
        if len(out) > limit:
            raise _too_large(limit)
        if not decoder.eof:
            raise BadRequest("truncated compressed body")
        rest = decoder.unused_data
        if not rest:
            return bytes(out)
        if wbits <= zlib.MAX_WBITS or not rest.startswith(_GZIP_MAGIC):
            raise BadRequest("data after the end of the compressed body")


def _deflate(body: bytes, limit: int) -> bytes:
    # HTTP "deflate" is zlib-wrapped (RFC 1950); some clients send a raw stream anyway.
    try:
        return _zlib(body, zlib.MAX_WBITS, limit)
    except BadRequest:
        return _zlib(body, -zlib.MAX_WBITS, limit)


def _brotli(body: bytes, limit: int) -> bytes:
    decoder = brotli.Decompressor()
    try:
        out = decoder.process(body, output_buffer_limit=limit + 1)
    except brotli.error as exc:
        raise BadRequest(f"corrupt brotli body: {exc}") from exc
    if len(out) > limit:
        raise _too_large(limit)
    if not decoder.is_finished():
        raise BadRequest("truncated brotli body")
    return bytes(out)


def _zstd(body: bytes, limit: int) -> bytes:
    """Every frame of a zstd body, bounded as it is read; then each frame must be whole (the
    bounded reader returns a truncated frame's complete blocks without a word)."""
    decompressor = zstandard.ZstdDecompressor()
    reader = decompressor.stream_reader(io.BytesIO(body), read_across_frames=True)
    try:
        out = reader.read(limit + 1)
        if len(out) > limit:
            raise _too_large(limit)
        _check_whole_frames(decompressor, body)
    except zstandard.ZstdError as exc:
        raise BadRequest(f"corrupt zstd body: {exc}") from exc
    return bytes(out)


def _check_whole_frames(decompressor: zstandard.ZstdDecompressor, body: bytes) -> None:
    """Decoding again without a bound is safe here: the bounded read above decoded all but
    at most a truncated last block, which holds 128 KB at most."""
    rest = body
    while rest:
        frame = decompressor.decompressobj()
        frame.decompress(rest)
        if not frame.eof:
            raise BadRequest("truncated zstd body")
        rest = frame.unused_data


def decode_body(body: bytes, content_encoding: str | None, limit: int) -> bytes:
    encoding = (content_encoding or "").strip().lower()
    if encoding in _IDENTITY:
        if len(body) > limit:
            raise _too_large(limit)
        return body
    if encoding in ("gzip", "x-gzip"):
        return _zlib(body, 16 + zlib.MAX_WBITS, limit)
    if encoding == "deflate":
        return _deflate(body, limit)
    if encoding == "br":
        return _brotli(body, limit)
    if encoding == "zstd":
        return _zstd(body, limit)
    raise UnsupportedEncoding(f"unsupported content encoding {encoding!r}")

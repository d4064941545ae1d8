"""What the spool keeps of an envelope: the gzip body as the SDK sent it, or the envelope.

SDKs send envelopes gzip-compressed (the Python SDK: 66 KB of JSON in 2.5 KB). Ingest has to
decompress to check the envelope, but committing the 25-times-smaller body it received makes
the spool's fsynced write that every 200 waits for much cheaper (a group commit of eight such
envelopes: 3.7 ms instead of 12.9 ms on this machine's disk, docs/benchmarks.md). The worker
inflates it again, exactly as ingest did. No marker is needed: a gzip member starts with the
bytes 1f 8b, and an envelope, which ingest has parsed, starts with its JSON header.
"""

from __future__ import annotations

import zlib

_GZIP_MAGIC = b"\x1f\x8b"


def spooled_form(body: bytes, content_encoding: str | None, envelope: bytes) -> bytes:
    """The bytes to spool for ``envelope``, decoded by ingest from ``body``."""
    encoding = (content_encoding or "").strip().lower()
    if encoding in ("gzip", "x-gzip") and body[:2] == _GZIP_MAGIC:
        return body
    return envelope


def envelope_of(payload: bytes) -> bytes:
    """The envelope a spooled payload stands for (what ingest decoded and checked)."""
    if payload[:2] != _GZIP_MAGIC:
        return payload
    # Every gzip member, as ingest's decoder read them (ingest checked the whole and its size).
    # Before ingest read past the first member, it ignored whatever followed: an entry spooled
    # then is read as it was checked, up to where the members stop.
    envelope = bytearray()
    rest = payload
    while rest[:2] == _GZIP_MAGIC:
        decoder = zlib.decompressobj(16 + zlib.MAX_WBITS)
        try:
            member = decoder.decompress(rest)
        except zlib.error:
            if envelope:
                break
            raise
        if not decoder.eof and envelope:
            break
        envelope += member
        rest = decoder.unused_data
    return bytes(envelope)

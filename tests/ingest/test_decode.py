"""Bounded decoding: every encoding SDKs use, and bombs stopped by bytes, not by time."""

from __future__ import annotations

import gzip
import zlib

import brotli
import pytest
import zstandard

from vedette.ingest.decode import decode_body
from vedette.ingest.errors import BadRequest, PayloadTooLarge, UnsupportedEncoding

PAYLOAD = b'{"event_id":"9ec79c33ec9942ab8353589fcb2e04dc"}\n' * 50

ENCODERS = {
    "gzip": gzip.compress,
    "x-gzip": gzip.compress,
    "deflate": zlib.compress,
    "br": brotli.compress,
    "zstd": lambda data: zstandard.ZstdCompressor().compress(data),
}


@pytest.mark.parametrize("encoding", sorted(ENCODERS))
def test_round_trip(encoding: str) -> None:
    assert decode_body(ENCODERS[encoding](PAYLOAD), encoding, 10**6) == PAYLOAD


@pytest.mark.parametrize("encoding", [None, "", "identity", "UTF-8", "Identity"])
def test_identity(encoding: str | None) -> None:
    assert decode_body(PAYLOAD, encoding, 10**6) == PAYLOAD


def test_raw_deflate_is_tolerated() -> None:
    raw = zlib.compressobj(wbits=-15)
    body = raw.compress(PAYLOAD) + raw.flush()
    assert decode_body(body, "deflate", 10**6) == PAYLOAD


BOMB_SIZE = 64 * 1024 * 1024  # 64 MiB of zeros compresses to a few tens of KiB


@pytest.fixture(scope="module")
def bombs() -> dict[str, bytes]:
    zeros = bytes(BOMB_SIZE)
    return {
        "gzip": gzip.compress(zeros, 6),
        "deflate": zlib.compress(zeros, 6),
        "br": brotli.compress(zeros, quality=1),
        "zstd": zstandard.ZstdCompressor(level=1).compress(zeros),
    }


@pytest.mark.parametrize("encoding", ["gzip", "deflate", "br", "zstd"])
def test_bombs_are_stopped_at_the_cap(bombs: dict[str, bytes], encoding: str) -> None:
    body = bombs[encoding]
    assert len(body) < BOMB_SIZE // 100
    with pytest.raises(PayloadTooLarge):
        decode_body(body, encoding, 1024 * 1024)


@pytest.mark.parametrize("encoding", ["gzip", "deflate", "br", "zstd"])
def test_corrupt_streams_are_bad_requests(encoding: str) -> None:
    with pytest.raises(BadRequest):
        decode_body(b"\x00garbage\xff" * 10, encoding, 10**6)


@pytest.mark.parametrize("encoding", ["gzip", "zstd"])
def test_truncated_streams_are_bad_requests(encoding: str) -> None:
    with pytest.raises(BadRequest):
        decode_body(ENCODERS[encoding](PAYLOAD)[:-20], encoding, 10**6)


@pytest.mark.parametrize("encoding", ["gzip", "zstd"])
def test_gzip_members_and_zstd_frames_are_read_one_after_the_other(encoding: str) -> None:
    head, tail = PAYLOAD[:100], PAYLOAD[100:]
    body = ENCODERS[encoding](head) + ENCODERS[encoding](tail)
    assert decode_body(body, encoding, 10**6) == PAYLOAD


def test_the_cap_is_on_all_members_together() -> None:
    with pytest.raises(PayloadTooLarge):
        decode_body(gzip.compress(PAYLOAD) * 3, "gzip", len(PAYLOAD) * 2)


@pytest.mark.parametrize("encoding", ["gzip", "deflate", "zstd"])
def test_bytes_after_the_compressed_body_are_bad_requests(encoding: str) -> None:
    with pytest.raises(BadRequest):
        decode_body(ENCODERS[encoding](PAYLOAD) + b"and then some", encoding, 10**6)


def test_unknown_encoding() -> None:
    with pytest.raises(UnsupportedEncoding):
        decode_body(PAYLOAD, "compress", 10**6)


def test_identity_over_the_cap() -> None:
    with pytest.raises(PayloadTooLarge):
        decode_body(b"x" * 101, None, 100)

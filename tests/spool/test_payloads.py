"""The spool keeps gzip bodies as received; the worker gets back what ingest decoded."""

from __future__ import annotations

import gzip
import zlib

import pytest

from vedette.spool.payloads import envelope_of, spooled_form

ENVELOPE = b'{"event_id":"9ec79c33ec9942ab8353589fcb2e04dc"}\n{"type":"event"}\n{"message":"x"}\n'


@pytest.mark.parametrize("encoding", ["gzip", "GZIP ", "x-gzip"])
def test_gzip_bodies_are_spooled_as_received(encoding: str) -> None:
    body = gzip.compress(ENVELOPE)
    spooled = spooled_form(body, encoding, ENVELOPE)
    assert spooled == body
    assert envelope_of(spooled) == ENVELOPE


@pytest.mark.parametrize(
    ("encoding", "body"),
    [
        (None, ENVELOPE),
        ("deflate", zlib.compress(ENVELOPE)),
        ("br", b"not really brotli"),
        ("gzip", b"declared gzip, but not a gzip member"),
    ],
)
def test_other_bodies_are_spooled_decoded(encoding: str | None, body: bytes) -> None:
    spooled = spooled_form(body, encoding, ENVELOPE)
    assert spooled == ENVELOPE
    assert envelope_of(spooled) == ENVELOPE


def test_every_gzip_member_is_read_as_at_ingest() -> None:
    head, tail = ENVELOPE[:20], ENVELOPE[20:]
    body = gzip.compress(head) + gzip.compress(tail)
    assert envelope_of(spooled_form(body, "gzip", ENVELOPE)) == ENVELOPE


@pytest.mark.parametrize(
    "after", [b"trailing garbage", gzip.compress(b"x")[:-6], b"\x1f\x8b not a member"]
)
def test_an_entry_spooled_when_ingest_read_one_member_is_read_as_it_was_checked(
    after: bytes,
) -> None:
    """Before ingest refused bytes after the members, it ignored them: such entries may wait
    in the spool across the upgrade."""
    assert envelope_of(gzip.compress(ENVELOPE) + after) == ENVELOPE

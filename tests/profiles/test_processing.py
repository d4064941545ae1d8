"""Validation and normalisation of ``profile`` and ``profile_chunk`` items, table-driven."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from tests.profiles.support import (
    CHUNK_ID,
    FRAMES,
    PROFILE_ID,
    PROFILER_ID,
    RECEIVED,
    TRACE_ID,
    TRANSACTION_ID,
    chunk,
    envelope_of,
    sampled,
)

from vedette.domain.envelope import parse_envelope
from vedette.domain.processed import Outcome
from vedette.domain.profiles import PROFILE_CHUNK, TRANSACTION_PROFILE
from vedette.processing import profiles
from vedette.processing.pipeline import ProcessingConfig, process_envelope
from vedette.processing.profiles import InvalidProfile, profile_chunk, transaction_profile


def with_profile(payload: dict[str, Any], **changes: Any) -> dict[str, Any]:
    payload["profile"].update(changes)
    return payload


def test_a_transaction_profile_is_normalised() -> None:
    record = transaction_profile(sampled(), RECEIVED)
    assert record.kind == TRANSACTION_PROFILE
    assert (record.profile_id, record.transaction_id, record.trace_id) == (
        PROFILE_ID, TRANSACTION_ID, TRACE_ID,
    )  # fmt: skip
    assert record.transaction_name == "GET /orders"
    assert record.start == RECEIVED - 10
    assert record.duration == pytest.approx(0.05)  # the transaction's relative end
    profile = record.profile
    assert [(s.elapsed_ns, s.thread_id) for s in profile.samples] == [
        (10_000_000, "7"), (10_000_000, "8"), (20_000_000, "7"),
    ]  # fmt: skip
    assert profile.active_thread_id == "7"
    assert profile.thread_names == {"7": "MainThread"}  # threads without samples are dropped
    assert profile.frames[2].abs_path == "/app/main.py" and not profile.frames[2].in_app


def test_a_chunk_is_normalised_to_offsets_from_its_first_sample() -> None:
    record = profile_chunk(chunk(release="shop@1.0"), RECEIVED)
    assert record.kind == PROFILE_CHUNK
    assert (record.profile_id, record.profiler_id) == (CHUNK_ID, PROFILER_ID)
    assert record.start == RECEIVED - 1.0
    assert record.duration == pytest.approx(0.01)
    assert [s.elapsed_ns for s in record.profile.samples] == [0, pytest.approx(10_000_000, 1)]
    assert record.release == "shop@1.0" and record.transaction_name is None


def test_the_transaction_object_of_the_sample_format_is_read_too() -> None:
    transaction = {"id": TRANSACTION_ID, "name": "checkout", "trace_id": TRACE_ID}
    record = transaction_profile(sampled(transactions=None, transaction=transaction), RECEIVED)
    assert record.transaction_name == "checkout"


def test_long_strings_are_trimmed_not_refused() -> None:
    frames = [{**FRAMES[0], "function": "f" * 5000}, FRAMES[1], FRAMES[2]]
    record = transaction_profile(with_profile(sampled(), frames=frames), RECEIVED)
    assert len(record.profile.frames[0].function) == profiles.MAX_FUNCTION_CHARS


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (sampled(event_id="nope"), "invalid_profile_id"),
        (sampled(version="2"), "unsupported_profile_version"),
        (sampled(profile=None), "missing_profile"),
        (with_profile(sampled(), samples=[]), "empty_profile"),
        (with_profile(sampled(), samples="x"), "missing_samples"),
        (with_profile(sampled(), stacks=None), "missing_stacks"),
        (with_profile(sampled(), frames=[FRAMES[0], "x"]), "invalid_frame"),
        (with_profile(sampled(), stacks=[[0, 5]]), "invalid_stack"),
        (with_profile(sampled(), stacks=[[0] * 2000]), "invalid_stack"),
        (with_profile(sampled(), stacks=[[True]]), "invalid_stack"),
        (
            with_profile(
                sampled(), samples=[{"elapsed_since_start_ns": 0, "thread_id": "1", "stack_id": 9}]
            ),
            "invalid_sample",
        ),
        (
            with_profile(
                sampled(), samples=[{"elapsed_since_start_ns": -5, "thread_id": "1", "stack_id": 0}]
            ),
            "invalid_sample",
        ),
        (
            with_profile(sampled(), samples=[{"elapsed_since_start_ns": 0, "stack_id": 0}]),
            "invalid_sample",
        ),
        (
            with_profile(
                sampled(),
                samples=[{"elapsed_since_start_ns": 0, "thread_id": "1", "stack_id": 0}]
                * (profiles.MAX_SAMPLES + 1),
            ),
            "too_many_samples",
        ),
        (
            with_profile(sampled(), frames=[FRAMES[0]] * (profiles.MAX_FRAMES + 1)),
            "too_many_frames",
        ),
    ],
)
def test_invalid_transaction_profiles_name_their_reason(
    payload: dict[str, Any], reason: str
) -> None:
    with pytest.raises(InvalidProfile, match=f"^{reason}$"):
        transaction_profile(payload, RECEIVED)


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (chunk(chunk_id=None), "invalid_chunk_id"),
        (chunk(profiler_id="x"), "invalid_profiler_id"),
        (chunk(version="1"), "unsupported_profile_version"),
        (
            with_profile(chunk(), samples=[{"timestamp": "soon", "thread_id": "7", "stack_id": 0}]),
            "invalid_sample",
        ),
        (
            with_profile(
                chunk(),
                samples=[
                    {"timestamp": RECEIVED - 7200, "thread_id": "7", "stack_id": 0},
                    {"timestamp": RECEIVED, "thread_id": "7", "stack_id": 0},
                ],
            ),
            "chunk_too_long",
        ),
    ],
)
def test_invalid_chunks_name_their_reason(payload: dict[str, Any], reason: str) -> None:
    with pytest.raises(InvalidProfile, match=f"^{reason}$"):
        profile_chunk(payload, RECEIVED)


def test_an_envelope_keeps_its_profile_and_links_its_transaction() -> None:
    transaction = {
        "event_id": TRANSACTION_ID,
        "type": "transaction",
        "transaction": "GET /orders",
        "start_timestamp": RECEIVED - 10,
        "timestamp": RECEIVED - 9.95,
        "contexts": {"trace": {"trace_id": TRACE_ID, "span_id": "0123456789abcdef"}},
    }
    body = envelope_of(
        ({"type": "profile"}, orjson.dumps(sampled())),
        ({"type": "transaction"}, orjson.dumps(transaction)),
        ({"type": "profile_chunk"}, orjson.dumps(chunk(profiler_id=None))),
    )
    result = process_envelope(parse_envelope(body), RECEIVED, None, ProcessingConfig())
    assert [p.profile_id for p in result.profiles] == [PROFILE_ID]
    assert result.transactions[0]["contexts"]["profile"]["profile_id"] == PROFILE_ID
    assert result.outcomes == [
        Outcome("profile", "accepted", "", 1),
        Outcome("transaction", "accepted", "", 1),
        Outcome("profile_chunk", "invalid", "invalid_profiler_id", 1),
    ]


def test_the_transaction_name_of_a_profile_is_scrubbed_as_the_transaction_is() -> None:
    payload = sampled()
    payload["transactions"][0]["name"] = "GET /callback?code=1&access_token=PROFTOK2"
    body = envelope_of(({"type": "profile"}, orjson.dumps(payload)))
    result = process_envelope(parse_envelope(body), RECEIVED, None, ProcessingConfig())
    [stored] = result.profiles
    assert stored.transaction_name == "GET /callback?code=1&access_token=[Filtered]"

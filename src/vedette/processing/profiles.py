"""``profile`` and ``profile_chunk`` items into one compact, bounded shape (docs/profiles.md).

- ``profile``: a transaction profile in Sentry's sample format (version "1"): ``profile``
  holds ``samples`` (``stack_id``, ``thread_id``, ``elapsed_since_start_ns``), ``stacks`` (frame
  indexes, leaf first), ``frames`` and ``thread_metadata``; ``transaction`` (or the Python
  SDK's one-element ``transactions``) names the transaction it profiled; ``event_id`` is the
  profile's id.
- ``profile_chunk``: continuous profiling (version "2"): ``profiler_id``, ``chunk_id`` and
  the same profile, with each sample's ``timestamp`` in seconds.

Anything that does not hold together (a sample pointing at a stack that does not exist, too
many samples, no samples at all) raises `InvalidProfile` with the reason counted in the
``invalid`` outcome; strings are trimmed, never a reason to refuse.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from vedette.domain.envelope import normalize_event_id
from vedette.domain.profiles import (
    PROFILE_CHUNK,
    TRANSACTION_PROFILE,
    ProfileFrame,
    ProfileRecord,
    ProfileSample,
    SampledProfile,
)
from vedette.processing.timestamps import parse_timestamp

MAX_SAMPLES = 100_000
MAX_STACKS = 20_000
MAX_FRAMES = 25_000
MAX_STACK_DEPTH = 512
MAX_THREADS = 1_000
MAX_FUNCTION_CHARS = 256
MAX_PATH_CHARS = 1_024
MAX_THREAD_ID_CHARS = 64
MAX_THREAD_NAME_CHARS = 128
MAX_TRANSACTION_NAME_CHARS = 200
MAX_RELEASE_CHARS = 200
MAX_ENVIRONMENT_CHARS = 64
MAX_PLATFORM_CHARS = 32
# A chunk longer than this is not what an SDK sends (they flush every minute or so).
MAX_CHUNK_SECONDS = 3600.0
UNKNOWN_FUNCTION = "<unknown>"


class InvalidProfile(ValueError):
    """Why a profile item is refused: the reason of its ``invalid`` outcome."""


def transaction_profile(payload: Mapping[str, Any], received: float) -> ProfileRecord:
    """A ``profile`` item (sample format, version "1")."""
    if str(payload.get("version") or "1") != "1":
        raise InvalidProfile("unsupported_profile_version")
    profile_id = normalize_event_id(payload.get("event_id"))
    if profile_id is None:
        raise InvalidProfile("invalid_profile_id")
    transaction = _transaction(payload)
    raw = _profile_object(payload)
    samples = _elapsed_samples(raw.get("samples"))
    start = parse_timestamp(payload.get("timestamp")) or received
    active = _optional(transaction.get("active_thread_id"), MAX_THREAD_ID_CHARS)
    profile = _sampled_profile(raw, samples, active)
    relative_end = _non_negative_int(transaction.get("relative_end_ns")) or 0
    last = profile.samples[-1].elapsed_ns
    return ProfileRecord(
        kind=TRANSACTION_PROFILE,
        profile_id=profile_id,
        profiler_id=None,
        transaction_id=normalize_event_id(transaction.get("id")),
        transaction_name=_optional(transaction.get("name"), MAX_TRANSACTION_NAME_CHARS),
        trace_id=normalize_event_id(transaction.get("trace_id")),
        start=start,
        end=start + max(relative_end, last) / 1e9,
        profile=profile,
        **_labels(payload),
    )


def profile_chunk(payload: Mapping[str, Any], received: float) -> ProfileRecord:
    """A ``profile_chunk`` item (continuous profiling, version "2")."""
    if str(payload.get("version") or "2") != "2":
        raise InvalidProfile("unsupported_profile_version")
    chunk_id = normalize_event_id(payload.get("chunk_id"))
    if chunk_id is None:
        raise InvalidProfile("invalid_chunk_id")
    profiler_id = normalize_event_id(payload.get("profiler_id"))
    if profiler_id is None:
        raise InvalidProfile("invalid_profiler_id")
    raw = _profile_object(payload)
    stamped = _timestamped_samples(raw.get("samples"))
    start = min(timestamp for timestamp, _, _ in stamped)
    end = max(timestamp for timestamp, _, _ in stamped)
    if end - start > MAX_CHUNK_SECONDS:
        raise InvalidProfile("chunk_too_long")
    samples = [(round((t - start) * 1e9), thread, stack) for t, thread, stack in stamped]
    return ProfileRecord(
        kind=PROFILE_CHUNK,
        profile_id=chunk_id,
        profiler_id=profiler_id,
        transaction_id=None,
        transaction_name=None,
        trace_id=None,
        start=start,
        end=end,
        profile=_sampled_profile(raw, samples, None),
        **_labels(payload),
    )


def _labels(payload: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "release": _optional(payload.get("release"), MAX_RELEASE_CHARS),
        "environment": _optional(payload.get("environment"), MAX_ENVIRONMENT_CHARS),
        "platform": (_optional(payload.get("platform"), MAX_PLATFORM_CHARS) or "other").lower(),
    }


def _transaction(payload: Mapping[str, Any]) -> Mapping[str, Any]:
    """``transaction``, or the first of ``transactions`` (what the Python SDK sends)."""
    found = payload.get("transaction")
    if not isinstance(found, Mapping):
        listed = payload.get("transactions")
        found = listed[0] if isinstance(listed, list) and listed else None
    return found if isinstance(found, Mapping) else {}


def _profile_object(payload: Mapping[str, Any]) -> Mapping[str, Any]:
    raw = payload.get("profile")
    if not isinstance(raw, Mapping):
        raise InvalidProfile("missing_profile")
    return raw


def _bounded_list(value: object, cap: int, name: str) -> list[Any]:
    if not isinstance(value, list):
        raise InvalidProfile(f"missing_{name}")
    if len(value) > cap:
        raise InvalidProfile(f"too_many_{name}")
    return value


def _elapsed_samples(value: object) -> list[tuple[int, str, int]]:
    found = []
    for sample in _samples_of(value):
        elapsed = _non_negative_int(sample.get("elapsed_since_start_ns"))
        if elapsed is None:
            raise InvalidProfile("invalid_sample")
        found.append((elapsed, *_thread_and_stack(sample)))
    return found


def _timestamped_samples(value: object) -> list[tuple[float, str, int]]:
    found = []
    for sample in _samples_of(value):
        raw = sample.get("timestamp")  # seconds, as a number
        timestamp = parse_timestamp(raw) if isinstance(raw, int | float) else None
        if timestamp is None:
            raise InvalidProfile("invalid_sample")
        found.append((timestamp, *_thread_and_stack(sample)))
    return found


def _samples_of(value: object) -> list[Mapping[str, Any]]:
    samples = _bounded_list(value, MAX_SAMPLES, "samples")
    if not samples:
        raise InvalidProfile("empty_profile")
    if not all(isinstance(s, Mapping) for s in samples):
        raise InvalidProfile("invalid_sample")
    return samples


def _thread_and_stack(sample: Mapping[str, Any]) -> tuple[str, int]:
    thread = _optional(sample.get("thread_id"), MAX_THREAD_ID_CHARS)
    stack = sample.get("stack_id")
    if thread is None or not isinstance(stack, int) or isinstance(stack, bool) or stack < 0:
        raise InvalidProfile("invalid_sample")
    return thread, stack


def _sampled_profile(
    raw: Mapping[str, Any], samples: list[tuple[int, str, int]], active_thread: str | None
) -> SampledProfile:
    frames = tuple(_frame(f) for f in _bounded_list(raw.get("frames"), MAX_FRAMES, "frames"))
    stacks = tuple(
        _stack(s, len(frames)) for s in _bounded_list(raw.get("stacks"), MAX_STACKS, "stacks")
    )
    if any(stack >= len(stacks) for _, _, stack in samples):
        raise InvalidProfile("invalid_sample")
    samples.sort(key=lambda s: s[0])
    return SampledProfile(
        frames=frames,
        stacks=stacks,
        samples=tuple(ProfileSample(e, t, s) for e, t, s in samples),
        thread_names=_thread_names(raw.get("thread_metadata"), {t for _, t, _ in samples}),
        active_thread_id=active_thread,
    )


def _frame(raw: object) -> ProfileFrame:
    if not isinstance(raw, Mapping):
        raise InvalidProfile("invalid_frame")
    lineno = raw.get("lineno")
    valid_line = isinstance(lineno, int) and not isinstance(lineno, bool) and 0 <= lineno < 2**31
    return ProfileFrame(
        function=_optional(raw.get("function"), MAX_FUNCTION_CHARS) or UNKNOWN_FUNCTION,
        module=_optional(raw.get("module") or raw.get("package"), MAX_PATH_CHARS),
        filename=_optional(raw.get("filename"), MAX_PATH_CHARS),
        abs_path=_optional(raw.get("abs_path"), MAX_PATH_CHARS),
        lineno=lineno if valid_line else None,
        in_app=raw.get("in_app") is True,
    )


def _stack(raw: object, frame_count: int) -> tuple[int, ...]:
    if not isinstance(raw, list) or len(raw) > MAX_STACK_DEPTH:
        raise InvalidProfile("invalid_stack")
    for index in raw:
        if not isinstance(index, int) or isinstance(index, bool) or not 0 <= index < frame_count:
            raise InvalidProfile("invalid_stack")
    return tuple(raw)


def _thread_names(raw: object, sampled: set[str]) -> dict[str, str]:
    """Names of the threads that have samples (other entries are dropped)."""
    if not isinstance(raw, Mapping):
        return {}
    names: dict[str, str] = {}
    for thread_id, meta in raw.items():
        if len(names) >= MAX_THREADS:
            break
        name = meta.get("name") if isinstance(meta, Mapping) else None
        key = str(thread_id)[:MAX_THREAD_ID_CHARS]
        text = _optional(name, MAX_THREAD_NAME_CHARS)
        if key in sampled and text is not None:
            names[key] = text
    return names


def _optional(value: object, cap: int) -> str | None:
    """A non-empty string (numbers as text: thread ids are sent both ways), trimmed to cap."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        return None
    text = value.strip()
    return text[:cap] if text else None


def _non_negative_int(value: object) -> int | None:
    """An integer >= 0 from an int, an integral float or a decimal string (the Python SDK
    sends nanosecond offsets as strings)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        value = int(value)
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 19:
        value = int(value)
    return value if isinstance(value, int) and 0 <= value < 2**63 else None


def link_transactions(transactions: list[dict[str, Any]], records: list[ProfileRecord]) -> None:
    """Name each profile in its transaction's ``contexts.profile.profile_id`` when both came in
    one envelope (as Relay does: the SDKs send the id only in the profile)."""
    by_transaction = {
        r.transaction_id: r.profile_id for r in records if r.kind == TRANSACTION_PROFILE
    }
    for transaction in transactions:
        profile_id = by_transaction.get(transaction.get("event_id"))
        contexts = transaction.get("contexts")
        if profile_id is None or not isinstance(contexts, dict):
            continue
        context = contexts.get("profile")
        if not isinstance(context, dict):
            context = contexts["profile"] = {"type": "profile"}
        context.setdefault("profile_id", profile_id)

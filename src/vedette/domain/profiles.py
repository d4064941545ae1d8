"""A sampled profile in Vedette's one compact shape (docs/profiles.md).

Transaction profiles (Sentry's sample format, version "1") and continuous profile chunks
(version "2") arrive differently: the first carries sample offsets in nanoseconds from the
profile's start, the second absolute timestamps in seconds. Both are kept as the same
`SampledProfile`: frames, stacks of frame indexes (leaf first, as sent), and samples with
their offset in nanoseconds from the profile's start, in time order.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

TRANSACTION_PROFILE = "transaction"
PROFILE_CHUNK = "chunk"


@dataclass(frozen=True, slots=True)
class ProfileFrame:
    function: str
    module: str | None = None
    filename: str | None = None
    abs_path: str | None = None
    lineno: int | None = None
    in_app: bool = False

    @property
    def key(self) -> tuple[str, str]:
        """What makes two frames the same function in a call tree (lines do not)."""
        return self.function, self.module or self.filename or ""


@dataclass(frozen=True, slots=True)
class ProfileSample:
    elapsed_ns: int  # since the profile's start
    thread_id: str
    stack_id: int


@dataclass(frozen=True, slots=True)
class SampledProfile:
    frames: tuple[ProfileFrame, ...]
    stacks: tuple[tuple[int, ...], ...]  # frame indexes, leaf first
    samples: tuple[ProfileSample, ...]  # in time order
    thread_names: Mapping[str, str]
    active_thread_id: str | None = None

    def to_payload(self) -> dict[str, Any]:
        """The JSON stored (compressed) for the profile: samples as [elapsed, thread, stack]."""
        return {
            "frames": [_frame_json(f) for f in self.frames],
            "stacks": [list(s) for s in self.stacks],
            "samples": [[s.elapsed_ns, s.thread_id, s.stack_id] for s in self.samples],
            "thread_names": dict(self.thread_names),
            "active_thread_id": self.active_thread_id,
        }

    @classmethod
    def from_payload(cls, payload: Mapping[str, Any]) -> SampledProfile:
        """The inverse of `to_payload` (stored data, written by `to_payload`)."""
        return cls(
            frames=tuple(ProfileFrame(**f) for f in payload["frames"]),
            stacks=tuple(tuple(s) for s in payload["stacks"]),
            samples=tuple(ProfileSample(int(e), str(t), int(s)) for e, t, s in payload["samples"]),
            thread_names=dict(payload["thread_names"]),
            active_thread_id=payload.get("active_thread_id"),
        )


def _frame_json(frame: ProfileFrame) -> dict[str, Any]:
    return {
        "function": frame.function,
        "module": frame.module,
        "filename": frame.filename,
        "abs_path": frame.abs_path,
        "lineno": frame.lineno,
        "in_app": frame.in_app,
    }


@dataclass(frozen=True, slots=True)
class ProfileRecord:
    """One transaction profile or one continuous profile chunk, ready to store."""

    kind: str  # TRANSACTION_PROFILE | PROFILE_CHUNK
    profile_id: str  # the profile's event id, or the chunk id
    profiler_id: str | None  # continuous profiling: the profiler session the chunk belongs to
    transaction_id: str | None
    transaction_name: str | None
    trace_id: str | None
    release: str | None
    environment: str | None
    platform: str
    start: float  # seconds since the epoch
    end: float
    profile: SampledProfile

    @property
    def duration(self) -> float:
        return self.end - self.start


def samples_between(record: ProfileRecord, start: float, end: float) -> SampledProfile:
    """The record's profile restricted to the samples taken in [start, end] (seconds since the
    epoch): the part of a continuous profile that a transaction or a time range covers."""
    low, high = round((start - record.start) * 1e9), round((end - record.start) * 1e9)
    kept = tuple(s for s in record.profile.samples if low <= s.elapsed_ns <= high)
    return replace(record.profile, samples=kept)

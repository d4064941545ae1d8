"""``session`` and ``sessions`` items -> validated updates and aggregates.

See docs/protocol.md, "Sessions and release health".

Relay's rules: ``attrs.release`` is required; ``started`` more than 5 days old or in the future
drops the item; an update more than 5 days after its start is ignored; ``seq`` defaults to the
receive time in ms and is 0 on ``init``; a ``crashed`` session has at least one error; the
distinct id is hashed before it is stored.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from vedette.domain.sessions import STATUSES, SessionAggregate, SessionUpdate
from vedette.processing.coerce import finite_float, lenient_str
from vedette.processing.timestamps import parse_timestamp

MAX_AGE_SECONDS = 5 * 24 * 3600.0
MAX_FUTURE_SECONDS = 60.0
_MAX_AGGREGATES = 1000
MAX_COUNT = 2**32 - 1  # Relay reads session counts as 32-bit
MAX_SEQ = 2**62  # within storage's 64-bit integers, as a float compares exactly


class InvalidSession(ValueError):
    """The item breaks a rule Relay enforces; it becomes an ``invalid`` outcome."""


def hash_did(did: object) -> str | None:
    text = lenient_str(did)
    if not text:
        return None
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def _attrs(payload: Mapping[str, Any]) -> tuple[str, str]:
    attrs = payload.get("attrs")
    if not isinstance(attrs, Mapping):
        raise InvalidSession("missing attrs")
    release = lenient_str(attrs.get("release"))
    if not release:
        raise InvalidSession("missing release")
    environment = lenient_str(attrs.get("environment")) or ""
    return release.strip()[:200], environment.strip()[:64]


def _started(value: object, received: float) -> float:
    started = parse_timestamp(value)
    if started is None:
        raise InvalidSession("missing started")
    if started > received + MAX_FUTURE_SECONDS:
        raise InvalidSession("started in the future")
    if started < received - MAX_AGE_SECONDS:
        raise InvalidSession("started too long ago")
    return started


def _count(value: object) -> int:
    number = finite_float(value)
    if number is None or number < 0:
        return 0
    if number > MAX_COUNT:
        raise InvalidSession("count out of range")
    return int(number)


def parse_session(payload: Mapping[str, Any], received: float) -> SessionUpdate | None:
    """A session update, or None when Relay would silently ignore it (too late an update)."""
    release, environment = _attrs(payload)
    started = _started(payload.get("started"), received)
    timestamp = parse_timestamp(payload.get("timestamp"))
    timestamp = received if timestamp is None else min(timestamp, received + MAX_FUTURE_SECONDS)
    if timestamp - started > MAX_AGE_SECONDS:
        return None
    status = (lenient_str(payload.get("status")) or "ok").lower()
    if status not in STATUSES:
        raise InvalidSession(f"unknown status {status[:32]}")
    init = payload.get("init") is True
    errors = _count(payload.get("errors"))
    if status in ("crashed", "unhandled"):
        errors = max(errors, 1)
    sid_text = lenient_str(payload.get("sid"))
    sid = sid_text.replace("-", "").lower()[:64] if sid_text else None
    if sid is None:
        # Allowed only for a first-and-only update that is already terminal.
        if status not in ("exited", "crashed", "abnormal"):
            raise InvalidSession("missing sid")
        sid = hashlib.sha256(repr(sorted(payload.items())).encode()).hexdigest()[:32]
        init = True
    seq_value = finite_float(payload.get("seq"))
    if seq_value is not None and not -MAX_SEQ <= seq_value <= MAX_SEQ:
        raise InvalidSession("seq out of range")
    seq = 0 if init else int(seq_value) if seq_value is not None else int(received * 1000)
    duration = finite_float(payload.get("duration"))
    return SessionUpdate(
        sid=sid,
        did=hash_did(payload.get("did")),
        init=init,
        seq=seq,
        started=started,
        timestamp=timestamp,
        status=status,
        errors=errors,
        release=release,
        environment=environment,
        duration=duration if duration is not None and duration >= 0 else None,
    )


def parse_aggregates(payload: Mapping[str, Any], received: float) -> list[SessionAggregate]:
    release, environment = _attrs(payload)
    buckets = payload.get("aggregates")
    if not isinstance(buckets, list):
        raise InvalidSession("aggregates is not a list")
    found: list[SessionAggregate] = []
    for bucket in buckets[:_MAX_AGGREGATES]:
        if not isinstance(bucket, Mapping):
            continue
        try:
            started = _started(bucket.get("started"), received)
        except InvalidSession:
            continue
        aggregate = SessionAggregate(
            started=started,
            did=hash_did(bucket.get("did")),
            release=release,
            environment=environment,
            exited=_count(bucket.get("exited")),
            # An unhandled (not crashed) session is an errored one (see domain/sessions.py).
            errored=_count(bucket.get("errored")) + _count(bucket.get("unhandled")),
            crashed=_count(bucket.get("crashed")),
            abnormal=_count(bucket.get("abnormal")),
        )
        if aggregate.total > 0:
            found.append(aggregate)
    return found

"""Envelopes on their way through the spool."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class NewEntry:
    project_id: int
    received_at: float
    client_ip: str | None
    payload: bytes


@dataclass(frozen=True, slots=True)
class SpoolEntry:
    id: int
    project_id: int
    received_at: float
    client_ip: str | None
    payload: bytes

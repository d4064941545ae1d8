"""A recording transport: the SDK's own extension point, so tests see what would be sent.

`capture_envelope` is what the real HttpTransport implements; everything before it (event
processors, before_send, serialisation) runs for real. Assertions read the items' JSON and the
envelopes' serialised bytes, i.e. the wire format.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from sentry_sdk.envelope import Envelope
from sentry_sdk.transport import Transport

JsonDict = dict[str, Any]


class RecordingTransport(Transport):
    def __init__(self, options: dict[str, Any] | None = None) -> None:
        super().__init__(options)
        self.envelopes: list[Envelope] = []
        self.flushes: list[str] = []  # the name of the thread each flush ran in
        self._lock = threading.Lock()

    def capture_envelope(self, envelope: Envelope) -> None:
        with self._lock:
            self.envelopes.append(envelope)

    def flush(self, timeout: float, callback: Callable[[int, float], None] | None = None) -> None:
        self.flushes.append(threading.current_thread().name)

    def kill(self) -> None:
        pass

    def items(self, type_: str | None = None) -> list[JsonDict]:
        with self._lock:
            envelopes = list(self.envelopes)
        return [
            item.payload.json
            for envelope in envelopes
            for item in envelope.items
            if (type_ is None or item.type == type_) and item.payload.json is not None
        ]

    def events(self) -> list[JsonDict]:
        return self.items("event")

    def transactions(self) -> list[JsonDict]:
        return self.items("transaction")

    def wire(self) -> bytes:
        """Every envelope as the SDK would post it."""
        with self._lock:
            return b"\n".join(envelope.serialize() for envelope in self.envelopes)

    def clear(self) -> None:
        with self._lock:
            self.envelopes.clear()


def exception_of(event: JsonDict) -> JsonDict:
    values: list[JsonDict] = event["exception"]["values"]
    return values[-1]


def spans_of(transaction: JsonDict) -> list[JsonDict]:
    spans: list[JsonDict] = transaction.get("spans", [])
    return spans

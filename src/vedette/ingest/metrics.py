"""Counters of what ingest accepted and rejected, exposed at /metrics (Prometheus text)."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable

_CAMEL = re.compile(r"(?<!^)(?=[A-Z])")


def reason_of(error: Exception) -> str:
    """``PayloadTooLarge`` -> ``payload_too_large``: a bounded label set (one per error class)."""
    return _CAMEL.sub("_", type(error).__name__).lower()


class IngestMetrics:
    """Per-process counters; the event loop is the only writer, so no lock is needed."""

    def __init__(self) -> None:
        self.accepted_envelopes = 0
        self.accepted_bytes = 0
        self.rejected: Counter[str] = Counter()

    def accepted(self, size: int) -> None:
        self.accepted_envelopes += 1
        self.accepted_bytes += size

    def rejected_for(self, reason: str) -> None:
        self.rejected[reason] += 1

    def lines(self) -> Iterable[str]:
        yield "# HELP vedette_ingest_accepted_envelopes_total Envelopes acknowledged with 200."
        yield "# TYPE vedette_ingest_accepted_envelopes_total counter"
        yield f"vedette_ingest_accepted_envelopes_total {self.accepted_envelopes}"
        yield "# HELP vedette_ingest_accepted_bytes_total Decompressed bytes acknowledged."
        yield "# TYPE vedette_ingest_accepted_bytes_total counter"
        yield f"vedette_ingest_accepted_bytes_total {self.accepted_bytes}"
        yield "# HELP vedette_ingest_rejected_total Requests answered with an error, by reason."
        yield "# TYPE vedette_ingest_rejected_total counter"
        for reason, count in sorted(self.rejected.items()):
            yield f'vedette_ingest_rejected_total{{reason="{reason}"}} {count}'

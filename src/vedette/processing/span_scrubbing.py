"""Span items (span v2 containers and legacy single spans) scrubbed as a transaction's spans are:
their ``attributes`` (v2) and ``data`` (v1) are where SDKs put URLs, queries and headers."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

from vedette.domain.events import NormalizedEvent
from vedette.processing.scrub import ScrubConfig, scrub_event


def scrubbed_span_payload(
    payload: Mapping[str, Any], legacy: bool, config: ScrubConfig
) -> Mapping[str, Any]:
    """The span item's payload with every span scrubbed by the project's settings."""
    items = [payload] if legacy else payload.get("items")
    if not config.enabled or not isinstance(items, list):
        return payload
    # scrub_event walks any event-shaped mapping; only "spans" is present here.
    holder = cast(NormalizedEvent, {"spans": list(items)})
    scrubbed = scrub_event(holder, config)["spans"]
    return scrubbed[0] if legacy else {**payload, "items": scrubbed}

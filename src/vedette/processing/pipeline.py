"""From one spooled envelope to what storage keeps: a pure function of (envelope, config, now).

Every item is handled on its own: an invalid item becomes an ``invalid`` outcome and never
poisons the rest of its envelope.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from vedette.domain.envelope import (
    INTERNAL_OUTCOMES,
    ITEM_CATEGORIES,
    JSON_ITEMS,
    Envelope,
    Item,
    decode_json_object,
    item_category,
)
from vedette.domain.events import NormalizedEvent, as_plain_dict
from vedette.domain.feedback import InvalidFeedback, user_report
from vedette.domain.processed import (
    Outcome,
    ProcessedEnvelope,
    ProcessedEvent,
    StoredAttachment,
)
from vedette.processing import feedback, logs, performance_issues, segments, spans
from vedette.processing.checkins import InvalidCheckIn, parse_check_in
from vedette.processing.grouping import compute_grouping
from vedette.processing.logs import FILTER_RULES, scrub_text
from vedette.processing.normalize import NormalizeContext, normalize_event, validate_transaction
from vedette.processing.performance_issues import PerformanceIssueConfig
from vedette.processing.profiles import (
    InvalidProfile,
    link_transactions,
    profile_chunk,
    transaction_profile,
)
from vedette.processing.scrub import ScrubConfig, scrub_event
from vedette.processing.sessions import InvalidSession, parse_aggregates, parse_session
from vedette.processing.span_scrubbing import scrubbed_span_payload
from vedette.processing.timestamps import parse_timestamp
from vedette.processing.titles import summarize

ATTACHMENT_NAME_CHARS = 256
# A client report's counts are 32-bit in Relay; a larger one is no count an SDK could have made.
MAX_REPORTED_QUANTITY = 2**32 - 1


@dataclass(frozen=True, slots=True)
class ProcessingConfig:
    scrub: ScrubConfig = field(default_factory=ScrubConfig)
    performance_issues: PerformanceIssueConfig = field(default_factory=PerformanceIssueConfig)
    # Maps JavaScript frames through uploaded source maps before grouping (the worker binds it
    # to the event's project: processing.sourcemaps, spool.source_maps).
    symbolicate: Callable[[NormalizedEvent], None] | None = None


def _context(envelope: Envelope, received: float, client_ip: str | None) -> NormalizeContext:
    return NormalizeContext(
        received=received,
        event_id=envelope.event_id,
        sent_at=parse_timestamp(envelope.headers.get("sent_at")),
        client_ip=client_ip,
    )


def _process_event(
    payload: Mapping[str, Any], ctx: NormalizeContext, config: ProcessingConfig
) -> ProcessedEvent:
    normalized = normalize_event(payload, ctx)
    if config.symbolicate is not None:
        config.symbolicate(normalized)
    event = scrub_event(normalized, config.scrub)
    return ProcessedEvent(as_plain_dict(event), compute_grouping(event), summarize(event))


def _client_report_outcomes(report: Mapping[str, Any]) -> list[Outcome]:
    found: list[Outcome] = []
    for key in ("discarded_events", "rate_limited_events", "filtered_events"):
        entries = report.get(key)
        if not isinstance(entries, list):
            continue
        for entry in entries[:100]:
            if not isinstance(entry, dict):
                continue
            quantity = entry.get("quantity")
            if not isinstance(quantity, int) or isinstance(quantity, bool):
                continue
            if not 0 < quantity <= MAX_REPORTED_QUANTITY:
                continue
            category = str(entry.get("category") or "default")[:32]
            reason = str(entry.get("reason") or "unknown")[:64]
            found.append(Outcome(category, "client_discard", reason, quantity))
    return found


def _internal_outcomes(item: Item) -> list[Outcome]:
    """What ingest refused (quotas, full spool), recorded through the spool by ingest itself;
    clients cannot send this item type (ingest rejects it)."""
    payload = decode_json_object(item.payload) or {}
    found = []
    for record in payload.get("outcomes") or []:
        if isinstance(record, dict) and isinstance(record.get("quantity"), int):
            found.append(
                Outcome(
                    str(record.get("category", "default"))[:32],
                    str(record.get("outcome", "rate_limited"))[:32],
                    str(record.get("reason", ""))[:64],
                    int(record["quantity"]),
                )
            )
    return found


def _item_quantity(item: Item, payload: Mapping[str, Any] | None) -> int:
    """How many records the item holds: its ``item_count`` header, believed only up to its
    size in bytes (each record takes one at least), else its ``items`` list, else one."""
    count = item.headers.get("item_count")
    if isinstance(count, int) and not isinstance(count, bool) and 0 < count <= len(item.payload):
        return count
    if payload is not None and isinstance(payload.get("items"), list):
        return len(payload["items"])
    return 1


@dataclass(slots=True)
class _ItemInput:
    """What an item handler sees: the item, its JSON payload and the envelope's results."""

    item: Item
    index: int
    payload: Mapping[str, Any]
    envelope: Envelope
    ctx: NormalizeContext
    config: ProcessingConfig
    result: ProcessedEnvelope
    kept_event_id: str | None = None  # the event the envelope's attachments belong to
    accepted: int | None = None  # how many of its records were accepted, when not all


# An item handler stores what it keeps in ``result``; it returns why the item is invalid, or
# None once the item is accepted.
ItemHandler = Callable[[_ItemInput], str | None]


def process_envelope(
    envelope: Envelope,
    received: float,
    client_ip: str | None,
    config: ProcessingConfig,
) -> ProcessedEnvelope:
    result = ProcessedEnvelope()
    ctx = _context(envelope, received, client_ip)
    kept_event_id: str | None = None
    for index, item in enumerate(envelope.items):
        category = item_category(item.type)
        payload = _read_payload(item)
        if isinstance(payload, str):
            result.outcomes.append(Outcome(category, "invalid", payload, 1))
            continue
        if item.type == INTERNAL_OUTCOMES:
            result.outcomes.extend(_internal_outcomes(item))
            continue
        if item.type == "attachment":
            continue  # once the envelope's event is known (below)
        handler = ITEM_HANDLERS.get(item.type)
        quantity = _item_quantity(item, payload)
        if handler is not None and payload is not None:
            work = _ItemInput(item, index, payload, envelope, ctx, config, result)
            problem = handler(work)
            if problem is not None:
                result.outcomes.append(Outcome(category, "invalid", problem[:64], 1))
                continue
            kept_event_id = work.kept_event_id or kept_event_id
            quantity = quantity if work.accepted is None else work.accepted
        else:
            # Answered 200 but not kept: counted as filtered, with the reason, not accepted.
            reason = not_kept_reason(item.type)
            result.outcomes.append(Outcome(category, "filtered", reason, quantity))
            continue
        if quantity:
            result.outcomes.append(Outcome(category, "accepted", "", quantity))
    link_transactions(result.transactions, result.profiles)
    _keep_attachments(envelope, kept_event_id or envelope.event_id, result)
    return result


def _keep_attachments(envelope: Envelope, event_id: str | None, result: ProcessedEnvelope) -> None:
    """The envelope's attachments, for its event; without one they are invalid. Names are
    made unique within the envelope (``a.txt``, ``a (2).txt``): storage keeps one attachment
    per event and name, so that a spool retry stores nothing twice."""
    taken: set[str] = set()
    for item in envelope.items:
        if item.type != "attachment":
            continue
        category = item_category(item.type)
        if event_id is None:
            result.outcomes.append(Outcome(category, "invalid", "no_event_id", 1))
            continue
        attachment = _attachment(item, event_id)
        name = unique_name(attachment.name, taken, ATTACHMENT_NAME_CHARS)
        taken.add(name)
        result.attachments.append(replace(attachment, name=name))
        result.outcomes.append(Outcome(category, "accepted", "", _item_quantity(item, None)))


def _read_payload(item: Item) -> Mapping[str, Any] | str | None:
    """What the item's handler reads as its payload: a JSON object, or what the item type's
    reader in PAYLOAD_READERS makes of its bytes; a string is why it cannot be read; None for
    items no handler reads (attachments, types not kept)."""
    reader = PAYLOAD_READERS.get(item.type)
    if reader is not None:
        return reader(item)
    if item.type in JSON_ITEMS or item.type in ITEM_HANDLERS:
        payload = decode_json_object(item.payload)
        return "invalid_json" if payload is None else payload
    return None


def not_kept_reason(item_type: str) -> str:
    """The reason of the ``filtered`` outcome of an item type Vedette does not keep
    (docs/protocol.md, "Item types not kept"); unknown types share one reason."""
    return f"{item_type}_not_kept" if item_type in ITEM_CATEGORIES else "unknown_item_type"


def _event_item(work: _ItemInput) -> str | None:
    processed = _process_event(work.payload, work.ctx, work.config)
    work.result.errors.append(processed)
    work.kept_event_id = processed.event["event_id"]
    return None


def _transaction_item(work: _ItemInput) -> str | None:
    # The item type is authoritative; the payload's own "type" may be missing.
    transaction = scrub_event(
        normalize_event({**work.payload, "type": "transaction"}, work.ctx), work.config.scrub
    )
    problem = validate_transaction(transaction)
    if problem is not None:
        return problem
    work.result.transactions.append(as_plain_dict(transaction))
    work.kept_event_id = transaction["event_id"]
    _transaction_performance(work.result, transaction, work.config)
    return None


def _client_report_item(work: _ItemInput) -> str | None:
    work.result.outcomes.extend(_client_report_outcomes(work.payload))
    return None


def _log_item(work: _ItemInput) -> str | None:
    """A log container (docs/logs.md); records without a body are invalid one by one."""
    key = f"{work.ctx.received!r}:{work.index}"
    batch = logs.container_logs(work.payload, work.ctx.received, key, work.config.scrub)
    if batch.invalid:
        work.result.outcomes.append(Outcome("log_item", "invalid", "invalid_log", batch.invalid))
    work.result.logs.extend(batch.records)
    work.accepted = len(batch.records)
    return None


def _otel_log_item(work: _ItemInput) -> str | None:
    """One OpenTelemetry log record (older JavaScript SDKs), kept as a log."""
    key = f"{work.ctx.received!r}:{work.index}:0"
    record = logs.otel_record(work.payload, work.ctx.received, key, work.config.scrub)
    if record is None:
        return "invalid_log"
    work.result.logs.append(record)
    return None


def _feedback_item(work: _ItemInput) -> str | None:
    try:
        found = feedback.feedback_event(work.payload, work.envelope.event_id, work.ctx.received)
    except InvalidFeedback as problem:
        return str(problem)
    work.result.feedback.append(feedback.scrubbed(found, work.config.scrub))
    work.kept_event_id = found.feedback_id  # its screenshots are attachments of the feedback
    return None


def _user_report_item(work: _ItemInput) -> str | None:
    try:
        found = user_report(work.payload, work.ctx.received, "user_report")
    except InvalidFeedback as problem:
        return str(problem)
    work.result.feedback.append(feedback.scrubbed(found, work.config.scrub))
    return None


def _transaction_performance(
    result: ProcessedEnvelope, transaction: NormalizedEvent, config: ProcessingConfig
) -> None:
    fact, rows = spans.transaction_rows(transaction)
    result.transaction_facts.append(fact)
    result.spans.extend(rows)
    result.errors.extend(
        performance_issues.detect(fact, rows, transaction, config.performance_issues)
    )


def _span_item(work: _ItemInput) -> str | None:
    """A span container (content type v2) or a legacy single span (no content type).

    See docs/protocol.md, "Span items".
    """
    result, item, payload, envelope, config = (
        work.result, work.item, work.payload, work.envelope, work.config
    )  # fmt: skip
    legacy = item.headers.get("content_type") != spans.SPAN_V2_CONTENT_TYPE and not isinstance(
        payload.get("items"), list
    )
    trace = envelope.headers.get("trace")
    batch = spans.container_rows(
        scrubbed_span_payload(payload, legacy, config.scrub),
        trace if isinstance(trace, Mapping) else {},
        work.ctx.received,
        parse_timestamp(envelope.headers.get("sent_at")),
        legacy=legacy,
    )
    if batch.invalid:
        result.outcomes.append(Outcome("span", "invalid", "invalid_span", batch.invalid))
    work.accepted = len(batch.rows)  # an invalid span is not also counted as accepted
    rows, segment_payloads = segments.segment_transactions(batch.rows)
    result.spans.extend(rows)
    result.transaction_facts.extend(batch.facts)
    _segment_transactions(result, segment_payloads, work.ctx.received, config)
    for fact in batch.facts:
        # Detectors see the spans of the segment that arrived with it (Node flushes a trace's
        # spans together; children arriving in a later envelope are stored but not examined).
        members = [r for r in batch.rows if r.segment_id == fact.span_id]
        result.errors.extend(
            performance_issues.detect(fact, members, None, config.performance_issues)
        )
    return None


def _segment_transactions(
    result: ProcessedEnvelope,
    payloads: list[dict[str, Any]],
    received: float,
    config: ProcessingConfig,
) -> None:
    """Span-only segments kept as transaction events too (docs/protocol.md, "Span items");
    their rows are already shifted for clock drift, so no envelope ``sent_at`` applies."""
    ctx = NormalizeContext(received=received)
    for payload in payloads:
        transaction = scrub_event(normalize_event(payload, ctx), config.scrub)
        if validate_transaction(transaction) is None:
            result.transactions.append(as_plain_dict(transaction))


def _profile_item(work: _ItemInput) -> str | None:
    """A transaction profile or a continuous profile chunk (docs/profiles.md)."""
    parse = transaction_profile if work.item.type == "profile" else profile_chunk
    try:
        profile = parse(work.payload, work.ctx.received)
    except InvalidProfile as problem:
        return str(problem)
    scrub = work.config.scrub
    if profile.transaction_name is not None and scrub.enabled:  # as the transaction's name is
        name = scrub_text(profile.transaction_name, FILTER_RULES, scrub)
        profile = replace(profile, transaction_name=name)
    work.result.profiles.append(profile)
    return None


def _health_item(work: _ItemInput) -> str | None:
    """Sessions and check-ins; returns why the item is invalid, or None."""
    result, item_type, payload, received = (
        work.result, work.item.type, work.payload, work.ctx.received
    )  # fmt: skip
    try:
        if item_type == "session":
            update = parse_session(payload, received)
            if update is not None:
                result.session_updates.append(update)
        elif item_type == "sessions":
            result.session_aggregates.extend(parse_aggregates(payload, received))
        else:
            result.check_ins.append(parse_check_in(payload, received))
    except (InvalidSession, InvalidCheckIn) as problem:
        return str(problem)
    return None


ITEM_HANDLERS: dict[str, ItemHandler] = {
    "event": _event_item,
    "transaction": _transaction_item,
    "client_report": _client_report_item,
    "span": _span_item,
    "session": _health_item,
    "sessions": _health_item,
    "check_in": _health_item,
    "log": _log_item,
    "otel_log": _otel_log_item,
    "feedback": _feedback_item,
    "user_report": _user_report_item,
    "profile": _profile_item,
    "profile_chunk": _profile_item,
    # OTLP/HTTP requests spooled by ingest, read by PAYLOAD_READERS into a span or log container.
    "otlp_traces": _span_item,
    "otlp_logs": _log_item,
}


# The OTLP readers import protobuf and the generated OTLP modules (6 MiB, 50 ms) with the first
# OTLP item, not at every start of the worker and the server (which imports this module too).
def _read_otlp_traces(item: Item) -> Mapping[str, Any] | str:
    from vedette.processing.otlp_spans import read_traces

    return read_traces(item)


def _read_otlp_logs(item: Item) -> Mapping[str, Any] | str:
    from vedette.processing.otlp_logs import read_logs

    return read_logs(item)


# Item types whose payload is not a JSON object: the reader of each turns its bytes into what
# its handler reads (or returns why it cannot), so handlers only ever see mappings.
PayloadReader = Callable[[Item], Mapping[str, Any] | str]
PAYLOAD_READERS: dict[str, PayloadReader] = {
    "otlp_traces": _read_otlp_traces,
    "otlp_logs": _read_otlp_logs,
}


def _attachment(item: Item, event_id: str) -> StoredAttachment:
    def header(name: str, default: str, chars: int) -> str:
        value = item.headers.get(name)
        return value[:chars] if isinstance(value, str) and value else default

    return StoredAttachment(
        event_id=event_id,
        name=header("filename", "attachment", ATTACHMENT_NAME_CHARS),
        content_type=header("content_type", "application/octet-stream", 128),
        attachment_type=header("attachment_type", "event.attachment", 64),
        data=item.payload,
    )


def unique_name(name: str, taken: set[str], chars: int) -> str:
    """``name``, or ``stem (n).ext`` with the smallest n that is not taken, within ``chars``."""
    if name not in taken:
        return name
    stem, dot, extension = name.rpartition(".")
    if not stem:
        stem, dot, extension = name, "", ""
    n = 2
    while True:
        suffix = f" ({n}){dot}{extension}"
        candidate = stem[: max(chars - len(suffix), 0)] + suffix
        if candidate not in taken:
            return candidate[:chars]
        n += 1

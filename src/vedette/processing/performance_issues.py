"""Performance issues found at ingest: N+1 DB queries and slow DB queries.

A detector looks at one transaction (or v2 segment) and its spans and returns occurrences:
issue events with their own fingerprint, so that one pattern is one issue whatever the ids and
literals of each request, and the offending span ids in the event and the issue metadata.
They are stored beside error issues (same tables, own ``type``); a release that fixes the
pattern simply stops producing occurrences, so the issue stops growing.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from vedette.domain.events import Event, Grouping, IssueSummary, NormalizedEvent
from vedette.domain.performance import SpanRow, TransactionFact
from vedette.domain.processed import ProcessedEvent

N_PLUS_ONE = "performance_n_plus_one_db_queries"
SLOW_DB_QUERY = "performance_slow_db_query"
# Versioned like error grouping: a change of what a fingerprint covers is a new strategy.
STRATEGY = "performance:2026-11"
# Sequential means the next query starts after the previous one ended; SDK clocks round.
_SEQUENTIAL_TOLERANCE_S = 0.000_01


@dataclass(frozen=True, slots=True)
class PerformanceIssueConfig:
    enabled: bool = True
    # "The same normalised db span repeated under one parent, 5+ times, sequentially".
    n_plus_one_min_repeats: int = 5
    # Sentry also wants the repeated queries to add up to 100 ms; a self-hosted app with a
    # local database runs each in well under a millisecond, and the pattern is the bug, so
    # Vedette reports it from the first occurrence (raise this to be quieter).
    n_plus_one_min_total_ms: float = 0.0
    # Sentry's default "slow DB query" threshold.
    slow_db_query_ms: float = 1000.0


def detect(
    fact: TransactionFact,
    rows: Sequence[SpanRow],
    event: NormalizedEvent | None,
    config: PerformanceIssueConfig,
) -> list[ProcessedEvent]:
    if not config.enabled:
        return []
    found = _n_plus_one(fact, rows, event, config)
    found += _slow_queries(fact, rows, event, config)
    return found


def _n_plus_one(
    fact: TransactionFact,
    rows: Sequence[SpanRow],
    event: NormalizedEvent | None,
    config: PerformanceIssueConfig,
) -> list[ProcessedEvent]:
    by_id = {r.span_id: r for r in rows}
    siblings: dict[str, list[SpanRow]] = defaultdict(list)
    for row in rows:
        if not row.is_segment and row.parent_span_id is not None:
            siblings[row.parent_span_id].append(row)
    runs: list[list[SpanRow]] = []
    for children in siblings.values():
        run: list[SpanRow] = []
        for span in sorted(children, key=lambda r: (r.start, r.end)):
            continues = (
                span.group is not None
                and run
                and span.group == run[-1].group
                and span.start >= run[-1].end - _SEQUENTIAL_TOLERANCE_S
            )
            if continues:
                run.append(span)
                continue
            runs.append(run)
            run = [span] if span.group is not None else []
        runs.append(run)
    found: list[ProcessedEvent] = []
    seen: set[str] = set()
    for run in runs:
        if len(run) < config.n_plus_one_min_repeats:
            continue
        if sum(r.duration_ms for r in run) < config.n_plus_one_min_total_ms:
            continue
        first = run[0]
        parent = by_id.get(first.parent_span_id or "")
        parent_op = parent.op if parent is not None else None
        fingerprint = _hash(N_PLUS_ONE, fact.name, parent_op or "", first.group or "")
        if fingerprint in seen:  # the same loop twice in one request: one occurrence
            continue
        seen.add(fingerprint)
        evidence = {
            "parent_span_id": first.parent_span_id,
            "parent_op": parent_op,
            "offender_span_ids": [r.span_id for r in run],
            "num_repeating_spans": len(run),
            "repeating_spans": f"{first.op or 'db'} - {first.group_description}",
            "total_duration_ms": round(sum(r.duration_ms for r in run), 3),
        }
        shown = ([parent] if parent is not None else []) + run
        found.append(
            _occurrence(N_PLUS_ONE, "N+1 Query", fingerprint, fact, shown, event, evidence)
        )
    return found


def _slow_queries(
    fact: TransactionFact,
    rows: Sequence[SpanRow],
    event: NormalizedEvent | None,
    config: PerformanceIssueConfig,
) -> list[ProcessedEvent]:
    slow: dict[str, list[SpanRow]] = defaultdict(list)
    for row in rows:
        if row.group is not None and row.duration_ms >= config.slow_db_query_ms:
            slow[row.group].append(row)
    found: list[ProcessedEvent] = []
    for group, offenders in sorted(slow.items()):
        first = offenders[0]
        # One query is one issue wherever it runs (Sentry's fingerprint: op + query hash).
        fingerprint = _hash(SLOW_DB_QUERY, group)
        evidence = {
            "offender_span_ids": [r.span_id for r in offenders],
            "repeating_spans": f"{first.op or 'db'} - {first.group_description}",
            "duration_ms": round(max(r.duration_ms for r in offenders), 3),
            "threshold_ms": config.slow_db_query_ms,
        }
        found.append(
            _occurrence(
                SLOW_DB_QUERY, "Slow DB Query", fingerprint, fact, offenders, event, evidence
            )
        )
    return found


def _hash(*parts: str) -> str:
    return hashlib.md5("\x00".join(parts).encode(), usedforsecurity=False).hexdigest()


def _occurrence(
    issue_type: str,
    title: str,
    fingerprint: str,
    fact: TransactionFact,
    spans: Sequence[SpanRow],
    event: NormalizedEvent | None,
    evidence: dict[str, Any],
) -> ProcessedEvent:
    source = event["event_id"] if event is not None else f"{fact.trace_id}{fact.span_id}"
    event_id = _hash(str(source), fingerprint)
    description = evidence["repeating_spans"].split(" - ", 1)[-1]
    base: Event = (
        {k: v for k, v in event.items() if k not in ("spans", "event_id", "type", "_meta")}
        if event is not None
        else {
            "platform": "other",
            "timestamp": fact.timestamp,
            "start_timestamp": fact.timestamp - fact.duration_ms / 1000.0,
            "received": fact.timestamp,
            "transaction": fact.name,
            "release": fact.release,
            "environment": fact.environment,
            "tags": [],
            "contexts": {
                "trace": {"trace_id": fact.trace_id, "span_id": fact.span_id, "status": fact.status}
            },
        }
    )
    occurrence_event: Event = {
        **base,
        "event_id": event_id,
        "type": "performance",
        "title": title,
        "culprit": fact.name,
        "level": "info",
        "fingerprint": [fingerprint],
        "spans": [r.event_json() for r in spans],
        "occurrence": {
            "type": issue_type,
            "fingerprint": [fingerprint],
            "transaction_event_id": event["event_id"] if event is not None else None,
            "segment_span_id": fact.span_id,
            "evidence": evidence,
        },
    }
    metadata = {
        "title": title,
        "value": description,
        "transaction": fact.name,
        "trace_id": fact.trace_id,
        **evidence,
    }
    return ProcessedEvent(
        occurrence_event,
        Grouping(STRATEGY, (fingerprint,)),
        IssueSummary(title, fact.name, "info", issue_type, metadata),
    )

"""The span waterfall of one transaction event, in the shape the API and the pages show."""

from __future__ import annotations

from typing import Any

from vedette.domain.traces import exclusive_times, waterfall


def round_ms(value: float | None, digits: int = 3) -> float | None:
    """A duration or offset as shown: milliseconds to ``digits`` places."""
    return None if value is None else round(value, digits)


def transaction_waterfall(event: dict[str, Any]) -> dict[str, Any]:
    """The span waterfall of a stored transaction event: root first, each span after its
    parent, with depth, offset from the transaction start, duration and exclusive time (ms)."""
    trace = (event.get("contexts") or {}).get("trace") or {}
    root_id = str(trace.get("span_id"))
    start, end = float(event["start_timestamp"]), float(event["timestamp"])
    nodes: list[dict[str, Any]] = [
        {
            "span_id": root_id,
            "parent_span_id": None,
            "op": trace.get("op"),
            "description": event.get("transaction"),
            "status": trace.get("status"),
            "start_timestamp": start,
            "timestamp": end,
        }
    ]
    ids = {root_id}
    for span in event.get("spans") or []:
        ids.add(str(span.get("span_id")))
    for span in event.get("spans") or []:
        parent = span.get("parent_span_id")
        nodes.append(
            {
                "span_id": str(span.get("span_id")),
                "parent_span_id": parent if parent in ids else root_id,
                "op": span.get("op"),
                "description": span.get("description"),
                "status": span.get("status"),
                "start_timestamp": float(span["start_timestamp"]),
                "timestamp": float(span["timestamp"]),
                "data": span.get("data"),
            }
        )
    exclusive = exclusive_times(
        [(n["span_id"], n["parent_span_id"], n["start_timestamp"], n["timestamp"]) for n in nodes]
    )
    placed = waterfall([(n["span_id"], n["parent_span_id"], n["start_timestamp"]) for n in nodes])
    rows = []
    for p in placed:
        node = nodes[p.index]
        rows.append(
            {
                **node,
                "depth": p.depth,
                "offset": round_ms(p.offset_ms),
                "duration": round_ms((node["timestamp"] - node["start_timestamp"]) * 1000.0),
                "exclusive_time": round_ms(exclusive[node["span_id"]]),
            }
        )
    return {
        "eventID": event.get("event_id"),
        "transaction": event.get("transaction"),
        "traceID": trace.get("trace_id"),
        "start_timestamp": start,
        "timestamp": end,
        "duration": round_ms((end - start) * 1000.0),
        "spans": rows,
    }

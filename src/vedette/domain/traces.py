"""Span trees: exclusive time and waterfall order (shared by ingest and the read API)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass


def exclusive_times(spans: Sequence[tuple[str, str | None, float, float]]) -> dict[str, float]:
    """Exclusive time (ms) of each span: its duration minus the time its children cover.

    ``spans`` are ``(span_id, parent_span_id, start, end)`` in seconds (Relay's definition:
    overlapping children count once, parts of children outside their parent not at all).
    """
    children: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for _sid, parent, start, end in spans:
        if parent is not None:
            children[parent].append((start, end))
    result: dict[str, float] = {}
    for sid, _parent, start, end in spans:
        covered = 0.0
        cursor = start
        for c_start, c_end in sorted(children.get(sid, ())):
            lo, hi = max(c_start, cursor), min(c_end, end)
            if hi > lo:
                covered += hi - lo
                cursor = hi
        result[sid] = max(0.0, (end - start) - covered) * 1000.0
    return result


@dataclass(frozen=True, slots=True)
class Placed:
    """Where a span sits in a waterfall: its index in the input, depth and offset (ms)."""

    index: int
    depth: int
    offset_ms: float


def waterfall(spans: Sequence[tuple[str, str | None, float]]) -> list[Placed]:
    """Depth-first order of ``(span_id, parent_span_id, start)``: each span after its parent,
    siblings by start time; spans whose parent is absent are roots. Offsets are from the
    earliest start. Cycles and duplicate ids cannot loop (each span is placed once)."""
    if not spans:
        return []
    ids = {sid for sid, _p, _s in spans}
    children: dict[str | None, list[int]] = defaultdict(list)
    for index, (_sid, parent, _start) in enumerate(spans):
        children[parent if parent in ids else None].append(index)
    for members in children.values():
        members.sort(key=lambda i: (spans[i][2], spans[i][0]))
    origin = min(start for _sid, _p, start in spans)
    placed: list[Placed] = []
    done: set[int] = set()
    stack = [(i, 0) for i in reversed(children[None])]
    while stack:
        index, depth = stack.pop()
        if index in done:
            continue
        done.add(index)
        sid, _parent, start = spans[index]
        placed.append(Placed(index, depth, (start - origin) * 1000.0))
        stack.extend((c, depth + 1) for c in reversed(children.get(sid, [])) if c not in done)
    # Members of a cycle have no root: show them at the top level, in time order.
    for index in sorted(set(range(len(spans))) - done, key=lambda i: spans[i][2]):
        placed.append(Placed(index, 0, (spans[index][2] - origin) * 1000.0))
    return placed

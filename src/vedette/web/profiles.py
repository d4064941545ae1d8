"""Profile pages: one profile's flame graph, and a transaction's flame graph merged over a
period with its slowest functions (docs/profiles.md).

The flame graph is inline SVG drawn on the server: the layout is computed here (pure), the
template only places numbers and escaped names into SVG attributes and text, which the
Content-Security-Policy allows. Function names come from SDKs: they are text, never markup.
"""

from __future__ import annotations

import hashlib
import math
import time
from dataclasses import dataclass

from sqlalchemy import Connection
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from vedette.api.profiles import MIN_NODE_SHARE, Aggregate, aggregate, load_profiles
from vedette.domain.envelope import normalize_event_id
from vedette.domain.flamegraph import CallNode
from vedette.domain.profiles import PROFILE_CHUNK, ProfileRecord
from vedette.storage import profiles
from vedette.storage.accounts import Project
from vedette.web.core import Page, WebCore, WebError
from vedette.web.format import duration, project_base
from vedette.web.performance import PERIODS

WIDTH = 1200.0
ROW_HEIGHT = 18.0
CHAR_WIDTH = 6.6  # of the 11 px monospace labels
MIN_LABEL_CHARS = 3
MAX_RECTS = 4000
MAX_DEPTH = 256
FUNCTION_ROWS = 30


@dataclass(frozen=True, slots=True)
class FlameRect:
    x: float
    y: float
    width: float
    label: str  # what fits in the box ("" when too narrow)
    title: str  # the tooltip: full name, module, time and share
    fill: str


@dataclass(frozen=True, slots=True)
class FlameGraph:
    rects: list[FlameRect]
    width: float
    height: float


def flame_graph(root: CallNode, width: float = WIDTH) -> FlameGraph:
    """Boxes for the call tree, root on top, callees below, widths in proportion to time.
    Boxes narrower than the graph's smallest share are left out with their callees."""
    rects: list[FlameRect] = []
    if root.total_ns <= 0:
        return FlameGraph(rects, width, ROW_HEIGHT)
    scale = width / root.total_ns
    minimum = max(root.total_ns * MIN_NODE_SHARE, 0.5 / scale)
    pending = [(root, 0.0, 0)]
    depth_seen = 0
    while pending and len(rects) < MAX_RECTS:
        node, x, depth = pending.pop()
        box = node.total_ns * scale
        rects.append(_rect(node, x, depth, box, root.total_ns))
        depth_seen = max(depth_seen, depth)
        if depth + 1 >= MAX_DEPTH:
            continue
        offset = x
        for child in node.sorted_children():
            if child.total_ns >= minimum:
                pending.append((child, offset, depth + 1))
            offset += child.total_ns * scale
    return FlameGraph(rects, width, (depth_seen + 1) * ROW_HEIGHT)


def _rect(node: CallNode, x: float, depth: int, width: float, whole_ns: float) -> FlameRect:
    name = "all" if depth == 0 else node.function
    where = f" ({node.module})" if node.module else ""
    share = node.total_ns / whole_ns
    title = (
        f"{name}{where}: {duration(node.total_ns / 1e6)} ({share:.1%}),"
        f" self {duration(node.self_ns / 1e6)}"
    )
    return FlameRect(
        x, depth * ROW_HEIGHT, width, fit_label(name, width), title, _fill(node, depth)
    )


def fit_label(name: str, width: float) -> str:
    chars = int((width - 6) / CHAR_WIDTH)
    if chars < MIN_LABEL_CHARS:
        return ""
    return name if len(name) <= chars else name[: chars - 1] + "…"


def _fill(node: CallNode, depth: int) -> str:
    """Warm for application code, cool for libraries; the shade follows the name, so a
    function keeps its colour wherever it appears."""
    if depth == 0:
        return "hsl(0, 0%, 70%)"
    shade = hashlib.blake2s(node.function.encode(), digest_size=1).digest()[0] / 255
    if node.in_app:
        return f"hsl({20 + shade * 30:.0f}, 85%, {58 + shade * 12:.0f}%)"
    return f"hsl({200 + shade * 30:.0f}, 45%, {62 + shade * 12:.0f}%)"


def _period(page: Page) -> str:
    period = page.request.query_params.get("period", "24h")
    return period if period in PERIODS else "24h"


async def profile_detail(ui: WebCore, page: Page, project: Project) -> Response:
    """One transaction profile or continuous profile chunk."""
    profile_id = normalize_event_id(page.request.path_params["profile_id"])
    record = (
        None
        if profile_id is None
        else await ui.read(lambda c: profiles.get_profile(c, project.id, profile_id))
    )
    if record is None:
        raise WebError(404, "No profile with that id.")
    found = await run_in_threadpool(aggregate, [record])
    return _render(ui, page, project, found, record=record)


async def merged_profiles(ui: WebCore, page: Page, project: Project) -> Response:
    """A transaction's flame graph merged over its newest profiles in a period
    (``?transaction=NAME&period=24h``), or a continuous profiler's samples in a time range
    (``?profiler_id=ID&start=UNIX&end=UNIX``, as a transaction's page links to it)."""
    params = page.request.query_params
    name = params.get("transaction", "")
    profiler_id = normalize_event_id(params.get("profiler_id"))
    if profiler_id is not None:
        start, end = _range(params.get("start"), params.get("end"))
        records = await ui.read(
            lambda c: load_profiles(c, project.id, None, profiler_id, start, end)
        )
        found = await run_in_threadpool(aggregate, records, (start, end))
        return _render(ui, page, project, found, profiler=(profiler_id, start, end))
    if not name or len(name) > 200:
        raise WebError(400, "Which transaction? (?transaction=NAME)")
    period = _period(page)
    end = time.time()

    def load(conn: Connection) -> list[ProfileRecord]:
        return load_profiles(conn, project.id, name, None, end - PERIODS[period], end)

    found = await run_in_threadpool(aggregate, await ui.read(load))
    return _render(ui, page, project, found, transaction=name, period=period)


def _range(start: str | None, end: str | None) -> tuple[float, float]:
    """A time range in Unix seconds, at most a day long."""
    try:
        low, high = float(start or ""), float(end or "")
    except ValueError:
        raise WebError(400, "start and end must be Unix times") from None
    if not (math.isfinite(low) and math.isfinite(high) and 0 < high - low <= 86400):
        raise WebError(400, "start must come before end, at most a day before")
    return low, high


def _render(
    ui: WebCore,
    page: Page,
    project: Project,
    found: Aggregate,
    *,
    record: ProfileRecord | None = None,
    transaction: str | None = None,
    period: str = "24h",
    profiler: tuple[str, float, float] | None = None,
) -> Response:
    return ui.page(
        page,
        "profile.html",
        project=project,
        section="performance",
        base=project_base(project),
        record=record,
        chunk=record is not None and record.kind == PROFILE_CHUNK,
        transaction=transaction if record is None else record.transaction_name,
        period=period,
        periods=list(PERIODS),
        profiler=profiler,
        graph=flame_graph(found.tree),
        functions=found.functions[:FUNCTION_ROWS],
        records=found.records,
    )

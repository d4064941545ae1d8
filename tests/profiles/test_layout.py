"""The flame graph's geometry: widths in proportion to time, labels only where they fit,
boxes too narrow to see left out with their callees."""

from __future__ import annotations

import pytest

from vedette.domain.flamegraph import CallNode
from vedette.web.profiles import ROW_HEIGHT, fit_label, flame_graph


def node(name: str, total: float, *children: CallNode, in_app: bool = False) -> CallNode:
    found = CallNode(
        name, "m", in_app, total_ns=total, self_ns=total - sum(c.total_ns for c in children)
    )
    found.children = {(c.function, c.module): c for c in children}
    return found


def test_boxes_share_their_parent_by_time() -> None:
    tree = node("<root>", 100.0, node("main", 100.0, node("slow", 75.0), node("fast", 25.0)))
    graph = flame_graph(tree, width=1000)
    boxes = {r.title.split(" ")[0].rstrip(":"): r for r in graph.rects}
    assert (boxes["all"].x, boxes["all"].width, boxes["all"].y) == (0, 1000, 0)
    assert (boxes["slow"].x, boxes["slow"].width) == (0, 750)
    assert (boxes["fast"].x, boxes["fast"].width, boxes["fast"].y) == (750, 250, 2 * ROW_HEIGHT)
    assert graph.height == 3 * ROW_HEIGHT
    assert boxes["slow"].fill != boxes["all"].fill


def test_boxes_too_narrow_to_see_are_left_out_with_their_callees() -> None:
    tiny = node("tiny", 0.0001, node("under_tiny", 0.0001))
    tree = node("<root>", 100.0, node("main", 99.9999), tiny)
    names = [r.label for r in flame_graph(tree, width=1000).rects]
    assert names == ["all", "main"]


def test_an_empty_tree_draws_nothing() -> None:
    assert flame_graph(CallNode("<root>", "")).rects == []


@pytest.mark.parametrize(
    ("name", "width", "label"),
    [
        ("render", 100.0, "render"),
        ("render_monthly_report", 60.0, "render_…"),
        ("render", 20.0, ""),  # fewer than three characters fit
        ("<b>x</b>", 200.0, "<b>x</b>"),  # text: the template escapes it
    ],
)
def test_labels_fit_their_box(name: str, width: float, label: str) -> None:
    assert fit_label(name, width) == label

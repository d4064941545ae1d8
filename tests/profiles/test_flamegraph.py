"""Call trees and slowest functions over hand-made profiles (weights in sampling intervals)."""

from __future__ import annotations

import orjson
import pytest

from vedette.api.profiles import MAX_FRAME_VISITS, aggregate, flame_nodes
from vedette.domain.flamegraph import (
    DEFAULT_INTERVAL_NS,
    call_tree,
    percentile,
    profiled_threads,
    sampling_interval,
    slowest_functions,
)
from vedette.domain.profiles import (
    TRANSACTION_PROFILE,
    ProfileFrame,
    ProfileRecord,
    ProfileSample,
    SampledProfile,
    samples_between,
)

MS = 1_000_000
MAIN = ProfileFrame("main", "app", in_app=True)
HANDLE = ProfileFrame("handle", "app", in_app=True)
QUERY = ProfileFrame("query", "db")
WAIT = ProfileFrame("wait", "threading")
FRAMES = (MAIN, HANDLE, QUERY, WAIT)
# Stacks, leaf first: main>handle>query, main>handle, and an idle library thread's wait.
STACKS = ((2, 1, 0), (1, 0), (3,))


def profile(
    stack_ids: list[int], interval_ms: int = 10, active: str | None = "1"
) -> SampledProfile:
    samples = [ProfileSample(i * interval_ms * MS, "1", s) for i, s in enumerate(stack_ids)]
    idle = [ProfileSample(i * interval_ms * MS, "2", 2) for i in range(len(stack_ids))]
    return SampledProfile(
        FRAMES, STACKS, tuple(sorted(samples + idle, key=lambda s: s.elapsed_ns)), {}, active
    )


def test_one_profile_builds_a_weighted_call_tree() -> None:
    tree = call_tree([profile([0, 0, 0, 1])])
    assert tree.total_ns == 40 * MS
    (main,) = tree.sorted_children()
    (handle,) = main.sorted_children()
    (query,) = handle.sorted_children()
    assert (main.total_ns, main.self_ns) == (40 * MS, 0)
    assert (handle.total_ns, handle.self_ns) == (40 * MS, 10 * MS)
    assert (query.function, query.total_ns, query.self_ns) == ("query", 30 * MS, 30 * MS)


def test_profiles_sampled_at_different_rates_merge_by_time() -> None:
    tree = call_tree([profile([0, 0], interval_ms=10), profile([1], interval_ms=20)])
    handle = tree.sorted_children()[0].sorted_children()[0]
    # one sample alone stands for the default interval; two at 10 ms for 10 ms each
    assert handle.self_ns == DEFAULT_INTERVAL_NS
    assert handle.sorted_children()[0].self_ns == 20 * MS


@pytest.mark.parametrize(
    ("active", "expected"),
    [
        ("1", {"1"}),  # the transaction's thread
        ("gone", {"1"}),  # no samples on it: the threads running application code
        (None, {"1"}),
    ],
)
def test_which_threads_count(active: str | None, expected: set[str]) -> None:
    assert profiled_threads(profile([0, 1], active=active)) == expected


def test_without_in_app_frames_every_thread_counts() -> None:
    frames = tuple(ProfileFrame(f.function, f.module) for f in FRAMES)
    found = SampledProfile(frames, STACKS, profile([0]).samples, {}, None)
    assert profiled_threads(found) == {"1", "2"}


def test_slowest_functions_rank_self_time_with_percentiles() -> None:
    found = slowest_functions([profile([0, 0, 0, 1]), profile([0, 1, 1, 1]), profile([1])])
    by_name = {f.function: f for f in found}
    assert [f.function for f in found] == ["handle", "query", "main"]
    handle, query = by_name["handle"], by_name["query"]
    assert (handle.self_ns, handle.total_ns, handle.profiles) == (
        (10 + 30 + 10) * MS, (40 + 40 + 10) * MS, 3,
    )  # fmt: skip
    assert (query.self_ns, query.profiles) == (40 * MS, 2)
    assert (query.p75_self_ns, query.p95_self_ns) == (30 * MS, 30 * MS)
    assert handle.in_app and not query.in_app


def test_recursion_counts_once_in_total_time() -> None:
    recursive = SampledProfile((MAIN,), ((0, 0, 0),), (ProfileSample(0, "1", 0),), {}, "1")
    (only,) = slowest_functions([recursive])
    assert only.total_ns == only.self_ns == DEFAULT_INTERVAL_NS


@pytest.mark.parametrize(
    ("times", "expected"),
    [
        ([], DEFAULT_INTERVAL_NS),
        ([5], DEFAULT_INTERVAL_NS),
        ([0, 10, 20, 50], 10),
        ([3, 3], DEFAULT_INTERVAL_NS),
    ],
)
def test_sampling_interval_is_the_median_gap(times: list[int], expected: float) -> None:
    assert sampling_interval(times) == expected


@pytest.mark.parametrize(
    ("values", "fraction", "expected"),
    [
        ([], 0.75, 0.0),
        ([1.0], 0.95, 1.0),
        ([1.0, 2.0, 3.0, 4.0], 0.75, 3.0),
        ([4.0, 1.0], 0.5, 1.0),
    ],
)
def test_percentile_is_nearest_rank(values: list[float], fraction: float, expected: float) -> None:
    assert percentile(values, fraction) == expected


def test_merging_stops_at_the_frame_budget_but_keeps_the_newest() -> None:
    deep = ((0,) * 1000,) * (MAX_FRAME_VISITS // 1000 + 1)  # one frame, deep stacks
    big = SampledProfile((MAIN,), deep, (ProfileSample(0, "1", 0),), {}, "1")
    small = profile([0])
    records = [record(big, "b" * 32), record(small, "s" * 32)]
    assert [r.profile_id for r in aggregate(records).records] == ["b" * 32]
    assert [r.profile_id for r in aggregate(records[::-1]).records] == ["s" * 32]


def record(found: SampledProfile, profile_id: str, start: float = 0.0) -> ProfileRecord:
    return ProfileRecord(
        TRANSACTION_PROFILE, profile_id, None, None, "GET /", None, None, None, "python",
        start, start + 1.0, found,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("window", "kept"),
    [((100.0, 100.03), 8), ((100.01, 100.02), 4), ((99.0, 99.5), 0), ((100.035, 101.0), 0)],
)
def test_a_window_keeps_the_samples_taken_in_it(window: tuple[float, float], kept: int) -> None:
    # samples at 0, 10, 20 and 30 ms on two threads
    found = record(profile([0, 0, 0, 1]), "c" * 32, start=100.0)
    assert len(samples_between(found, *window).samples) == kept


def test_the_json_tree_is_flat_in_pre_order_however_deep() -> None:
    frames = tuple(ProfileFrame(f"f{i}", "m") for i in range(512))
    samples = (ProfileSample(0, "1", 0), ProfileSample(10, "1", 1))
    deep = SampledProfile(frames, (tuple(range(511, -1, -1)), (0,)), samples, {}, "1")
    nodes = flame_nodes(call_tree([deep]), 0.0)
    assert len(orjson.dumps(nodes)) > 0  # orjson refuses documents nested 255 deep
    assert [n["name"] for n in nodes[:3]] == ["<root>", "f0", "f1"]
    assert [(n["parent"], n["depth"]) for n in nodes[:3]] == [(None, 0), (0, 1), (1, 2)]
    assert nodes[-1]["depth"] == 512
    branch = [n for n in nodes if n["parent"] == 0]
    assert [n["name"] for n in branch] == ["f0"]  # the single-frame stack is main's self time

"""Call trees and the slowest functions of sampled profiles (docs/profiles.md).

Weights are time: a sample stands for the sampling interval of its thread (the median gap
between that thread's samples), so profiles sampled at different rates merge fairly. Which
threads count: a transaction profile's active thread (the one that ran the transaction); for a
chunk, every thread that ran application code (``in_app`` frames), so the SDK's own threads
and idle pools do not bury the application; every thread when no frame is in-app.
"""

from __future__ import annotations

import itertools
import math
import statistics
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from vedette.domain.profiles import ProfileFrame, ProfileSample, SampledProfile

DEFAULT_INTERVAL_NS = 10_000_000  # the Python SDK samples at 101 Hz
ROOT = "<root>"


@dataclass(slots=True)
class CallNode:
    """A function at one position in the call tree; ``total_ns`` includes its callees."""

    function: str
    module: str
    in_app: bool = False
    total_ns: float = 0.0
    self_ns: float = 0.0
    children: dict[tuple[str, str], CallNode] = field(default_factory=dict)

    def child(self, frame: ProfileFrame) -> CallNode:
        found = self.children.get(frame.key)
        if found is None:
            found = CallNode(frame.function, frame.key[1], frame.in_app)
            self.children[frame.key] = found
        return found

    def sorted_children(self) -> list[CallNode]:
        """Heaviest first (ties by name), the order a flame graph lays them out."""
        return sorted(self.children.values(), key=lambda n: (-n.total_ns, n.function, n.module))


@dataclass(frozen=True, slots=True)
class FunctionStats:
    function: str
    module: str
    in_app: bool
    self_ns: float  # time with the function at the top of the stack
    total_ns: float  # time with the function anywhere on the stack (recursion counted once)
    profiles: int  # how many profiles it appears in
    p75_self_ns: float  # of its self time per profile it appears in
    p95_self_ns: float


def profiled_threads(profile: SampledProfile) -> set[str]:
    sampled = {s.thread_id for s in profile.samples}
    if profile.active_thread_id in sampled:
        return {profile.active_thread_id}
    in_app = {
        s.thread_id
        for s in profile.samples
        if any(profile.frames[i].in_app for i in profile.stacks[s.stack_id])
    }
    return in_app or sampled


def weighted_samples(profile: SampledProfile) -> Iterator[tuple[ProfileSample, float]]:
    """The samples of the profiled threads with the time (ns) each stands for."""
    threads = profiled_threads(profile)
    by_thread: dict[str, list[int]] = defaultdict(list)
    for sample in profile.samples:
        if sample.thread_id in threads:
            by_thread[sample.thread_id].append(sample.elapsed_ns)
    interval = {thread: sampling_interval(times) for thread, times in by_thread.items()}
    for sample in profile.samples:
        if sample.thread_id in threads:
            yield sample, interval[sample.thread_id]


def weighted_stacks(profile: SampledProfile) -> dict[int, float]:
    """Time (ns) per stack of the profiled threads: each distinct stack is then walked once,
    however many samples it has."""
    totals: dict[int, float] = defaultdict(float)
    for sample, weight in weighted_samples(profile):
        totals[sample.stack_id] += weight
    return totals


def sampling_interval(times: list[int]) -> float:
    """The median gap between consecutive sample times (ns), or the default for one sample."""
    gaps = [b - a for a, b in itertools.pairwise(times) if b > a]
    return float(statistics.median(gaps)) if gaps else float(DEFAULT_INTERVAL_NS)


def call_tree(profiles: Iterable[SampledProfile]) -> CallNode:
    """One tree merged over ``profiles``: root first, the same function under the same caller
    path is one node."""
    root = CallNode(ROOT, "")
    for profile in profiles:
        for stack_id, weight in weighted_stacks(profile).items():
            node = root
            root.total_ns += weight
            for index in reversed(profile.stacks[stack_id]):
                node = node.child(profile.frames[index])
                node.total_ns += weight
            node.self_ns += weight
    return root


def slowest_functions(profiles: Iterable[SampledProfile], limit: int = 50) -> list[FunctionStats]:
    """Functions by self time, heaviest first."""
    self_ns: dict[tuple[str, str], float] = defaultdict(float)
    total_ns: dict[tuple[str, str], float] = defaultdict(float)
    per_profile: dict[tuple[str, str], list[float]] = defaultdict(list)
    in_app: dict[tuple[str, str], bool] = {}
    for profile in profiles:
        own: dict[tuple[str, str], float] = defaultdict(float)
        for stack_id, weight in weighted_stacks(profile).items():
            frames = [profile.frames[i] for i in profile.stacks[stack_id]]
            for frame in frames:
                in_app[frame.key] = in_app.get(frame.key, False) or frame.in_app
            for key in {frame.key for frame in frames}:
                total_ns[key] += weight
                own.setdefault(key, 0.0)
            if frames:
                own[frames[0].key] += weight  # the leaf
        for key, value in own.items():
            self_ns[key] += value
            per_profile[key].append(value)
    ranked = sorted(total_ns, key=lambda k: (-self_ns[k], -total_ns[k], k))[:limit]
    return [
        FunctionStats(
            function=key[0],
            module=key[1],
            in_app=in_app.get(key, False),
            self_ns=self_ns[key],
            total_ns=total_ns[key],
            profiles=len(per_profile[key]),
            p75_self_ns=percentile(per_profile[key], 0.75),
            p95_self_ns=percentile(per_profile[key], 0.95),
        )
        for key in ranked
    ]


def percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile (0 for no values)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[max(math.ceil(fraction * len(ordered)) - 1, 0)]

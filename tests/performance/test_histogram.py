"""The mergeable log histogram: every percentile within 1 % of exact, however it is split."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from vedette.domain import histogram

durations = st.lists(
    st.floats(min_value=0.002, max_value=3_600_000, allow_nan=False), min_size=1, max_size=300
)


@settings(max_examples=200, deadline=None)
@given(durations, st.integers(min_value=1, max_value=7))
def test_merged_parts_estimate_every_percentile_within_one_percent(
    values: list[float], parts: int
) -> None:
    merged: dict[int, int] = {}
    for part in range(parts):  # as if spread over several minutes
        histogram.merge(merged, histogram.histogram_of(values[part::parts]))
    qs = [0.0, 0.5, 0.75, 0.95, 0.99, 1.0]
    for q, estimate in zip(qs, histogram.quantiles(merged, qs), strict=True):
        exact = histogram.exact_quantile(values, q)
        assert estimate is not None
        assert abs(estimate - exact) <= histogram.ALPHA * exact * 1.000001


def test_tiny_and_empty() -> None:
    assert histogram.quantiles({}, [0.5]) == [None]
    assert histogram.quantiles(histogram.histogram_of([0.0, 0.0005]), [0.5]) == [0.0]


def test_coarsened_bins_keep_every_count() -> None:
    counts = histogram.histogram_of([1.0, 2.0, 50.0, 50.5, 3000.0])
    bins = histogram.coarsen(counts, bins=10)
    assert sum(n for _lo, _hi, n in bins) == 5
    assert len(bins) <= 10
    assert all(lo < hi for lo, hi, _n in bins)

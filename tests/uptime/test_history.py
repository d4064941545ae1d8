"""The pages' numbers from roll-ups: day bars, percentages, the latency line."""

from __future__ import annotations

import pytest

from vedette.storage.uptime_queries import Bucket
from vedette.uptime.history import day_bars, latency_chart, percent, uptime_percent

NOW = 1_900_000_000.0  # 2030-03-17T17:46:40Z
TODAY = int(NOW // 86400 * 86400)


def test_ninety_bars_end_today_and_say_what_each_day_was() -> None:
    buckets = [Bucket(TODAY, 10, 0, 100.0), Bucket(TODAY - 86400, 4, 1, 40.0)]
    bars = day_bars(buckets, NOW)
    assert len(bars) == 90 and bars[-1].x == 89 * 6
    assert [b.status for b in bars[-3:]] == ["none", "error", "ok"]
    assert bars[-1].label == "2030-03-17: 100.00 % up, 10 checks"
    assert bars[-2].label == "2030-03-16: 75.00 % up, 4 checks"
    assert bars[-3].label == "2030-03-15: no checks"


@pytest.mark.parametrize(
    ("part", "whole", "text"), [(1, 1, "100.00 %"), (99_999, 100_000, "99.99 %"), (0, 3, "0.00 %")]
)
def test_percentages_never_round_a_failure_up_to_a_hundred(
    part: int, whole: int, text: str
) -> None:
    assert percent(part, whole) == text


def test_uptime_over_buckets_and_without_any() -> None:
    assert uptime_percent([Bucket(0, 3, 1, 0.0), Bucket(1, 1, 0, 0.0)]) == "75.00 %"
    assert uptime_percent([]) == "no data"


def test_the_latency_line_averages_each_hour() -> None:
    hour = int(NOW // 3600 * 3600)
    chart = latency_chart([Bucket(hour - 3600, 2, 0, 400.0), Bucket(hour, 1, 0, 100.0)], NOW, 2)
    assert chart.points == "0.0,1.0 540.0,30.0"
    assert (chart.peak_ms, chart.average_ms) == (200.0, 500 / 3)
    assert latency_chart([], NOW, 24).points == ""

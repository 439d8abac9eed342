"""How ``duroxide bench`` turns latencies into p50 and p99: nearest rank, no interpolation."""

from __future__ import annotations

from duroxide_cli.bench import percentile
from duroxide_cli.bench.results import result


def test_nearest_rank_percentiles():
    values = list(range(1, 101))  # 1..100
    assert percentile(values, 50) == 50
    assert percentile(values, 99) == 99
    assert percentile([7.0], 99) == 7.0
    assert percentile([3, 1, 2], 50) == 2
    assert percentile([], 50) == 0.0


def test_rate_is_units_per_second_rounded_as_printed():
    measured = result("hello", 300, 1.5, [1.0, 2.0, 3.0], "sqlite (synchronous=full)")
    assert (measured.rate, measured.p50_ms, measured.p99_ms, measured.seconds) == (200.0, 2.0, 3.0, 1.5)
    assert list(measured.to_json()) == ["workload", "n", "seconds", "rate", "p50_ms", "p99_ms", "store"]

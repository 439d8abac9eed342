"""What a workload measured, and how latencies become percentiles."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class WorkloadResult:
    """One workload's figures, as ``duroxide bench`` prints them."""

    workload: str
    """The workload's name (``hello``, ``fanout``, ...)."""
    n: int
    """How many units were measured: instances, activities or steps (``backlog``: 10 x -n)."""
    seconds: float
    """Wall time from the first start to the last completion."""
    rate: float
    """Units per second: ``n / seconds``."""
    p50_ms: float
    """The median latency of one unit (``timers``: how late the timer fired)."""
    p99_ms: float
    """The 99th percentile of the same latency."""
    store: str
    """The kind of store and its durability, e.g. ``sqlite (synchronous=full)``."""

    def to_json(self) -> dict[str, Any]:
        """The JSON Lines record: exactly the fields above."""
        return {
            "workload": self.workload,
            "n": self.n,
            "seconds": self.seconds,
            "rate": self.rate,
            "p50_ms": self.p50_ms,
            "p99_ms": self.p99_ms,
            "store": self.store,
        }


def percentile(values: Sequence[float], q: float) -> float:
    """The nearest-rank ``q``-th percentile (0 < q <= 100) of ``values``; 0.0 when empty."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return float(ordered[rank - 1])


def result(workload: str, n: int, seconds: float, latencies_ms: Sequence[float], store: str) -> WorkloadResult:
    """Round the figures the way they are printed: ms to 0.1, seconds to 1 ms."""
    seconds = max(seconds, 1e-6)
    return WorkloadResult(
        workload=workload,
        n=n,
        seconds=round(seconds, 3),
        rate=round(n / seconds, 1),
        p50_ms=round(percentile(latencies_ms, 50), 1),
        p99_ms=round(percentile(latencies_ms, 99), 1),
        store=store,
    )

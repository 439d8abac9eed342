"""The standard workloads: each starts a Runtime on a fresh store, drives one pattern through
the public Client, and measures from the first start to the last completion.

Latencies come from the store's own timestamps (milliseconds): an instance's creation and its
last update, or the history's events, so measuring adds no polling of the store while the
clock runs. Progress is read from the runtime's in-memory counters.

``hello`` starts its instances together and ``backlog`` queues them before the runtime starts:
they measure throughput, and their latencies are mostly each instance's place in the queue.
``timers`` and ``events`` measure the latency of one instance on a runtime that is not
saturated, so they start their instances at a steady rate (open loop: a start never waits for
an earlier instance to finish), ``ARRIVAL_PER_S`` unless ``--rate`` says otherwise.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass

from ..client import Client, OrchestrationState
from ..history import ActivityCompleted, ActivityScheduled, HistoryEvent, TimerCreated, TimerFired
from ..model.options import RuntimeOptions
from ..providers.base import Provider
from ..runtime import Runtime
from ..runtime.stats import RuntimeStats
from .app import EVENT_NAME, bench_app
from .results import WorkloadResult, result
from .stores import BenchStore

Progress = Callable[[int, int], None]
"""Called with (units done, units in all) while a workload runs."""

STALL_S = 60.0
"""A workload that makes no progress for this long fails."""

BACKLOG_FACTOR = 10
"""``backlog`` queues this many times -n instances before the runtime starts."""

ARRIVAL_PER_S = 200.0
"""How many instances per second ``timers`` and ``events`` start by default: a fifth or less
of what the runtime sustains on the project's machine, so the latency is an instance's own,
not its wait behind the others (the default n=500 takes 2.5 s)."""


class WorkloadFailed(Exception):
    """A workload could not finish: an instance failed, or nothing moved for STALL_S."""


@dataclass(frozen=True, slots=True)
class Measured:
    """What a workload's driver hands back: units done, wall time, one latency per unit."""

    n: int
    seconds: float
    latencies_ms: Sequence[float]


class WorkloadRun:
    """One workload on one fresh store: its client, its runtime and its progress reports."""

    def __init__(self, provider: Provider, progress: Progress | None, arrival_per_s: float = ARRIVAL_PER_S):
        self.client = Client(provider)
        self.runtime = Runtime(provider, registry=bench_app, options=RuntimeOptions())
        self.arrival_per_s = arrival_per_s
        """How many instances per second a paced workload starts."""
        self._progress = progress

    @property
    def stats(self) -> RuntimeStats:
        return self.runtime.stats

    async def wait(self, done: Callable[[RuntimeStats], int], total: int, *, instances: int | None = None) -> None:
        """Report ``done(stats)`` of ``total`` as progress until ``done`` reaches ``total`` or,
        given ``instances``, until that many instances have finished. Raises WorkloadFailed
        when nothing moves for STALL_S seconds."""
        last, last_change = -1, time.monotonic()
        while True:
            count = done(self.stats)
            if self._progress is not None:
                self._progress(min(count, total), total)
            if (count >= total) if instances is None else (_instances_finished(self.stats) >= instances):
                return
            if count != last:
                last, last_change = count, time.monotonic()
            elif time.monotonic() - last_change > STALL_S:
                raise WorkloadFailed(f"no progress for {STALL_S:.0f} s: {count} of {total} done")
            await asyncio.sleep(0.005)

    async def finished_states(self, instance_ids: Iterable[str]) -> list[OrchestrationState]:
        """The states of ``instance_ids``; raises WorkloadFailed unless every one Completed."""
        states = []
        for instance_id in instance_ids:
            state = await self.client.get_status(instance_id)
            if state is None or state.status != "Completed":
                why = "is missing" if state is None else f"is {state.status}: {state.error}"
                raise WorkloadFailed(f"instance {instance_id} {why}")
            states.append(state)
        return states


def _instances_finished(stats: RuntimeStats) -> int:
    return stats.instances_completed + stats.instances_failed + stats.instances_cancelled


def _activities_finished(stats: RuntimeStats) -> int:
    return stats.activities_completed + stats.activities_failed


def _start_to_completion(states: Iterable[OrchestrationState], since_ms: int = 0) -> list[float]:
    return [float(s.updated_at_ms - max(s.created_at_ms, since_ms)) for s in states]


def _activity_latencies(history: Sequence[HistoryEvent]) -> list[float]:
    """Per activity, from the event that scheduled it to the event that recorded its result."""
    scheduled = {e.event_id: e.timestamp_ms for e in history if isinstance(e.body, ActivityScheduled)}
    return [
        float(e.timestamp_ms - scheduled[e.body.source_event_id])
        for e in history
        if isinstance(e.body, ActivityCompleted) and e.body.source_event_id in scheduled
    ]


def _timer_lateness(history: Sequence[HistoryEvent]) -> list[float]:
    """Per timer, how long after its due time the orchestration saw it fire."""
    due = {e.event_id: e.body.fire_at_ms for e in history if isinstance(e.body, TimerCreated)}
    return [float(e.timestamp_ms - due[e.body.source_event_id]) for e in history if isinstance(e.body, TimerFired)]


async def _gather(coroutines: Iterable[Awaitable[object]]) -> None:
    await asyncio.gather(*coroutines)


async def start_at_steady_rate(count: int, per_s: float, start: Callable[[int], Awaitable[object]]) -> None:
    """Call ``start(i)`` for i in 0..count-1 at ``i / per_s`` seconds after the first call, each
    in its own task (open loop: a slow start delays neither the schedule nor the next start; a
    late schedule catches up at once), and return once every call has returned."""
    loop = asyncio.get_running_loop()
    first = loop.time()
    starts = []
    for i in range(count):
        delay = first + i / per_s - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        starts.append(asyncio.ensure_future(start(i)))
    await asyncio.gather(*starts)


# -- the workloads --------------------------------------------------------------------------------


async def hello(run: WorkloadRun, n: int) -> Measured:
    """n one-activity orchestrations started together."""
    ids = [f"hello-{i}" for i in range(n)]
    await run.runtime.start()
    started = time.perf_counter()
    await _gather(run.client.start_orchestration(iid, "Hello", iid) for iid in ids)
    await run.wait(_instances_finished, n)
    seconds = time.perf_counter() - started
    return Measured(n, seconds, _start_to_completion(await run.finished_states(ids)))


async def backlog(run: WorkloadRun, n: int) -> Measured:
    """hello with BACKLOG_FACTOR x n instances queued before the runtime starts."""
    total = BACKLOG_FACTOR * n
    ids = [f"backlog-{i}" for i in range(total)]
    await _gather(run.client.start_orchestration(iid, "Hello", iid) for iid in ids)
    since_ms = int(time.time() * 1000)
    started = time.perf_counter()
    await run.runtime.start()
    await run.wait(_instances_finished, total)
    seconds = time.perf_counter() - started
    return Measured(total, seconds, _start_to_completion(await run.finished_states(ids), since_ms))


async def fanout(run: WorkloadRun, n: int) -> Measured:
    """One orchestration, n activities in ``all``."""
    await run.runtime.start()
    started = time.perf_counter()
    await run.client.start_orchestration("fanout", "FanOut", n)
    await run.wait(_activities_finished, n, instances=1)
    seconds = time.perf_counter() - started
    await run.finished_states(["fanout"])
    return Measured(n, seconds, _activity_latencies(await run.client.read_history("fanout")))


async def chain(run: WorkloadRun, n: int) -> Measured:
    """One orchestration, n sequential activities."""
    await run.runtime.start()
    started = time.perf_counter()
    await run.client.start_orchestration("chain", "Chain", n)
    await run.wait(_activities_finished, n, instances=1)
    seconds = time.perf_counter() - started
    await run.finished_states(["chain"])
    return Measured(n, seconds, _activity_latencies(await run.client.read_history("chain")))


async def timers(run: WorkloadRun, n: int) -> Measured:
    """n instances each on one short timer, started at a steady rate; the latency is how late
    each timer fired."""
    ids = [f"timer-{i}" for i in range(n)]
    await run.runtime.start()
    started = time.perf_counter()
    await _gather(
        (
            start_at_steady_rate(n, run.arrival_per_s, lambda i: run.client.start_orchestration(ids[i], "Sleep")),
            run.wait(_instances_finished, n),
        )
    )
    seconds = time.perf_counter() - started
    await run.finished_states(ids)
    lateness: list[float] = []
    for iid in ids:
        lateness.extend(_timer_lateness(await run.client.read_history(iid)))
    return Measured(n, seconds, lateness)


async def events(run: WorkloadRun, n: int) -> Measured:
    """n instances each waiting for an event that is raised right after its start, started at a
    steady rate."""
    ids = [f"event-{i}" for i in range(n)]

    async def start_and_raise(i: int) -> None:
        await run.client.start_orchestration(ids[i], "AwaitEvent")
        await run.client.raise_event(ids[i], EVENT_NAME, ids[i])

    await run.runtime.start()
    started = time.perf_counter()
    await _gather((start_at_steady_rate(n, run.arrival_per_s, start_and_raise), run.wait(_instances_finished, n)))
    seconds = time.perf_counter() - started
    return Measured(n, seconds, _start_to_completion(await run.finished_states(ids)))


# -- the table of workloads -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Workload:
    """A standard workload: what it counts, how much by default, and its driver."""

    name: str
    unit: str
    """What ``n`` and the rate count: instances, activities or steps."""
    default_n: int
    """-n when none is given; all defaults together take seconds, not minutes."""
    latency: str
    """What p50 and p99 measure."""
    drive: Callable[[WorkloadRun, int], Awaitable[Measured]]
    units_per_n: int = 1
    """Units measured per unit of -n (``backlog``: BACKLOG_FACTOR)."""
    paced: bool = False
    """Whether it starts its instances at a steady rate (``--rate``) rather than all at once."""

    def units(self, n: int | None) -> int:
        """How many units a run with ``n`` (None: the default) measures."""
        return (self.default_n if n is None else n) * self.units_per_n


WORKLOADS: dict[str, Workload] = {
    w.name: w
    for w in (
        Workload("hello", "instances", 2000, "instance start to completion", hello),
        Workload("fanout", "activities", 2000, "activity scheduled to result recorded", fanout),
        Workload("chain", "steps", 500, "activity scheduled to result recorded", chain),
        Workload("timers", "instances", 500, "how late the timer fired", timers, paced=True),
        Workload("events", "instances", 500, "instance start to completion", events, paced=True),
        Workload("backlog", "instances", 200, "runtime start to instance completion", backlog, BACKLOG_FACTOR),
    )
}
"""The workloads, in the order ``duroxide bench`` runs them."""


async def run_workload(
    workload: Workload, n: int | None, store: BenchStore, progress: Progress | None = None, rate: float | None = None
) -> WorkloadResult:
    """Run ``workload`` with ``n`` (None: its default) on a fresh ``store``, a paced one starting
    ``rate`` instances per second (None: ARRIVAL_PER_S); the runtime is shut down and the store
    removed before this returns. Raises WorkloadFailed."""
    size = workload.default_n if n is None else n
    async with store.fresh(workload.name) as provider:
        run = WorkloadRun(provider, progress, ARRIVAL_PER_S if rate is None else rate)
        try:
            measured = await workload.drive(run, size)
        finally:
            await run.runtime.shutdown(timeout_ms=2000)
    return result(workload.name, measured.n, measured.seconds, measured.latencies_ms, store.label)

"""The database thread's CPU for the store's side of a chain step and of a fetch, with no runtime.

    python benchmarks/store_steps_cpu.py [--steps 2000] [--instances 2000] [--synchronous normal]

Drives a SqliteProvider directly: ``--steps`` chain steps (a turn taking the lock that records
one activity result and leases the next activity, committed alone), then ``--instances``
instances fetched 32 at a time with their start message and a two-event history. Prints one
JSON line: the database thread's CPU (``time.thread_time`` around what it runs) per step and
per fetched instance. Without the event loop's other work this is steadier than a ``bench``
run on a shared machine; put an old tree first on PYTHONPATH to measure it, and alternate.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from pathlib import Path

from database_cpu import SPENT

from duroxide_cli.history import (
    ActivityCompleted,
    ActivityScheduled,
    HistoryEvent,
    OrchestrationStarted,
)
from duroxide_cli.messages import Message
from duroxide_cli.providers.base import (
    ActivityLease,
    HeldWork,
    InstanceUpdate,
    NewActivity,
    TakeLock,
    TurnCommit,
)
from duroxide_cli.providers.sqlite import SqliteProvider

STARTED = OrchestrationStarted("Flow", "1.0.0")
LEASE = ActivityLease("me", 60_000, 1)


def _now() -> int:
    return int(time.time() * 1000)


def _activity(event_id: int) -> NewActivity:
    return NewActivity(1, event_id, "A", None, 1, "Flow", "1.0.0")


async def _chain(provider: SqliteProvider, steps: int) -> float:
    await provider.create_instance(Message("c", STARTED, 1))
    [work] = await provider.fetch_orchestration_work(1, 60_000, "me", {})
    [result] = await provider.commit_turns_leasing([TurnCommit(
        instance_id="c", lock_token=work.lock_token, execution_id=1,
        new_events=[HistoryEvent(1, _now(), STARTED), HistoryEvent(2, _now(), ActivityScheduled("A", None))],
        consumed_message_ids=[m.message_id for m in work.messages], instance=InstanceUpdate("Running", "1.0.0"),
        activities=[_activity(2)], lease_activities=LEASE,
    )])
    [leased] = result.leased
    record = await provider.get_instance("c")
    assert record is not None
    SPENT[0] = 0.0
    for step in range(steps):
        done = 2 + 2 * step
        [result] = await provider.commit_turns_leasing([TurnCommit(
            instance_id="c", lock_token="", execution_id=1,
            new_events=[HistoryEvent(done + 1, _now(), ActivityCompleted(done, 1)),
                        HistoryEvent(done + 2, _now(), ActivityScheduled("A", None))],
            consumed_message_ids=[], instance=InstanceUpdate("Running", "1.0.0"),
            activities=[_activity(done + 2)], lease_activities=LEASE,
            completed_work=[HeldWork(leased.work_id, leased.lock_token)], take_lock=TakeLock(record.incarnation, done),
        )])
        assert result.outcome == "committed", result
        [leased] = result.leased
    return SPENT[0] / steps


async def _fetches(provider: SqliteProvider, instances: int) -> float:
    ids = [f"f{n}" for n in range(instances)]
    await asyncio.gather(*(provider.create_instance(Message(i, STARTED, 1)) for i in ids))
    works = []
    while True:
        found = await provider.fetch_orchestration_work(32, 60_000, "me", {})
        if not found:
            break
        works += found
    await provider.commit_turns([
        TurnCommit(
            instance_id=w.instance.instance_id, lock_token=w.lock_token, execution_id=1,
            new_events=[HistoryEvent(1, _now(), STARTED), HistoryEvent(2, _now(), ActivityScheduled("A", None))],
            consumed_message_ids=[m.message_id for m in w.messages], instance=InstanceUpdate("Running", "1.0.0"),
        )
        for w in works
    ])
    await asyncio.gather(*(provider.enqueue_message(Message(i, ActivityCompleted(2, 1), 1)) for i in ids))
    SPENT[0] = 0.0
    fetched = 0
    while True:
        found = await provider.fetch_orchestration_work(32, 60_000, "me", {})
        if not found:
            break
        assert all(len(w.history) == 2 and len(w.messages) == 1 for w in found)
        fetched += len(found)
    assert fetched == instances
    return SPENT[0] / instances


async def main(steps: int, instances: int, synchronous: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        provider = await SqliteProvider.open(Path(folder) / "store.db", synchronous=synchronous)  # type: ignore[arg-type]
        try:
            step_cpu = await _chain(provider, steps)
            fetch_cpu = await _fetches(provider, instances)
        finally:
            await provider.close()
    print(json.dumps({
        "db_thread_cpu_us_per_chain_step": round(step_cpu * 1e6, 1),
        "db_thread_cpu_us_per_fetched_instance": round(fetch_cpu * 1e6, 1),
    }))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--instances", type=int, default=2000)
    parser.add_argument("--synchronous", default="normal", choices=["normal", "full"])
    args = parser.parse_args()
    asyncio.run(main(args.steps, args.instances, args.synchronous))

"""One of the processes in test_sqlite_specific's two-process test (not a test module).

Usage: python two_process_worker.py DB PREFIX COUNT

Creates COUNT instances named PREFIX-i and raises three events at each, while it fetches and
commits whatever work the store holds (its own or the other process's), turning each message
into one history event. It stops once its own writes are done and the store stayed idle for a
while, and prints how many turns it committed.
"""

from __future__ import annotations

import asyncio
import sys
import time

from duroxide_cli.history import EventRaised, HistoryEvent, OrchestrationStarted
from duroxide_cli.messages import Message
from duroxide_cli.providers.base import InstanceUpdate, TurnCommit
from duroxide_cli.providers.sqlite import SqliteProvider

EVENTS_PER_INSTANCE = 3
IDLE_S = 1.5


async def write(provider: SqliteProvider, prefix: str, count: int) -> None:
    for index in range(count):
        instance_id = f"{prefix}-{index}"
        await provider.create_instance(Message(instance_id, OrchestrationStarted("Flow", "1.0.0"), 1))
        for event in range(EVENTS_PER_INSTANCE):
            await provider.enqueue_message(Message(instance_id, EventRaised(f"e{event}")))
        await asyncio.sleep(0)


async def process(provider: SqliteProvider, writing: asyncio.Task) -> int:
    turns, idle_since = 0, time.monotonic()
    while not writing.done() or time.monotonic() - idle_since < IDLE_S:
        found = await provider.fetch_orchestration_work(5, 30_000, sys.argv[2], {})
        if not found:
            await provider.wait_for_work("orchestrator", 20)
            continue
        idle_since = time.monotonic()
        commits = []
        for work in found:
            next_id = len(work.history) + 1
            events = [HistoryEvent(next_id + i, 0, m.message.body) for i, m in enumerate(work.messages)]
            commits.append(
                TurnCommit(
                    work.instance.instance_id,
                    work.lock_token,
                    work.instance.execution_id,
                    events,
                    [m.message_id for m in work.messages],
                    InstanceUpdate("Running", "1.0.0"),
                )
            )
        outcomes = await provider.commit_turns(commits)
        assert outcomes == ["committed"] * len(commits), outcomes
        turns += len(commits)
    return turns


async def main() -> None:
    db, prefix, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
    provider = await SqliteProvider.open(db)
    try:
        writing = asyncio.create_task(write(provider, prefix, count))
        turns = await process(provider, writing)
        await writing
    finally:
        await provider.close()
    print(turns)


if __name__ == "__main__":
    asyncio.run(main())

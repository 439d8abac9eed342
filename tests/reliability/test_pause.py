"""A process paused past its leases (SIGSTOP, then SIGCONT) finds its late commit refused: the
instance was taken over and finished by another process, and its history is written once."""

from __future__ import annotations

import signal
import time

from duroxide_cli import Client

from .checker import assert_histories_exact
from .conftest import until

LEASES = {"DUROXIDE_ORCHESTRATOR_LOCK_TIMEOUT_MS": "2000", "DUROXIDE_WORKER_LOCK_TIMEOUT_MS": "2000"}
"""Longer than the slow turn (0.5 s), so only the pause makes the leases run out."""


def _pause_outside_a_transaction(process, store) -> None:
    """SIGSTOP ``process`` at a moment its store thread holds no write transaction: SQLite has
    one write lock per file, and a process stopped inside a transaction (a fetch, a heartbeat)
    would stop every other process with it, which no runtime can work around. A paused process
    that holds only leases is what this test is about."""
    for _ in range(200):
        process.signal(signal.SIGSTOP)
        if store.write_lock_is_free():
            return
        process.signal(signal.SIGCONT)
        time.sleep(0.005)
    raise AssertionError("the process never left its write transactions long enough to be paused")


async def test_a_late_commit_after_a_pause_is_refused(fault_store, runners):
    client = Client(await fault_store.open())
    paused = runners("paused", **LEASES).wait_ready()
    await client.start_orchestration("slow-1", "SlowTurn", {"turn_s": 0.5})
    await until(lambda: any(pid == str(paused.pid) for _, pid in fault_store.marks("turn")), what="the slow turn")
    _pause_outside_a_transaction(paused, fault_store)  # in the middle of the turn, holding the instance's lease

    other = runners("other", **LEASES).wait_ready()
    state = await client.wait_for_orchestration("slow-1", timeout_ms=60_000)
    assert (state.status, state.output) == ("Completed", 3)
    history_before = [(e.event_id, e.kind) for e in await client.read_history("slow-1")]

    paused.signal(signal.SIGCONT)  # its turn ends and tries to commit under the lapsed lease
    await until(lambda: "was refused" in paused.stderr, what="the late commit being refused")
    assert [(e.event_id, e.kind) for e in await client.read_history("slow-1")] == history_before
    assert paused.stop() == 0 and other.stop() == 0
    await assert_histories_exact(client.provider)
    # the first activity's result was to be committed with the paused turn, so it was never
    # recorded: the other process ran it again once its lease lapsed (at least once); the second
    # activity ran once
    runs = fault_store.activity_runs()
    assert sorted(runs.values()) == [1, 2], runs

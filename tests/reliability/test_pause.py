"""A process paused past its leases (SIGSTOP, then SIGCONT) finds its late commit refused: the
instance was taken over and finished by another process, and its history is written once."""

from __future__ import annotations

import signal

from duroxide_cli import Client

from .checker import assert_histories_exact
from .conftest import until

LEASES = {"DUROXIDE_ORCHESTRATOR_LOCK_TIMEOUT_MS": "2000", "DUROXIDE_WORKER_LOCK_TIMEOUT_MS": "2000"}
"""Longer than the slow turn (0.5 s), so only the pause makes the leases run out."""


async def test_a_late_commit_after_a_pause_is_refused(fault_store, runners):
    client = Client(await fault_store.open())
    paused = runners("paused", **LEASES).wait_ready()
    await client.start_orchestration("slow-1", "SlowTurn", {"turn_s": 0.5})
    await until(lambda: any(pid == str(paused.pid) for _, pid in fault_store.marks("turn")), what="the slow turn")
    paused.signal(signal.SIGSTOP)  # in the middle of the turn, holding the instance's lease

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

"""SIGKILL of a ``duroxide run`` in the middle of a turn, an activity, a timer wait and a 100-way
fan-out: another process takes over once the leases lapse, every instance completes, no
activity whose completion was recorded runs again, and every history checks out exact."""

from __future__ import annotations

from duroxide_cli import Client

from .checker import assert_histories_exact
from .conftest import until


async def _completed_activities(client: Client, instance_ids: list[str]) -> set[tuple[str, int]]:
    """The activities whose completion the histories hold."""
    done = set()
    for instance_id in instance_ids:
        for event in await client.read_history(instance_id):
            if event.kind in ("ActivityCompleted", "ActivityFailed"):
                done.add((instance_id, event.source_event_id))
    return done


async def _finish_elsewhere(fault_store, runners, client: Client, ids: list[str], victim, env=None) -> list:
    """Kill ``victim``, note what had completed, let a second process finish everything, and
    check that no completed activity ran again."""
    victim.kill()
    completed_at_kill = await _completed_activities(client, ids)
    rescuer = runners("rescuer", **(env or {})).wait_ready()
    states = [await client.wait_for_orchestration(i, timeout_ms=60_000) for i in ids]
    assert rescuer.stop() == 0, rescuer.stderr
    runs = fault_store.activity_runs()
    again = {key for key, count in runs.items() if count > 1}
    assert not again & completed_at_kill, f"completed activities ran again: {sorted(again & completed_at_kill)}"
    assert all(count <= 2 for count in runs.values()), runs
    await assert_histories_exact(client.provider)
    return states


async def test_a_kill_during_an_activity(fault_store, runners):
    client = Client(await fault_store.open())
    first = runners("first").wait_ready()
    ids = [f"chain-{i}" for i in range(3)]
    for instance_id in ids:
        await client.start_orchestration(instance_id, "Chain", {"steps": 6, "sleep": 0.3})
    await until(lambda: len(fault_store.marks()) >= 5, what="five activities starting")
    states = await _finish_elsewhere(fault_store, runners, client, ids, first)
    assert [(s.status, s.output) for s in states] == [("Completed", 15)] * 3
    assert set(fault_store.activity_runs()) == {(i, a) for i in ids for a in range(2, 14, 2)}


async def test_a_kill_during_a_turn(fault_store, runners):
    leases = {"DUROXIDE_ORCHESTRATOR_LOCK_TIMEOUT_MS": "3000"}  # the turn itself takes 0.6 s
    client = Client(await fault_store.open())
    first = runners("first", **leases).wait_ready()
    await client.start_orchestration("slow-1", "SlowTurn", {"turn_s": 0.6})
    await until(lambda: any(pid == str(first.pid) for _, pid in fault_store.marks("turn")), what="the slow turn")
    (state,) = await _finish_elsewhere(fault_store, runners, client, ["slow-1"], first, leases)
    assert (state.status, state.output) == ("Completed", 3)
    history = await client.read_history("slow-1")
    assert [e.kind for e in history].count("ActivityScheduled") == 2


async def test_a_kill_during_a_timer_wait(fault_store, runners):
    client = Client(await fault_store.open())
    first = runners("first").wait_ready()
    ids = [f"timer-{i}" for i in range(3)]
    for instance_id in ids:
        await client.start_orchestration(instance_id, "Timer", {"delay_ms": 1500})

    async def all_waiting() -> bool:
        histories = [await client.read_history(i) for i in ids]
        return all(any(e.kind == "TimerCreated" for e in history) for history in histories)

    await until(all_waiting, what="every instance waiting on its timer")
    states = await _finish_elsewhere(fault_store, runners, client, ids, first)
    assert [(s.status, s.output) for s in states] == [("Completed", 3)] * 3
    assert all(count == 1 for count in fault_store.activity_runs().values())
    for instance_id in ids:
        assert [e.kind for e in await client.read_history(instance_id)].count("TimerFired") == 1


async def test_a_kill_during_a_100_way_fan_out(fault_store, runners):
    client = Client(await fault_store.open())
    first = runners("first").wait_ready()
    await client.start_orchestration("fan-1", "FanOut", {"width": 100, "sleep": 0.02})
    await until(lambda: len(fault_store.marks()) >= 30, what="thirty activities starting")
    (state,) = await _finish_elsewhere(fault_store, runners, client, ["fan-1"], first)
    assert (state.status, state.output) == ("Completed", sum(range(100)))
    assert len(fault_store.activity_runs()) == 100


async def test_a_kill_during_a_fast_chain(fault_store, runners):
    """Steps of short activities, each committed by a turn that takes its instance's lock itself:
    a kill lands between or inside those commits, and nothing recorded is lost or run again."""
    client = Client(await fault_store.open())
    first = runners("first").wait_ready()
    ids = ["fast-1", "fast-2"]
    for instance_id in ids:
        await client.start_orchestration(instance_id, "Chain", {"steps": 200})
    await until(lambda: len(fault_store.marks()) >= 60, what="sixty steps")
    states = await _finish_elsewhere(fault_store, runners, client, ids, first)
    assert [(s.status, s.output) for s in states] == [("Completed", sum(range(200)))] * 2
    assert len(fault_store.activity_runs()) == 400

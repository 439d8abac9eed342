"""Trouble inside the store: a write lock held by another connection, row locks held by one
(PostgreSQL), connections dropped under a running ``duroxide run`` (PostgreSQL), a history row
that no longer parses, and a store that breaks for good under a running ``duroxide run``."""

from __future__ import annotations

import asyncio
import subprocess
import time

from duroxide_cli import Client

from .checker import assert_histories_exact
from .conftest import APP, CLI, until


def _duroxide(fault_store, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, *args, "--store", fault_store.url], cwd=fault_store.dir, capture_output=True, text=True, timeout=timeout
    )


async def test_a_write_lock_held_elsewhere_delays_the_runtime_and_never_blocks_readers(fault_store, runners):
    client = Client(await fault_store.open())
    runner = runners("runner").wait_ready()
    ids = [f"chain-{i}" for i in range(4)]
    for instance_id in ids:
        await client.start_orchestration(instance_id, "Chain", {"steps": 3})
    await client.wait_for_orchestration(ids[0], timeout_ms=30_000)
    async with fault_store.write_lock_held() as held:
        await client.provider.close()  # the test's own provider must not queue behind the lock either
        began = time.monotonic()
        status = await asyncio.to_thread(_duroxide, fault_store, "status", ids[0], "--json")
        listing = await asyncio.to_thread(_duroxide, fault_store, "list", "--json")
        assert held.is_set(), "the lock was released before the readers answered"
        elapsed = time.monotonic() - began
    assert status.returncode == 0, status.stderr
    assert listing.returncode == 0, listing.stderr
    assert elapsed < 8, f"readers waited {elapsed:.1f} s for the write lock"
    client = Client(await fault_store.open())
    states = [await client.wait_for_orchestration(i, timeout_ms=60_000) for i in ids]
    assert [s.output for s in states] == [3] * 4
    assert runner.stop() == 0
    await assert_histories_exact(client.provider)


async def test_one_unreadable_history_row_fails_its_instance_only(fault_store, runners):
    client = Client(await fault_store.open())
    first = runners("first", DUROXIDE_CACHE_SIZE="0").wait_ready()
    ids = [f"waiter-{i}" for i in range(5)]
    for instance_id in ids:
        await client.start_orchestration(instance_id, "Waiter")

    async def all_waiting() -> bool:
        histories = [await client.read_history(i) for i in ids]
        return all(any(e.kind == "EventSubscribed" for e in history) for history in histories)

    await until(all_waiting, what="every instance waiting for its event")
    first.kill()
    await fault_store.corrupt_event("waiter-2", 3)  # its ActivityCompleted
    second = runners("second").wait_ready()
    for n, instance_id in enumerate(ids):
        await client.raise_event(instance_id, "go", n)
    states = {i: await client.wait_for_orchestration(i, timeout_ms=30_000) for i in ids}
    assert {i: s.status for i, s in states.items()} == {i: "Failed" if i == "waiter-2" else "Completed" for i in ids}
    bad = states["waiter-2"]
    assert bad.failure is not None and bad.failure.error_type == "UnreadableRowError"
    assert "event 3" in bad.error and "waiter-2" in bad.error
    assert second.stop() == 0
    await assert_histories_exact(client.provider, skip={"waiter-2"})

    for command in (["history", "show", "waiter-2"], ["history", "export", "waiter-2"], ["replay", "waiter-2", "--app", str(APP)]):
        result = await asyncio.to_thread(_duroxide, fault_store, *command)
        assert result.returncode == 1, (command, result.stdout, result.stderr)
        assert "Traceback" not in result.stderr
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and "event 3" in lines[0] and "waiter-2" in lines[0], (command, result.stderr)


async def test_a_store_broken_for_good_stops_duroxide_run_with_one_line_and_exit_1(fault_store, runners):
    client = Client(await fault_store.open())
    runner = runners("runner").wait_ready()
    await client.start_orchestration("chain-1", "Chain", {"steps": 2})
    await client.wait_for_orchestration("chain-1", timeout_ms=30_000)
    await client.provider.close()
    await fault_store.drop_table("worker_queue")  # a schema this code cannot work with
    code = await asyncio.to_thread(runner.process.wait, 30)
    assert code == 1, runner.stderr
    stderr = runner.stderr
    assert "Traceback" not in stderr
    assert stderr.count("worker_queue") <= 3  # the log line, and the exit's one line
    assert stderr.strip().splitlines()[-1].startswith("error: ") and "worker_queue" in stderr.strip().splitlines()[-1]


async def test_row_locks_held_elsewhere_hold_back_only_their_instances(fault_store, runners):
    fault_store.skip_unless("postgres", why="SQLite locks the whole file, never one row; the write lock case covers it")
    client = Client(await fault_store.open())
    ids = [f"chain-{i}" for i in range(6)]
    for instance_id in ids:
        await client.start_orchestration(instance_id, "Chain", {"steps": 3})
    held_ids, free_ids = ids[:2], ids[2:]
    async with fault_store.row_locks_held(held_ids) as held:
        runner = runners("runner").wait_ready()
        states = [await client.wait_for_orchestration(i, timeout_ms=30_000) for i in free_ids]
        assert [s.output for s in states] == [3] * len(free_ids)
        status = await asyncio.to_thread(_duroxide, fault_store, "status", held_ids[0], "--json")
        assert status.returncode == 0, status.stderr
        for instance_id in held_ids:  # a fetch skips a locked row rather than wait for it
            assert (await client.get_status(instance_id)).status == "Pending"
            assert await client.read_history(instance_id) == []
        assert held.is_set()
    states = [await client.wait_for_orchestration(i, timeout_ms=30_000) for i in held_ids]
    assert [s.output for s in states] == [3] * len(held_ids)
    assert runner.stop() == 0, runner.stderr
    assert set(fault_store.activity_runs().values()) == {1}
    await assert_histories_exact(client.provider)


async def test_connections_dropped_under_duroxide_run_are_ridden_out(fault_store, runners):
    fault_store.skip_unless("postgres", why="a SQLite store is a file opened in the process, with no connection to drop")
    client = Client(await fault_store.open())
    ids = [f"chain-{i}" for i in range(12)]
    for instance_id in ids:
        await client.start_orchestration(instance_id, "Chain", {"steps": 4, "sleep": 0.25})
    await client.provider.close()  # the test's own connections would be dropped too
    runner = runners("runner").wait_ready()
    dropped = 0
    for _ in range(25):  # every connection of the store, runtime and listener alike, 25 times in 2.5 s
        await asyncio.sleep(0.1)
        dropped += await fault_store.drop_connections()
        assert runner.process.poll() is None, runner.stderr
    assert dropped >= 25
    client = Client(await fault_store.open())
    states = [await client.wait_for_orchestration(i, timeout_ms=60_000) for i in ids]
    assert [(s.status, s.output) for s in states] == [("Completed", 6)] * len(ids)
    assert runner.stop() == 0, runner.stderr
    assert "Traceback" not in runner.stderr
    assert "retrying in" in runner.stderr, "no call was in flight at a drop: the case proved nothing"
    runs = fault_store.activity_runs()
    assert len(runs) == 4 * len(ids) and all(count <= 2 for count in runs.values()), runs
    await assert_histories_exact(client.provider)

"""What only the SQLite store promises: WAL, its schema table, files shared by processes."""

from __future__ import annotations

import asyncio
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from duroxide_cli.errors import ConfigError, ProviderError
from duroxide_cli.providers._sqlite import connection, database
from duroxide_cli.providers._sqlite.schema import load_migrations
from duroxide_cli.providers.sqlite import SqliteProvider

from .builders import create, event_message, fetch_all, fetch_one, now_ms, turn
from .two_process_worker import EVENTS_PER_INSTANCE

WORKER = Path(__file__).with_name("two_process_worker.py")


def _query(path: Path, sql: str) -> list[tuple]:
    conn = sqlite3.connect(path)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


async def _open_and_close(path: Path) -> None:
    provider = await SqliteProvider.open(path)
    await provider.close()


async def test_file_is_in_wal_mode(tmp_path):
    await _open_and_close(tmp_path / "s.db")
    assert _query(tmp_path / "s.db", "PRAGMA journal_mode") == [("wal",)]


async def test_schema_version_is_recorded(tmp_path):
    await _open_and_close(tmp_path / "s.db")
    versions = [row[0] for row in _query(tmp_path / "s.db", "SELECT version FROM schema_version ORDER BY version")]
    assert versions == [m.version for m in load_migrations()]
    assert versions[0] == 1


async def test_parent_directories_are_created(tmp_path):
    await _open_and_close(tmp_path / "a" / "b" / "s.db")
    assert (tmp_path / "a" / "b" / "s.db").exists()


async def test_reopen_keeps_the_data_and_migrates_once(tmp_path):
    path = tmp_path / "s.db"
    provider = await SqliteProvider.open(path)
    await create(provider, "a", input={"kept": True})
    await provider.close()
    provider = await SqliteProvider.open(path)
    try:
        work = await fetch_one(provider, "a")
        assert work.messages[0].message.body.input == {"kept": True}
    finally:
        await provider.close()
    assert len(_query(path, "SELECT * FROM schema_version")) == len(load_migrations())


async def test_newer_schema_is_refused(tmp_path):
    path = tmp_path / "s.db"
    await _open_and_close(path)
    conn = sqlite3.connect(path)
    conn.execute("INSERT INTO schema_version (version, name, applied_at_ms) VALUES (999, '999_future.sql', 0)")
    conn.commit()
    conn.close()
    with pytest.raises(ConfigError, match="newer duroxide") as raised:
        await SqliteProvider.open(path)
    assert "999" in str(raised.value)


async def test_two_providers_opening_a_new_file_at_once_both_work(tmp_path):
    path = tmp_path / "s.db"
    first, second = await asyncio.gather(SqliteProvider.open(path), SqliteProvider.open(path))
    try:
        await create(first, "a")
        assert "a" in await fetch_all(second)
    finally:
        await first.close()
        await second.close()
    assert len(_query(path, "SELECT * FROM schema_version")) == len(load_migrations())


async def test_in_memory_stores_are_private():
    first, second = await SqliteProvider.in_memory(), await SqliteProvider.in_memory()
    try:
        await create(first, "a")
        assert await second.get_instance("a") is None
    finally:
        await first.close()
        await second.close()


async def test_closed_provider_raises_provider_error():
    provider = await SqliteProvider.in_memory()
    await provider.close()
    await provider.close()
    with pytest.raises(ProviderError) as raised:
        await provider.get_instance("a")
    assert raised.value.operation == "get_instance" and not raised.value.retryable


async def test_locked_database_is_a_retryable_provider_error(tmp_path, monkeypatch):
    monkeypatch.setattr(connection, "BUSY_TIMEOUT_MS", 100)
    path = tmp_path / "s.db"
    provider = await SqliteProvider.open(path)
    blocker = sqlite3.connect(path, isolation_level=None)
    try:
        blocker.execute("BEGIN IMMEDIATE")
        with pytest.raises(ProviderError) as raised:
            await create(provider, "a")
        assert raised.value.retryable and raised.value.operation == "create_instance"
        blocker.execute("ROLLBACK")
        await create(provider, "a")
    finally:
        blocker.close()
        await provider.close()


async def test_timer_written_by_another_process_wakes_the_wait_when_due(tmp_path):
    path = tmp_path / "s.db"
    provider, other = await SqliteProvider.open(path), await SqliteProvider.open(path)
    try:
        await create(other, "a")
        await provider.commit_turns([turn(await fetch_one(provider, "a"))])
        await other.enqueue_message(event_message("a", "timer"), visible_at_ms=now_ms() + 300)
        assert await fetch_all(provider) == {}, "the fetch learns when the timer is due"
        loop = asyncio.get_running_loop()
        started = loop.time()
        await provider.wait_for_work("orchestrator", 20_000)
        assert loop.time() - started < 5
        assert "a" in await fetch_all(provider)
    finally:
        await provider.close()
        await other.close()


async def test_work_a_fetch_already_took_does_not_end_the_next_wait(tmp_path):
    """A start committed while the dispatcher fetched is in that fetch's result: the idle wait
    that follows waits for new work instead of returning at once for an empty fetch."""
    provider = await SqliteProvider.open(tmp_path / "seen.db")
    try:
        await provider.wait_for_work("orchestrator", 0)
        await create(provider, "a")  # nobody waits: the next wait would end at once
        assert "a" in await fetch_all(provider)
        loop = asyncio.get_running_loop()
        started = loop.time()
        await provider.wait_for_work("orchestrator", 300)
        assert loop.time() - started >= 0.2
        await create(provider, "b")  # written after the fetch: the next wait ends at once
        started = loop.time()
        await provider.wait_for_work("orchestrator", 20_000)
        assert loop.time() - started < 5
    finally:
        await provider.close()


def test_two_processes_share_a_file_without_errors_or_lost_messages(tmp_path):
    path, count = tmp_path / "shared.db", 40
    processes = [
        subprocess.Popen(
            [sys.executable, str(WORKER), str(path), prefix, str(count)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for prefix in ("p1", "p2")
    ]
    turns = []
    for proc in processes:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        turns.append(int(out.strip()))
    assert all(t > 0 for t in turns), f"both processes committed turns: {turns}"

    rows = _query(path, "SELECT instance_id, event_id, kind, body FROM history ORDER BY instance_id, event_id")
    by_instance: dict[str, list[tuple[int, str, str]]] = {}
    for instance_id, event_id, kind, body in rows:
        by_instance.setdefault(instance_id, []).append((event_id, kind, body))
    assert len(by_instance) == 2 * count
    for instance_id, events in by_instance.items():
        assert [e[0] for e in events] == list(range(1, EVENTS_PER_INSTANCE + 2)), instance_id
        assert events[0][1] == "OrchestrationStarted"
        names = sorted(body for _, kind, body in events if kind == "EventRaised")
        assert len(set(names)) == EVENTS_PER_INSTANCE, f"{instance_id}: a message was lost or applied twice"
    assert _query(path, "SELECT COUNT(*) FROM orchestrator_queue") == [(0,)]


async def test_unusable_path_is_a_provider_error(tmp_path):
    (tmp_path / "file").write_text("not a directory")
    with pytest.raises(ProviderError) as raised:
        await SqliteProvider.open(tmp_path / "file" / "s.db")
    assert raised.value.operation == "open" and "s.db" in str(raised.value)


def _version_one_store(path: Path) -> None:
    """A store as duroxide wrote it before migration 2: one running instance held back (its
    reason in ``error``), one failed."""
    conn = sqlite3.connect(path)
    first = load_migrations()[0]
    conn.execute("CREATE TABLE schema_version (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at_ms INTEGER NOT NULL)")
    conn.executescript(first.sql)
    conn.execute("INSERT INTO schema_version VALUES (1, ?, 0)", (first.name,))
    held = "held back by `duroxide run --reload`: the current code diverges from its history at app.py:3"
    for instance_id, status, error in (("held", "Running", held), ("failed", "Failed", "ValueError: bad")):
        conn.execute(
            "INSERT INTO instances (id, name, version, status, execution_id, error, created_at_ms, updated_at_ms)"
            " VALUES (?, 'Flow', '1.0.0', ?, 1, ?, 0, 0)",
            (instance_id, status, error),
        )
    conn.commit()
    conn.close()


async def test_a_version_one_store_is_migrated_in_place(tmp_path):
    path = tmp_path / "old.db"
    _version_one_store(path)
    provider = await SqliteProvider.open(path)
    try:
        held, failed = await provider.get_instance("held"), await provider.get_instance("failed")
        assert held is not None and failed is not None
        assert held.incarnation and failed.incarnation and held.incarnation != failed.incarnation
        reason = "held back by `duroxide run --reload`: the current code diverges from its history at app.py:3"
        assert (held.status, held.error, held.held) == ("Running", None, reason)
        assert (failed.error, failed.held) == ("ValueError: bad", None)
        await create(provider, "new")
        assert "new" in await fetch_all(provider)
    finally:
        await provider.close()
    versions = [row[0] for row in _query(path, "SELECT version FROM schema_version ORDER BY version")]
    assert versions == [m.version for m in load_migrations()]


async def test_open_is_fully_synchronous_unless_told_otherwise(tmp_path):
    durable = await SqliteProvider.open(tmp_path / "a.db")
    faster = await SqliteProvider.open(tmp_path / "b.db", synchronous="normal")
    try:
        assert (durable.synchronous, faster.synchronous) == ("full", "normal")
    finally:
        await durable.close()
        await faster.close()


async def test_open_refuses_an_unknown_synchronous_level(tmp_path):
    with pytest.raises(ValueError, match="full or normal"):
        await SqliteProvider.open(tmp_path / "a.db", synchronous="off")  # type: ignore[arg-type]


async def test_concurrent_calls_share_one_commit(tmp_path: Path, monkeypatch):
    """Group commit: writes started while a transaction runs are committed together, each
    caller answered only after the commit that holds its write."""
    provider = await SqliteProvider.open(tmp_path / "group.db")
    groups: list[int] = []
    original = database.run_group_txn

    def counting(db, conn, group):
        groups.append(len(group))
        return original(db, conn, group)

    monkeypatch.setattr(database, "run_group_txn", counting)
    try:
        await asyncio.gather(*(create(provider, f"g-{i}") for i in range(50)))
        assert sum(groups) == 50 and len(groups) < 50
        assert _query(tmp_path / "group.db", "SELECT COUNT(*) FROM instances") == [(50,)]
    finally:
        await provider.close()


async def test_fetches_alone_do_not_wait_for_the_disk_and_writes_do(tmp_path: Path):
    """A group of fetches (leases only) commits at synchronous=NORMAL; the connection is back
    at FULL for everything else."""
    provider = await SqliteProvider.open(tmp_path / "sync.db")
    try:
        from duroxide_cli.providers._sqlite.wakeups import Wake

        db = provider._db

        def level(conn, now_ms, *_):
            return [conn.execute("PRAGMA synchronous").fetchone()[0]]

        await create(provider, "a")
        assert await db.call("probe", db.poll, "worker", "probe", level, Wake()) == [1]  # NORMAL
        assert await db.call("probe", db.write, level, Wake()) == [2]  # FULL
        assert await db.call("probe", db.read, level) == [2]
        await fetch_one(provider, "a")
    finally:
        await provider.close()

"""How the SQLite store reports trouble: error classes by SQLite's result codes, rows that no
longer decode, and opening to read only."""

from __future__ import annotations

import contextlib
import sqlite3

import pytest

from duroxide_cli import ProviderError
from duroxide_cli.history import OrchestrationStarted
from duroxide_cli.messages import Message
from duroxide_cli.providers._sqlite.connection import is_retryable
from duroxide_cli.providers.base import InstanceUpdate, NewActivity, TurnCommit
from duroxide_cli.providers.sqlite import SqliteProvider


def _real_error(make) -> sqlite3.Error:
    try:
        make()
    except sqlite3.Error as error:
        return error
    raise AssertionError("no error")


def test_errors_are_classified_by_what_retrying_can_fix(tmp_path):
    db = tmp_path / "x.db"
    with contextlib.closing(sqlite3.connect(db, isolation_level=None)) as conn:
        conn.execute("CREATE TABLE t (x)")
        conn.execute("BEGIN IMMEDIATE")
        other = sqlite3.connect(db, timeout=0, isolation_level=None)
        busy = _real_error(lambda: other.execute("BEGIN IMMEDIATE"))
        conn.execute("ROLLBACK")
        other.close()
    read_only = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    readonly = _real_error(lambda: read_only.execute("INSERT INTO t VALUES (1)"))
    read_only.close()
    missing = _real_error(lambda: sqlite3.connect(db).execute("SELECT * FROM nowhere"))
    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(b"not a database" * 100)
    notadb = _real_error(lambda: sqlite3.connect(garbage).execute("SELECT * FROM sqlite_master").fetchall())
    assert is_retryable(busy)
    assert not is_retryable(readonly)
    assert not is_retryable(missing)
    assert not is_retryable(notadb)


def test_the_text_fallback_classifies_errors_without_a_code():
    assert is_retryable(sqlite3.OperationalError("database is locked"))
    assert is_retryable(sqlite3.OperationalError("database or disk is full"))
    assert is_retryable(sqlite3.OperationalError("disk I/O error"))
    assert not is_retryable(sqlite3.DatabaseError("database disk image is malformed"))
    assert not is_retryable(sqlite3.OperationalError("attempt to write a readonly database"))


def _start(instance_id: str) -> Message:
    return Message(instance_id, OrchestrationStarted("O", "1.0.0", None), 1)


async def test_an_unreadable_message_fails_only_its_instances_work(tmp_path):
    provider = await SqliteProvider.open(tmp_path / "s.db")
    try:
        for instance_id in ("good", "bad"):
            await provider.create_instance(_start(instance_id))
        with contextlib.closing(sqlite3.connect(tmp_path / "s.db")) as conn:
            conn.execute("UPDATE orchestrator_queue SET body = 'nope' WHERE instance_id = 'bad'")
            conn.commit()
        work = {w.instance.instance_id: w for w in await provider.fetch_orchestration_work(10, 5000, "me", {})}
        assert work["good"].unreadable is None and len(work["good"].messages) == 1
        bad = work["bad"]
        assert bad.unreadable is not None and "queued message" in bad.unreadable and "'bad'" in bad.unreadable
        assert bad.messages == [] and len(bad.unreadable_message_ids) == 1
    finally:
        await provider.close()


async def test_unreadable_activity_work_comes_with_a_marker(tmp_path):
    provider = await SqliteProvider.open(tmp_path / "s.db")
    try:
        await provider.create_instance(_start("i"))
        (work,) = await provider.fetch_orchestration_work(1, 5000, "me", {})
        activities = [NewActivity(1, n, "A", n, 1, "O", "1.0.0") for n in (2, 3)]
        commit = TurnCommit("i", work.lock_token, 1, [], [q.message_id for q in work.messages], InstanceUpdate("Running", "1.0.0"), activities)
        assert await provider.commit_turns([commit]) == ["committed"]
        with contextlib.closing(sqlite3.connect(tmp_path / "s.db")) as conn:
            conn.execute("UPDATE worker_queue SET body = '{' WHERE event_id = 3")
            conn.commit()
        fetched = {w.activity.event_id: w for w in await provider.fetch_activity_work(10, 5000, "me")}
        assert fetched[2].unreadable is None and fetched[2].activity.input == 2
        assert fetched[3].unreadable is not None and "activity 3" in fetched[3].unreadable
    finally:
        await provider.close()


async def test_reading_an_unreadable_history_raises_a_permanent_provider_error(tmp_path):
    provider = await SqliteProvider.open(tmp_path / "s.db")
    try:
        await provider.create_instance(_start("i"))
        (work,) = await provider.fetch_orchestration_work(1, 5000, "me", {})
        from duroxide_cli.history import HistoryEvent

        commit = TurnCommit("i", work.lock_token, 1, [HistoryEvent(1, 0, OrchestrationStarted("O", "1.0.0", None))], [], InstanceUpdate("Running", "1.0.0"))
        assert await provider.commit_turns([commit]) == ["committed"]
        with contextlib.closing(sqlite3.connect(tmp_path / "s.db")) as conn:
            conn.execute("UPDATE history SET kind = 'NoSuchKind'")
            conn.commit()
        with pytest.raises(ProviderError) as raised:
            await provider.read_history("i")
        assert not raised.value.retryable and "event 1" in str(raised.value) and "'i'" in str(raised.value)
    finally:
        await provider.close()


async def test_a_read_only_store_reads_while_the_write_lock_is_held_and_refuses_writes(tmp_path):
    writer = await SqliteProvider.open(tmp_path / "s.db")
    await writer.create_instance(_start("i"))
    await writer.close()
    with contextlib.closing(sqlite3.connect(tmp_path / "s.db", isolation_level=None)) as holder:
        holder.execute("BEGIN IMMEDIATE")
        reader = await SqliteProvider.open(tmp_path / "s.db", read_only=True)
        try:
            assert (await reader.get_instance("i")).status == "Pending"
            with pytest.raises(ProviderError) as raised:
                await reader.create_instance(_start("j"))
            assert not raised.value.retryable and "read only" in str(raised.value)
        finally:
            await reader.close()
        holder.execute("ROLLBACK")

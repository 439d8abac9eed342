"""What only the PostgreSQL store promises: its schema and migrations, several processes on one
schema (row locks, NOTIFY), dropped connections as retryable errors, and rows that no longer
decode failing only their own instance."""

from __future__ import annotations

import asyncio
import json
import time

import asyncpg
import pytest
import pytest_asyncio
from postgres_support import PG_CONNECT_URL, build_schema_at, drop_schema, new_schema_name, require_postgres

from duroxide_cli.errors import ConfigError, ProviderError
from duroxide_cli.history import OrchestrationStarted
from duroxide_cli.providers._postgres.database import application_name
from duroxide_cli.providers._postgres.migrations import load_migrations
from duroxide_cli.providers.postgres import PostgresProvider

from .builders import activity, create, event_message, fetch_all, now_ms, turn
from .conftest import Store

STARTED = OrchestrationStarted("Flow", "1.0.0")


@pytest_asyncio.fixture
async def store(tmp_path):
    """The suite's PostgreSQL store alone (this module's tests are not for the other stores)."""
    opened = Store("postgres", tmp_path)
    yield opened
    await opened.close()


@pytest_asyncio.fixture
async def schema():
    await require_postgres()
    name = new_schema_name()
    yield name
    await drop_schema(name)


async def _query(sql: str, *args):
    conn = await asyncpg.connect(PG_CONNECT_URL)
    try:
        return await conn.fetch(sql, *args)
    finally:
        await conn.close()


async def test_the_schema_records_every_migration_once(schema):
    for _ in range(2):
        provider = await PostgresProvider.connect(PG_CONNECT_URL, schema=schema)
        await provider.close()
    rows = await _query(f'SELECT version FROM "{schema}".schema_version ORDER BY version')
    assert [row["version"] for row in rows] == [m.version for m in load_migrations()]


async def test_providers_opening_a_new_schema_at_once_all_work(schema):
    providers = await asyncio.gather(*(PostgresProvider.connect(PG_CONNECT_URL, schema=schema) for _ in range(4)))
    try:
        for index, provider in enumerate(providers):
            await create(provider, f"i-{index}")
        assert len(await fetch_all(providers[0])) == 4
    finally:
        for provider in providers:
            await provider.close()


async def test_a_schema_made_by_a_newer_duroxide_is_refused(schema):
    provider = await PostgresProvider.connect(PG_CONNECT_URL, schema=schema)
    await provider.close()
    await _query(f"INSERT INTO \"{schema}\".schema_version (version, name) VALUES (999, '999_future.sql')")
    with pytest.raises(ConfigError, match="newer duroxide") as raised:
        await PostgresProvider.connect(PG_CONNECT_URL, schema=schema)
    assert "999" in str(raised.value)


async def test_an_unreachable_server_is_a_retryable_provider_error():
    with pytest.raises(ProviderError) as raised:
        await PostgresProvider.connect("postgresql://postgres@127.0.0.1:1/none", schema="x")
    assert raised.value.retryable


async def test_a_dropped_connection_is_retryable_and_the_next_call_reconnects(schema):
    provider = await PostgresProvider.connect(PG_CONNECT_URL, schema=schema)
    try:
        await create(provider, "a")
        await _query(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1",
            application_name(schema),
        )
        errors = []
        for _ in range(5):
            try:
                record = await provider.get_instance("a")
                break
            except ProviderError as error:
                errors.append(error)
        assert record is not None and record.instance_id == "a"
        assert all(error.retryable for error in errors)
    finally:
        await provider.close()


async def test_concurrent_fetches_never_take_the_same_instance(provider, store):
    others = [await store.open() for _ in range(3)]
    for index in range(40):
        await create(provider, f"i-{index:02}")
    fetched = await asyncio.gather(*(p.fetch_orchestration_work(6, 30_000, "test", {}) for p in [provider, *others] * 3))
    ids = [work.instance.instance_id for batch in fetched for work in batch]
    assert len(ids) == len(set(ids))
    assert len(ids) >= 20


async def test_a_write_by_another_process_wakes_a_waiting_dispatcher(provider, other_process):
    await provider.wait_for_work("orchestrator", 0)
    waiter = asyncio.create_task(provider.wait_for_work("orchestrator", 20_000))
    await asyncio.sleep(0.05)
    started = time.monotonic()
    await create(other_process, "a")
    await asyncio.wait_for(waiter, 5)
    assert time.monotonic() - started < 5


async def test_a_timer_written_by_another_process_wakes_the_wait_when_due(provider, other_process):
    await create(other_process, "a")
    [work] = (await fetch_all(other_process)).values()
    await other_process.commit_turns([turn(work, STARTED)])
    await other_process.enqueue_message(event_message("a", "timer"), visible_at_ms=now_ms() + 400)
    started = time.monotonic()
    while "a" not in await fetch_all(provider):
        await provider.wait_for_work("orchestrator", 20_000)
        assert time.monotonic() - started < 5, "the timer did not wake the wait"





async def _damage(schema: str, sql: str) -> None:
    """Run ``sql`` in the store's schema from another connection, as a hand edit would."""
    conn = await asyncpg.connect(PG_CONNECT_URL, server_settings={"search_path": schema})
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def test_an_unreadable_message_fails_only_its_instances_work(provider, store):
    for instance_id in ("good", "bad"):
        await create(provider, instance_id)
    await _damage(store.schema, "UPDATE orchestrator_queue SET body = 'nope' WHERE instance_id = 'bad'")
    work = await fetch_all(provider)
    assert work["good"].unreadable is None and len(work["good"].messages) == 1
    bad = work["bad"]
    assert bad.unreadable is not None and "queued message" in bad.unreadable and "'bad'" in bad.unreadable
    assert bad.messages == [] and len(bad.unreadable_message_ids) == 1


async def test_an_unreadable_history_event_cuts_the_history_of_its_instance_only(provider, store):
    for instance_id in ("good", "bad"):
        await create(provider, instance_id)
    for work in (await fetch_all(provider)).values():
        assert await provider.commit_turns([turn(work, STARTED, event_message("x").body)]) == ["committed"]
    await _damage(store.schema, "UPDATE history SET body = '{\"name\": oops' WHERE instance_id = 'bad' AND event_id = 2")
    await _damage(store.schema, "UPDATE instances SET custom_status = '[' WHERE id = 'bad'")
    for instance_id in ("good", "bad"):
        await provider.enqueue_message(event_message(instance_id))
    work = await fetch_all(provider)
    assert work["good"].unreadable is None and len(work["good"].history) == 2
    bad = work["bad"]
    assert [e.event_id for e in bad.history] == [1] and bad.instance.custom_status is None
    assert bad.unreadable is not None and "event 2" in bad.unreadable and "'bad'" in bad.unreadable
    assert "the row of instance 'bad'" in bad.unreadable and len(bad.messages) == 1


async def test_unreadable_activity_work_comes_with_a_marker(provider, store):
    await create(provider, "i")
    [work] = (await fetch_all(provider)).values()
    commit = turn(work, STARTED, activities=[activity(2, input=2), activity(3, input=3)])
    assert await provider.commit_turns([commit]) == ["committed"]
    await _damage(store.schema, "UPDATE worker_queue SET body = '{' WHERE event_id = 3")
    fetched = {w.activity.event_id: w for w in await provider.fetch_activity_work(10, 30_000, "w")}
    assert fetched[2].unreadable is None and fetched[2].activity.input == 2
    assert fetched[3].unreadable is not None and "activity 3" in fetched[3].unreadable
    assert fetched[3].activity.name == "?"


async def test_reading_an_unreadable_row_raises_a_permanent_provider_error(provider, store):
    await create(provider, "i")
    [work] = (await fetch_all(provider)).values()
    assert await provider.commit_turns([turn(work, STARTED)]) == ["committed"]
    await _damage(store.schema, "UPDATE history SET kind = 'NoSuchKind'; UPDATE instances SET output = 'x{'")
    with pytest.raises(ProviderError) as raised:
        await provider.read_history("i")
    assert not raised.value.retryable and "event 1" in str(raised.value) and "'i'" in str(raised.value)
    for read in (provider.get_instance("i"), provider.list_instances(), provider.list_instances_page()):
        with pytest.raises(ProviderError) as raised:
            await read
        assert not raised.value.retryable and "instance 'i'" in str(raised.value)


async def test_an_id_holding_the_known_separator_gets_whole_histories_not_wrong_ones(provider):
    """What the caller holds travels as joined lists; an id with the separator in it would shift
    them, so then every fetched history comes whole (always correct) instead of misread."""
    from duroxide_cli.history import ActivityScheduled
    from duroxide_cli.providers._postgres.codec import KNOWN_SEPARATOR
    from duroxide_cli.providers.base import KnownHistory

    odd = f"odd{KNOWN_SEPARATOR}id"
    for iid in ("a", odd):
        await create(provider, iid)
    started = await fetch_all(provider)
    assert await provider.commit_turns([turn(w, STARTED, ActivityScheduled("Charge", 5)) for w in started.values()]) == [
        "committed", "committed"
    ]
    for iid in ("a", odd):
        await provider.enqueue_message(event_message(iid))
    known = {iid: KnownHistory(w.instance.incarnation, 1, 2) for iid, w in started.items()}
    work = await fetch_all(provider, known=known)
    assert {iid: (w.history_after, len(w.history)) for iid, w in work.items()} == {"a": (0, 2), odd: (0, 2)}


async def test_a_process_of_the_previous_version_keeps_working_after_the_upgrade(schema):
    """A schema at version 3 is migrated by a newer process while an older one still serves it:
    the older one's fetch and commit statements keep working."""
    conn = await asyncpg.connect(PG_CONNECT_URL, server_settings={"search_path": schema})
    try:
        await build_schema_at(conn, schema, 3)
        provider = await PostgresProvider.connect(PG_CONNECT_URL, schema=schema)
        try:
            await create(provider, "a")
        finally:
            await provider.close()
        fetched = json.loads(await conn.fetchval("SELECT fetch_orchestration_work(NULL, 1, 30000, 'old', '{}'::json, NULL)"))
        [work] = fetched["work"]
        assert work["instance"]["id"] == "a"
        old_turn = {
            "instance_id": "a", "lock_token": work["lock_token"], "execution_id": 1, "next_execution_id": None,
            "events": [[1, "OrchestrationStarted", now_ms(), work["messages"][0][3]]],
            "consumed_message_ids": [work["messages"][0][0]],
            "instance": {"status": "Running", "version": "1.0.0", "output": None, "error": None, "failure": None,
                         "custom_status": None},
            "activities": [], "messages": [], "starts": [], "cancel_activities": [],
        }
        [result] = json.loads(await conn.fetchval("SELECT commit_turns(NULL, $1::json)", json.dumps([old_turn])))
        assert result["outcome"] == "committed"
        assert await conn.fetchval("SELECT status FROM instances WHERE id = 'a'") == "Running"
    finally:
        await conn.close()


async def test_a_schema_at_version_5_with_work_under_way_is_upgraded_and_its_processes_keep_working(schema):
    """A schema at version 5 holding a locked instance and leased activity work is migrated by a
    newer process; the work under way finishes, and a process of version 5 (its statements as
    they were) keeps fetching, locking and committing."""
    conn = await asyncpg.connect(PG_CONNECT_URL, server_settings={"search_path": schema})
    try:
        await build_schema_at(conn, schema, 5)
        for instance_id in ("a", "b"):
            assert await conn.fetchval("SELECT insert_instance(clock_ms(NULL), $1, 'Flow', '1.0.0', NULL, $2)", instance_id,
                                       json.dumps({"name": "Flow", "version": "1.0.0"}))
        fetch = "SELECT fetch_orchestration_work(NULL, 10, 30000, 'old', '', '', '', '', NULL)"
        works = {w["instance"]["id"]: w for w in json.loads(await conn.fetchval(fetch))["work"]}

        def first_turn(work, lease):
            return {
                "instance_id": work["instance"]["id"], "lock_token": work["lock_token"], "execution_id": 1,
                "next_execution_id": None, "consumed_message_ids": [work["messages"][0][0]],
                "events": [[1, "OrchestrationStarted", now_ms(), work["messages"][0][3]],
                           [2, "ActivityScheduled", now_ms(), json.dumps({"name": "A", "input": None, "attempt": 1})]],
                "instance": {"status": "Running", "version": "1.0.0", "output": None, "error": None, "failure": None,
                             "custom_status": None},
                "activities": [[1, 2, json.dumps({"name": "A", "input": None, "attempt": 1, "orchestration_name": "Flow",
                                                  "orchestration_version": "1.0.0"})]],
                "messages": [], "starts": [], "cancel_activities": [], "completed_work": [],
                "lease_activities": {"owner": "old", "lock_timeout_ms": 30000, "limit": 1} if lease else None,
            }

        [a_result] = json.loads(await conn.fetchval("SELECT commit_turns(NULL, $1::json)", json.dumps([first_turn(works["a"], True)])))
        [leased] = a_result["leased"]
        # b stays locked by the old process across the upgrade

        provider = await PostgresProvider.connect(PG_CONNECT_URL, schema=schema)
        try:
            assert await provider.fetch_orchestration_work(10, 30_000, "new", {}) == []
            assert await provider.fetch_activity_work(10, 30_000, "new") == [], "a's activity is still leased"
        finally:
            await provider.close()
        versions = [r["version"] for r in await conn.fetch("SELECT version FROM schema_version ORDER BY version")]
        assert versions == [m.version for m in load_migrations()]

        # the old process finishes what it held, with its own statements
        [b_result] = json.loads(await conn.fetchval("SELECT commit_turns(NULL, $1::json)", json.dumps([first_turn(works["b"], False)])))
        assert (b_result["outcome"], b_result["leased"]) == ("committed", [])
        locked = json.loads(await conn.fetchval("SELECT lock_instance(NULL, 'a', 30000, 'old', NULL, NULL, NULL)"))
        assert [event[0] for event in locked["history"]] == [1, 2]
        done = {
            "instance_id": "a", "lock_token": locked["lock_token"], "execution_id": 1, "next_execution_id": None,
            "consumed_message_ids": [], "events": [[3, "ActivityCompleted", now_ms(), json.dumps({"source_event_id": 2, "result": 1})],
                                                   [4, "OrchestrationCompleted", now_ms(), json.dumps({"output": 1})]],
            "instance": {"status": "Completed", "version": "1.0.0", "output": "1", "error": None, "failure": None,
                         "custom_status": None},
            "activities": [], "messages": [], "starts": [], "cancel_activities": [],
            "completed_work": [leased[:2]], "lease_activities": None,
        }
        [outcome] = json.loads(await conn.fetchval("SELECT commit_turns(NULL, $1::json)", json.dumps([done])))
        assert outcome["outcome"] == "committed"
        assert await conn.fetchval("SELECT status FROM instances WHERE id = 'a'") == "Completed"
        fetched = json.loads(await conn.fetchval("SELECT fetch_activity_work(NULL, 10, 30000, 'old', NULL)"))
        assert [w[2] for w in fetched["work"]] == ["b"]
        assert await conn.fetchval("SELECT complete_activities(NULL, $1::json)", json.dumps(
            [[fetched["work"][0][0], fetched["work"][0][1], "b", 1, "ActivityCompleted",
              json.dumps({"source_event_id": 2, "result": 2})]])) == [True]
    finally:
        await conn.close()

"""PostgreSQL only: a chain of activities under way while its schema is upgraded to version 8,
where a lone turn that takes its instance's lock is committed by a function of its own."""

from __future__ import annotations

import json

import asyncpg
import pytest_asyncio
from postgres_support import PG_CONNECT_URL, build_schema_at, drop_schema, new_schema_name, require_postgres

from duroxide_cli.history import ActivityCompleted, ActivityScheduled
from duroxide_cli.providers.base import ActivityLease, HeldWork, InstanceUpdate, TakeLock, TurnCommit
from duroxide_cli.providers.postgres import PostgresProvider

from .builders import activity, events, now_ms


@pytest_asyncio.fixture
async def schema():
    await require_postgres()
    name = new_schema_name()
    yield name
    await drop_schema(name)


def _step(leased: list, history_len: int, incarnation: str, owner: str) -> dict:
    """A version-7 process's turn taking the lock: the result of ``leased``, the next activity leased."""
    scheduled = json.dumps({"name": "A", "input": None, "attempt": 1})
    return {
        "instance_id": "a", "lock_token": "", "execution_id": 1, "next_execution_id": None, "consumed_message_ids": [],
        "events": [[history_len + 1, "ActivityCompleted", now_ms(), json.dumps({"source_event_id": history_len, "result": 1})],
                   [history_len + 2, "ActivityScheduled", now_ms(), scheduled]],
        "instance": {"status": "Running", "version": "1.0.0", "output": None, "error": None, "failure": None,
                     "custom_status": None},
        "activities": [[1, history_len + 2, json.dumps({"name": "A", "input": None, "attempt": 1, "orchestration_name": "Flow",
                                                        "orchestration_version": "1.0.0"})]],
        "messages": [], "starts": [], "cancel_activities": [], "completed_work": [leased[:2]],
        "lease_activities": {"owner": owner, "lock_timeout_ms": 30000, "limit": 1},
        "take_lock": {"incarnation": incarnation, "history_len": history_len},
    }


async def test_a_chain_under_way_across_the_upgrade_to_version_8_goes_on_in_old_and_new_processes(schema):
    conn = await asyncpg.connect(PG_CONNECT_URL, server_settings={"search_path": schema})
    try:
        await build_schema_at(conn, schema, 7)
        started = json.dumps({"name": "Flow", "version": "1.0.0"})
        assert await conn.fetchval("SELECT insert_instance(clock_ms(NULL), 'a', 'Flow', '1.0.0', NULL, $1)", started)
        [work] = json.loads(await conn.fetchval(
            "SELECT fetch_orchestration_work(NULL, 1, 30000, 'old', '', '', '', '', NULL)"))["work"]
        incarnation = work["instance"]["incarnation"]
        first = {**_step([None, None], 0, incarnation, "old"), "lock_token": work["lock_token"], "take_lock": None,
                 "completed_work": [], "consumed_message_ids": [work["messages"][0][0]]}
        first["events"][0] = [1, "OrchestrationStarted", now_ms(), work["messages"][0][3]]
        [result] = json.loads(await conn.fetchval("SELECT commit_turns(NULL, $1::json)", json.dumps([first])))
        [leased_by_old] = result["leased"]

        provider = await PostgresProvider.connect(PG_CONNECT_URL, schema=schema)
        try:
            # the new process goes on with the work a version-7 process leased
            held = HeldWork(leased_by_old[0], leased_by_old[1])
            [step] = await provider.commit_turns_leasing([TurnCommit(
                "a", "", 1, events(3, ActivityCompleted(2, 1), ActivityScheduled("A", None)), [],
                InstanceUpdate("Running", "1.0.0"), activities=[activity(4, "A")],
                lease_activities=ActivityLease("new", 30_000, 1), completed_work=[held], take_lock=TakeLock(incarnation, 2),
            )])
            assert step.outcome == "committed"
            [leased_by_new] = step.leased
        finally:
            await provider.close()

        # and a version-7 process, with its own statement, goes on with the work the new one leased
        old_step = _step([leased_by_new.work_id, leased_by_new.lock_token], 4, incarnation, "old")
        [result] = json.loads(await conn.fetchval("SELECT commit_turns_taking_locks(NULL, $1::json)", json.dumps([old_step])))
        assert result["outcome"] == "committed" and len(result["leased"]) == 1
        assert await conn.fetchval("SELECT count(*) FROM history WHERE instance_id = 'a'") == 6
        assert await conn.fetchval("SELECT count(*) FROM worker_queue") == 1
        assert await conn.fetchval("SELECT lock_token FROM instances WHERE id = 'a'") is None
    finally:
        await conn.close()

"""ReadClient (the synchronous reads ``duroxide status`` and ``list`` make of a SQLite file)
answers exactly what the async Client answers on the same store, errors included."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from pathlib import Path

import pytest

from duroxide_cli import Client, InstanceFilter, Registry, Runtime, RuntimeInfo, RuntimeOptions
from duroxide_cli.errors import ConfigError
from duroxide_cli.providers.sqlite import SqliteProvider
from duroxide_cli.read_client import ReadClient
from duroxide_cli.states import NO_RUNTIME_REASON

app = Registry()


@app.activity("Echo")
async def echo(ctx, x):
    return x


@app.orchestration("Done")
def done(ctx, x):
    ctx.set_custom_status({"step": "last", "text": "é ✓"})
    y = yield ctx.schedule_activity("Echo", x)
    return {"doubled": [x, y], "text": "é"}


@app.orchestration("Boom")
def boom(ctx, x):
    raise ValueError(f"bad input {x}")
    yield  # a generator


@app.orchestration("Waits")
def waits(ctx, x):
    value = yield ctx.wait_for_event("Go")
    return value


async def _wait_until(client: Client, predicate, instance_id: str) -> None:
    for _ in range(1500):
        state = await client.get_status(instance_id)
        if state is not None and predicate(state):
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"{instance_id} did not get there")


async def _store(path: Path) -> None:
    """A store with instances Completed (output, custom status), Failed, Running (one held) and
    Pending, created in a known order."""
    provider = await SqliteProvider.open(path)
    client = Client(provider)
    try:
        async with Runtime(provider, registry=app, options=RuntimeOptions(worker_id="w", poll_interval_ms=10)):
            for instance_id, name in (("d-1", "Done"), ("b-1", "Boom"), ("w-1", "Waits"), ("w-2", "Waits")):
                await client.start_orchestration(instance_id, name, 3)
            await _wait_until(client, lambda s: s.status == "Completed", "d-1")
            await _wait_until(client, lambda s: s.status == "Failed", "b-1")
            await _wait_until(client, lambda s: s.status == "Running", "w-1")
            await _wait_until(client, lambda s: s.status == "Running", "w-2")
        await provider.set_instance_held("w-2", "its code changed")
        await client.start_orchestration("p-1", "Done", None)
        await client.start_orchestration("p-2", "Never", [1, 2])
    finally:
        await provider.close()


@pytest.fixture
def store(tmp_path: Path) -> Path:
    path = tmp_path / "store.db"
    asyncio.run(_store(path))
    return path


def _compare(path: Path, call) -> object:
    """``call(client)`` on both clients: equal answers (or equal errors), returned."""

    async def main():
        provider = await SqliteProvider.open(path, read_only=True)
        try:
            try:
                expected: object = await call(Client(provider))
            except Exception as error:  # noqa: BLE001 - compared below
                expected = (type(error), str(error))
        finally:
            await provider.close()
        return expected

    expected = asyncio.run(main())
    with ReadClient.open(path) as reads:
        try:
            got: object = call(reads)
        except Exception as error:  # noqa: BLE001 - compared below
            got = (type(error), str(error))
    assert got == expected
    return got


def test_status_of_every_kind_of_instance_is_the_clients(store: Path):
    for instance_id in ("d-1", "b-1", "w-1", "w-2", "p-1", "p-2", "unknown"):
        _compare(store, lambda client, i=instance_id: client.get_status(i))
    completed = _compare(store, lambda client: client.get_status("d-1"))
    assert completed.output == {"doubled": [3, 3], "text": "é"} and completed.custom_status == {"step": "last", "text": "é ✓"}
    failed = _compare(store, lambda client: client.get_status("b-1"))
    assert failed.status == "Failed" and "bad input 3" in failed.error and failed.failure is not None
    assert _compare(store, lambda client: client.get_status("w-2")).held == "its code changed"
    assert _compare(store, lambda client: client.get_status("p-1")).error == NO_RUNTIME_REASON
    assert _compare(store, lambda client: client.get_status("unknown")) is None


def test_pending_instances_do_not_say_no_runtime_while_one_is_live(store: Path):
    async def register():
        provider = await SqliteProvider.open(store)
        now = int(time.time() * 1000)
        await provider.register_runtimes([RuntimeInfo("live", "h", 1, None, now, now)])
        await provider.close()

    asyncio.run(register())
    assert _compare(store, lambda client: client.get_status("p-1")).error is None
    page = _compare(store, lambda client: client.list_instances_page(limit=50))
    assert [s.error for s in page.instances if s.status == "Pending"] == [None, None]


def test_pages_counts_and_filters_are_the_clients(store: Path):
    whole = _compare(store, lambda client: client.list_instances_page())
    assert [s.instance_id for s in whole.instances] == ["p-2", "p-1", "w-2", "w-1", "b-1", "d-1"] and whole.next_cursor is None
    cursor = None
    seen = []
    while True:
        page = _compare(store, lambda client, c=cursor: client.list_instances_page(limit=4, cursor=c))
        seen += [s.instance_id for s in page.instances]
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert seen == [s.instance_id for s in whole.instances]
    for where in (
        InstanceFilter(statuses=("Pending",)),
        InstanceFilter(statuses=("Running", "Failed")),
        InstanceFilter(name="Done"),
        InstanceFilter(id_prefix="w-"),
        InstanceFilter(created_since_ms=0, created_until_ms=int(time.time() * 1000) + 60_000),
        InstanceFilter(top_level=True),
    ):
        _compare(store, lambda client, w=where: client.list_instances_page(w, limit=3))
        _compare(store, lambda client, w=where: client.count_instances(w))
    assert _compare(store, lambda client: client.count_instances()) == 6


def test_a_bad_cursor_or_limit_is_the_same_value_error(store: Path):
    kind, _ = _compare(store, lambda client: client.list_instances_page(cursor="not a cursor"))
    assert kind is ValueError
    kind, message = _compare(store, lambda client: client.list_instances_page(limit=0))
    assert kind is ValueError and "limit must be a positive integer" in message


def test_a_file_that_is_no_store_is_refused_with_the_providers_error(tmp_path: Path):
    other = tmp_path / "other.db"
    with sqlite3.connect(other) as conn:
        conn.execute("CREATE TABLE people (name TEXT)")

    async def provider_error() -> tuple[type, str]:
        try:
            await SqliteProvider.open(other, read_only=True)
        except ConfigError as error:
            return type(error), str(error)
        raise AssertionError("opened")

    expected = asyncio.run(provider_error())
    with pytest.raises(ConfigError) as refused:
        ReadClient.open(other)
    assert (type(refused.value), str(refused.value)) == expected
    assert "no duroxide schema" in expected[1]

"""The SQLite store's database thread: every call runs on one thread, in order, and its result
or error comes back to the caller on the event loop."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest

from duroxide_cli.errors import ProviderError
from duroxide_cli.providers._sqlite.database_thread import DatabaseThread
from duroxide_cli.providers.sqlite import SqliteProvider

from .builders import create


async def test_calls_run_on_one_thread_in_the_order_given():
    thread = DatabaseThread()
    ran: list[tuple[int, str]] = []
    futures = [thread.run(lambda i=i: ran.append((i, threading.current_thread().name)) or i) for i in range(50)]
    assert await asyncio.gather(*futures) == list(range(50))
    assert [i for i, _ in ran] == list(range(50))
    assert {name for _, name in ran} == {"duroxide-sqlite"}
    await thread.stop()


async def test_an_error_raised_on_the_thread_reaches_the_caller():
    thread = DatabaseThread()

    def fail() -> None:
        raise ValueError("bad")

    with pytest.raises(ValueError, match="bad"):
        await thread.run(fail)
    assert await thread.run(lambda: 7) == 7
    await thread.stop()


async def test_a_cancelled_caller_does_not_stop_its_call_or_the_next():
    thread = DatabaseThread()
    started, release = threading.Event(), threading.Event()
    ran: list[str] = []

    def slow() -> None:
        started.set()
        release.wait(5)
        ran.append("slow")

    future = thread.run(slow)
    await asyncio.to_thread(started.wait, 5)
    future.cancel()
    release.set()
    assert await thread.run(lambda: "next") == "next"
    assert ran == ["slow"]
    await thread.stop()


async def test_stop_runs_what_was_handed_over_before_and_refuses_more():
    thread = DatabaseThread()
    ran: list[int] = []
    handed = [thread.run(ran.append, i) for i in range(5)]
    await thread.stop()
    assert ran == [0, 1, 2, 3, 4]
    await asyncio.gather(*handed)
    with pytest.raises(RuntimeError):
        thread.run(lambda: None)


async def test_a_closed_store_ends_its_thread(tmp_path: Path):
    before = {t.ident for t in threading.enumerate() if t.name == "duroxide-sqlite"}
    provider = await SqliteProvider.open(tmp_path / "s.db")
    await create(provider, "a")
    await provider.close()
    started = [t for t in threading.enumerate() if t.name == "duroxide-sqlite" and t.ident not in before]
    for thread in started:
        thread.join(5)  # it ends right after handing back the close
    assert not any(thread.is_alive() for thread in started)
    with pytest.raises(ProviderError):
        await create(provider, "b")

"""The hop to worker threads: a function may hand its caller's future on to another set of
threads (``forward``), which settles it; the first thread then leaves it alone."""

from __future__ import annotations

import asyncio
import threading

import pytest

from duroxide_cli.thread_hop import FORWARDED, DaemonThreads


async def test_a_future_handed_on_is_settled_by_the_thread_it_went_to():
    first, second = DaemonThreads(1, "first"), DaemonThreads(1, "second")
    ran_on: list[str] = []
    loop = asyncio.get_running_loop()
    future: asyncio.Future[str] = loop.create_future()

    def finish(value: str) -> str:
        ran_on.append(threading.current_thread().name)
        return value + " committed"

    def start(value: str):
        ran_on.append(threading.current_thread().name)
        second.forward(loop, future, finish, value)
        return FORWARDED

    first.forward(loop, future, start, "turn")
    assert await asyncio.wait_for(future, 5) == "turn committed"
    assert ran_on == ["first", "second"]
    first.close()
    second.close()


async def test_an_error_where_the_future_went_reaches_the_caller():
    first, second = DaemonThreads(1, "first"), DaemonThreads(1, "second")
    loop = asyncio.get_running_loop()
    future: asyncio.Future[None] = loop.create_future()

    def fail() -> None:
        raise ValueError("the store refused")

    first.forward(loop, future, lambda: (second.forward(loop, future, fail), FORWARDED)[1])
    with pytest.raises(ValueError, match="the store refused"):
        await asyncio.wait_for(future, 5)
    first.close()
    second.close()

"""Grouped writes: the instance creations (or messages, or locks of single instances) callers
start while one is on its way to the server go, all together, into the next statement, so one
transaction (one flush of the WAL, one NOTIFY) serves them all.

Under no load a call is one statement of its own, sent from its caller's task as before. Under
load -- a thousand ``start_orchestration`` calls at once -- each statement carries every call
that arrived meanwhile, instead of each call taking a pooled connection and a commit of its own
(which also kept the runtime's fetches and commits waiting for a connection behind them).

Each call's outcome is its own (a duplicate id is that caller's ``False``); nobody hears of a
call before the commit that holds it has returned, so what a caller is told is as durable as a
statement of its own would have made it. If the statement fails, every call in it fails with
that error. The drain task that sends the later groups is owned here and awaited by ``close``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")

MAX_GROUP = 500
"""At most this many calls share one statement (a bound on how long its transaction runs)."""


class GroupedWrites(Generic[Item, Result]):
    """Sends items through ``send(items) -> results`` (one result per item, in order), grouping
    the items that arrive while a send is in flight."""

    def __init__(self, send: Callable[[Sequence[Item]], Awaitable[Sequence[Result]]]):
        self._send = send
        self._pending: list[tuple[Item, asyncio.Future[Result]]] = []
        self._draining: asyncio.Task[None] | None = None
        self._busy = False
        """A call is being sent alone, from its caller's task."""

    async def submit(self, item: Item) -> Result:
        """Send ``item`` (with whatever else is waiting) and return its result."""
        loop = asyncio.get_running_loop()
        if self._draining is None and not self._busy:
            self._busy = True
            try:
                (result,) = await self._send([item])
            finally:
                self._busy = False
                if self._pending and self._draining is None:
                    self._draining = loop.create_task(self._drain())
            return result
        future: asyncio.Future[Result] = loop.create_future()
        self._pending.append((item, future))
        if self._draining is None:
            self._draining = loop.create_task(self._drain())
        return await future

    async def _drain(self) -> None:
        try:
            while self._pending:
                group, self._pending = self._pending[:MAX_GROUP], self._pending[MAX_GROUP:]
                live = [(item, future) for item, future in group if not future.done()]  # not cancelled meanwhile
                if not live:
                    continue
                try:
                    results = await asyncio.shield(self._send([item for item, _ in live]))
                except Exception as error:  # noqa: BLE001 - every caller of the group hears of it
                    for _, future in live:
                        if not future.done():
                            future.set_exception(error)
                    continue
                except BaseException:  # this task was cancelled (the loop is closing): so are its callers
                    for _, future in live:
                        future.cancel()
                    raise
                for (_, future), result in zip(live, results, strict=True):
                    if not future.done():
                        future.set_result(result)
        finally:
            self._draining = None

    async def close(self) -> None:
        """Wait until every submitted item has been sent (or has failed)."""
        while self._draining is not None:
            await asyncio.gather(self._draining, return_exceptions=True)

"""Group commit: many callers submit one item each; one store call takes them all at once."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")


class Batcher(Generic[Item, Result]):
    """Collects items submitted while a batch is in flight and sends them as the next batch.

    Under no load a submit is one store call, as before; under load, one store call (one
    transaction) carries every turn or completion that arrived meanwhile.
    """

    def __init__(self, flush: Callable[[Sequence[Item]], Awaitable[list[Result]]], max_batch: int = 256):
        self._flush = flush
        self._max_batch = max_batch
        self._queue: list[tuple[Item, asyncio.Future[Result]]] = []
        self._running: asyncio.Task[None] | None = None
        self._alone = False
        """A lone item is being sent by its caller (``_flush_alone``)."""

    def idle(self) -> bool:
        """No batch is in flight or waiting."""
        return self._running is None and not self._alone and not self._queue

    async def submit(self, item: Item) -> Result:
        if self._running is None and not self._alone:
            return await self._flush_alone(item)
        future: asyncio.Future[Result] = asyncio.get_running_loop().create_future()
        self._queue.append((item, future))  # the batch in flight, or the lone item's caller, drains it
        return await future

    async def _flush_alone(self, item: Item) -> Result:
        """Nothing is in flight: send ``item`` at once from the caller's task, with no task in
        between (a chain of steps pays nothing for batching); what arrives meanwhile is sent
        as the next batch."""
        self._alone = True
        try:
            (result,) = await self._flush([item])
        finally:
            self._alone = False
            if self._queue and self._running is None:
                self._running = asyncio.get_running_loop().create_task(self._drain())
        return result

    async def _drain(self) -> None:
        try:
            while self._queue:
                batch, self._queue = self._queue[: self._max_batch], self._queue[self._max_batch :]
                try:
                    results = await self._flush([item for item, _ in batch])
                except BaseException as error:  # noqa: BLE001 - handed to every waiter
                    for _, future in batch:
                        if not future.done():
                            future.set_exception(error)
                    if isinstance(error, asyncio.CancelledError):
                        raise
                    continue
                for (_, future), result in zip(batch, results, strict=True):
                    if not future.done():
                        future.set_result(result)
        finally:
            self._running = None
            for _, future in self._queue:
                if not future.done():
                    future.cancel()

    async def close(self) -> None:
        """Wait for the batch in flight."""
        while self._alone:  # its caller drains what came meanwhile
            await asyncio.sleep(0.001)
        if self._running is not None:
            await asyncio.gather(self._running, return_exceptions=True)

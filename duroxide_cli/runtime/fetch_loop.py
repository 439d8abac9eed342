"""The loop both the dispatcher and the worker run: fetch while slots are free, idle otherwise."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

from ..errors import ProviderError
from ..providers.base import Provider, Queue
from .logs import runtime_log

Work = TypeVar("Work")

_MAX_REDELIVERY_DELAY_MS = 60_000
_FIRST_RETRY_S, _MAX_RETRY_S = 0.05, 5.0


def redelivery_delay_ms(deliveries: int) -> int:
    """How long fetched work that could not be handled is held back: 1 s after the first
    delivery, doubling to at most 60 s."""
    return min(1000 * 2 ** max(deliveries - 1, 0), _MAX_REDELIVERY_DELAY_MS)


class FetchLoop(Generic[Work]):
    """Fetches up to the free slots, launches each item, and waits for work, a poll tick or a
    stop request when there is nothing to do. The owner counts slots through ``busy``, and gives
    their number (``capacity``) as a number or as a function asked before each fetch."""

    def __init__(
        self,
        provider: Provider,
        queue: Queue,
        capacity: int | Callable[[], int],
        poll_interval_ms: int,
        busy: Callable[[], int],
        fetch: Callable[[int], Awaitable[Sequence[Work]]],
        launch: Callable[[Work], None],
    ):
        self._provider = provider
        self._queue = queue
        self._capacity = capacity if callable(capacity) else lambda: capacity
        self._poll_interval_ms = poll_interval_ms
        self._busy = busy
        self._fetch = fetch
        self._launch = launch
        self._slot_free = asyncio.Event()
        self._stop_requested = asyncio.Event()
        self._nudged = asyncio.Event()
        self._failed_fetches = 0

    @property
    def stopping(self) -> bool:
        return self._stop_requested.is_set()

    async def run(self) -> None:
        """Until ``request_stop``; the runtime owns this task."""
        while not self.stopping:
            capacity, busy = self._capacity(), self._busy()
            free = capacity - busy
            # while work runs, fetch again only once half the slots are free: one fetch for
            # several items rather than one per slot freed (each fetch is a store transaction)
            if free <= 0 or (busy > 0 and free < (capacity + 1) // 2):
                self._slot_free.clear()
                await self._slot_free.wait()
                continue
            try:
                items = await self._fetch(free)
            except ProviderError as error:
                if not error.retryable:
                    raise  # the runtime stops: waiting cannot fix it
                await self._back_off(error)
                continue
            self._failed_fetches = 0
            for item in items:
                self._launch(item)
            if len(items) < free:  # the store had no more: wait rather than ask again at once
                await self._idle()

    async def _back_off(self, error: ProviderError) -> None:
        """After a fetch failed with a retryable error: wait 50 ms, doubling with each failure in
        a row up to 5 s (a successful fetch starts over), logging one line each time."""
        delay = min(_FIRST_RETRY_S * 2**self._failed_fetches, _MAX_RETRY_S)
        self._failed_fetches += 1
        runtime_log.warning("fetching %s work: %s; retrying in %.2f s", self._queue, error, delay)
        try:
            await asyncio.wait_for(self._stop_requested.wait(), delay)
        except asyncio.TimeoutError:
            pass

    def slot_freed(self) -> None:
        """A launched item finished."""
        self._slot_free.set()

    def wake(self) -> None:
        """Fetch again now: what the fetch asks for changed (the scope grew), which the store's
        own wake-ups do not know of."""
        self._nudged.set()

    def request_stop(self) -> None:
        """Fetch no more work; an idle wait ends at once."""
        self._stop_requested.set()
        self._slot_free.set()

    async def _idle(self) -> None:
        if self._nudged.is_set():
            self._nudged.clear()
            return
        waiting = asyncio.ensure_future(self._provider.wait_for_work(self._queue, self._poll_interval_ms))
        stopping = asyncio.ensure_future(self._stop_requested.wait())
        nudged = asyncio.ensure_future(self._nudged.wait())
        try:
            await asyncio.wait((waiting, stopping, nudged), return_when=asyncio.FIRST_COMPLETED)
        finally:
            waiting.cancel()
            stopping.cancel()
            nudged.cancel()
            self._nudged.clear()

"""The runtime's row in the store (``duroxide workers``): registered at start, refreshed while
it runs, removed on a clean shutdown."""

from __future__ import annotations

import asyncio
import os
import socket
import time
from dataclasses import replace

from ..clock import Clock
from ..errors import ProviderError
from ..providers.base import RUNTIME_HEARTBEAT_INTERVAL_MS, Provider, RuntimeInfo
from .logs import runtime_log

STALE_ROWS_AFTER_MS = 24 * 3600 * 1000
"""Rows not refreshed for this long (left by processes that died) are deleted when a runtime starts."""


class Heartbeat:
    """Keeps one runtime's row fresh. ``register`` writes it (and clears out long-dead rows),
    ``run`` refreshes ``last_seen_at_ms`` every ``interval_ms`` until ``request_stop``, and
    ``remove`` deletes it. Times come from the runtime's clock. The runtime owns the task."""

    def __init__(
        self, provider: Provider, worker_id: str, app: str | None, clock: Clock, interval_ms: int = RUNTIME_HEARTBEAT_INTERVAL_MS
    ):
        self._provider = provider
        self._clock = clock
        self._interval_ms = interval_ms
        self._stop_requested = asyncio.Event()
        self._info = RuntimeInfo(
            worker_id=worker_id, host=socket.gethostname(), pid=os.getpid(), app=app, started_at_ms=0, last_seen_at_ms=0
        )

    async def register(self) -> None:
        """Write the row for the first time. A store error is logged, not raised: ``run``
        registers again at its first beat."""
        now_ms = self._clock.now_ms()
        self._info = replace(self._info, started_at_ms=now_ms, last_seen_at_ms=now_ms)
        try:
            await self._provider.register_runtimes([self._info])
            await self._provider.remove_runtimes(seen_before_ms=now_ms - STALE_ROWS_AFTER_MS)
        except ProviderError as error:  # the store may come back; the loop retries (or stops the runtime)
            runtime_log.warning("could not register this runtime in the store: %s", error)
        except Exception:  # noqa: BLE001 - the store may come back; the loop retries
            runtime_log.warning("could not register this runtime in the store; retrying", exc_info=True)

    async def run(self) -> None:
        """Refresh the row every interval (counted from one beat's start to the next, so a slow
        store does not stretch it) until ``request_stop``."""
        next_beat = time.monotonic() + self._interval_ms / 1000
        while not self._stop_requested.is_set():
            try:
                await asyncio.wait_for(self._stop_requested.wait(), timeout=max(next_beat - time.monotonic(), 0))
                return
            except asyncio.TimeoutError:
                pass
            next_beat = time.monotonic() + self._interval_ms / 1000
            self._info = replace(self._info, last_seen_at_ms=self._clock.now_ms())
            await self._provider.register_runtimes([self._info])

    def request_stop(self) -> None:
        self._stop_requested.set()

    async def remove(self) -> None:
        """Delete the row (clean shutdown); a store error is logged: the row then stops being live on its own."""
        try:
            await self._provider.remove_runtimes([self._info.worker_id])
        except ProviderError as error:  # shutting down: the row stops being live on its own
            runtime_log.warning("could not remove this runtime's row from the store: %s", error)
        except Exception:  # noqa: BLE001 - shutting down: nothing else to do about it
            runtime_log.warning("could not remove this runtime's row from the store", exc_info=True)

"""Waking idle dispatchers in every process: LISTEN/NOTIFY, with polling as the fallback.

The store's functions ``NOTIFY duroxide_<schema>`` with the queue's name when they commit work
(PostgreSQL delivers a notification only at commit, and to every listening session, this
process's included). Each provider keeps one dedicated listening connection outside the pool.
A fetch that finds nothing also says how long until something comes due (a delayed message, a
lease or a back-off, judged by the store clock), so a wait ends then without a notification.

If the listening connection drops, waits still end at their timeout (the runtime's poll
interval): a wait starts listening again (at most once a second, in a task the listener owns
and cancels on close) and gives it the wait's own timeout to succeed.
"""

from __future__ import annotations

import asyncio
import logging
import time

import asyncpg

_log = logging.getLogger("duroxide.provider")

QUEUES = ("orchestrator", "worker")
_RELISTEN_INTERVAL_S = 1.0


class QueueSignal:
    """One queue's wake-ups: an event for notifications and the next due moment (monotonic)."""

    def __init__(self) -> None:
        self.event = asyncio.Event()
        self.due_at: float | None = None

    def due_in(self, delay_ms: int | None) -> None:
        """An empty fetch learnt when something next comes due (None: nothing is waiting)."""
        self.due_at = None if delay_ms is None else time.monotonic() + max(delay_ms, 0) / 1000

    async def wait(self, timeout_ms: int) -> None:
        if not self.event.is_set():
            delay = timeout_ms / 1000
            if self.due_at is not None:
                delay = min(delay, self.due_at - time.monotonic())
            if delay > 0:
                try:
                    await asyncio.wait_for(self.event.wait(), delay)
                except asyncio.TimeoutError:
                    pass
        self.event.clear()
        if self.due_at is not None and self.due_at <= time.monotonic():
            self.due_at = None  # consumed: the next empty fetch says when the one after is due


class Listener:
    """The LISTEN connection of one provider and the signals it sets."""

    def __init__(self, url: str, schema: str):
        self._url = url
        self._schema = schema
        self.channel = f"duroxide_{schema}"
        self.signals = {queue: QueueSignal() for queue in QUEUES}
        self._conn: asyncpg.Connection | None = None
        self._last_attempt = float("-inf")
        self._listening: asyncio.Task[None] | None = None
        self._listened = False
        self._warned = False
        self._closed = False

    async def start(self) -> None:
        """Listen now; a failure is logged and retried by later waits (polling covers the gap)."""
        self._last_attempt = time.monotonic()
        settings = {"application_name": f"duroxide:{self._schema}:listen"}
        try:
            conn = await asyncpg.connect(self._url, timeout=10, server_settings=settings)
        except Exception as error:  # noqa: BLE001 - waking early is an optimisation; polling goes on
            self._cannot_listen(error)
            return
        try:
            await conn.add_listener(self.channel, self._notified)
        except Exception as error:  # noqa: BLE001
            await conn.close()
            self._cannot_listen(error)
            return
        if self._closed:
            await conn.close()
            return
        if self._listened:  # listening again: a notification may have been missed meanwhile
            for signal in self.signals.values():
                signal.event.set()
        self._conn = conn
        self._listened = True
        self._warned = False

    def _cannot_listen(self, error: Exception) -> None:
        """Say so once per outage (then at debug level): waits poll meanwhile."""
        level = logging.DEBUG if self._warned else logging.WARNING
        _log.log(level, "cannot listen for new work on %s (%s); polling until it can", self.channel, error)
        self._warned = True

    def _notified(self, connection: object, pid: int, channel: str, payload: str) -> None:
        signal = self.signals.get(payload)
        if signal is not None:
            signal.event.set()

    async def wait(self, queue: str, timeout_ms: int) -> None:
        """Until a notification for ``queue``, its due moment, or ``timeout_ms``. Without a
        listening connection it (re)starts one and waits for it within the same timeout."""
        deadline = time.monotonic() + timeout_ms / 1000
        if not self._closed and (self._conn is None or self._conn.is_closed()):
            self._conn = None
            idle = self._listening is None or self._listening.done()
            if idle and time.monotonic() - self._last_attempt >= _RELISTEN_INTERVAL_S:
                self._listening = asyncio.create_task(self.start())
            if self._listening is not None and not self._listening.done():
                await asyncio.wait({self._listening}, timeout=timeout_ms / 1000)
        await self.signals[queue].wait(max(0, int((deadline - time.monotonic()) * 1000)))

    async def close(self) -> None:
        self._closed = True
        if self._listening is not None:
            self._listening.cancel()
            await asyncio.gather(self._listening, return_exceptions=True)
        if self._conn is not None and not self._conn.is_closed():
            try:
                await asyncio.wait_for(self._conn.close(), 5)
            except (asyncio.TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError, OSError):
                self._conn.terminate()
        self._conn = None

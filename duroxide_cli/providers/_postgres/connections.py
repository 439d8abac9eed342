"""The store's connections: at most ``size`` of them, opened when needed and kept, each lent to
one statement at a time.

asyncpg's own pool spends about three times the CPU of a short statement on lending and taking
back a connection (a task for the acquire's timeout, a shielded task for the release, a reset
per release; measured 120-140 us per call against 50 us for the statement), which the store paid
twice per step of a chain. The store needs none of what that buys: its calls leave no session
state behind (no LISTEN, cursor, advisory session lock or SET on these connections; the listener
has its own connection), and a connection whose statement did not end normally (cancelled,
timed out, dropped, or the server ending the session) is closed rather than lent again.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable

import asyncpg


class Connections:
    """Lends connections opened by ``connect``, at most ``size`` at a time."""

    def __init__(self, connect: Callable[[], Awaitable[asyncpg.Connection]], size: int):
        self._connect = connect
        self._size = size
        self._idle: list[asyncpg.Connection] = []
        self._opened: set[asyncpg.Connection] = set()
        self._opening = 0
        self._waiters: deque[asyncio.Future[None]] = deque()
        self._closed = False

    async def acquire(self, timeout: float) -> asyncpg.Connection:
        """An idle connection, a new one while fewer than ``size`` are open, or the first one given
        back within ``timeout`` seconds (asyncio.TimeoutError otherwise)."""
        while True:
            while self._idle:
                conn = self._idle.pop()
                if not conn.is_closed():
                    return conn
                self._opened.discard(conn)
            if len(self._opened) + self._opening < self._size:
                return await self._open(timeout)
            waiter = asyncio.get_running_loop().create_future()
            self._waiters.append(waiter)
            try:
                await asyncio.wait_for(waiter, timeout)
            finally:
                if not waiter.done():
                    waiter.cancel()
                try:
                    self._waiters.remove(waiter)
                except ValueError:
                    pass

    async def _open(self, timeout: float) -> asyncpg.Connection:
        self._opening += 1
        try:
            conn = await asyncio.wait_for(self._connect(), timeout)
        except BaseException:
            self._wake_one()
            raise
        finally:
            self._opening -= 1
        self._opened.add(conn)
        return conn

    def release(self, conn: asyncpg.Connection, reusable: bool) -> None:
        """Take ``conn`` back: lent again if ``reusable`` (its statement ended normally, with a result
        or a PostgreSQL error) and it is open and idle, closed otherwise."""
        if reusable and not self._closed and not conn.is_closed() and not conn.is_in_transaction():
            self._idle.append(conn)
        else:
            self._opened.discard(conn)
            conn.terminate()
        self._wake_one()

    def _wake_one(self) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return

    async def close(self, timeout: float) -> None:
        """Close every connection: the idle ones now, the lent ones when given back, or after
        ``timeout`` seconds whatever they are doing."""
        self._closed = True
        idle, self._idle = self._idle, []
        for conn in idle:
            self._opened.discard(conn)
        try:
            await asyncio.wait_for(asyncio.gather(*(conn.close() for conn in idle), return_exceptions=True), timeout)
        except asyncio.TimeoutError:
            pass
        for conn in idle:
            conn.terminate()
        for _ in range(int(timeout * 100)):
            if not self._opened:
                return
            await asyncio.sleep(0.01)
        for conn in list(self._opened):
            conn.terminate()
        self._opened.clear()

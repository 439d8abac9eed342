"""The store's connections, the store clock, and the one place driver errors become ProviderError.

Every provider call runs one statement on a connection lent by ``Connections``. Each connection's
``search_path`` is the store's schema, so the SQL names its tables and functions unqualified.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar
from urllib.parse import urlsplit

import asyncpg

from ...clock import Clock
from ...errors import ConfigError, ProviderError
from .connections import Connections

T = TypeVar("T")

_SCHEMA_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,47}$")

CONNECT_TIMEOUT_S = 10
"""How long opening a connection may take before the call fails (retryable)."""

_RETRYABLE_SQLSTATE_CLASSES = ("08", "40", "53", "57", "58")
"""Connection exceptions, transaction rollbacks (serialization failure, deadlock), insufficient
resources, operator intervention (shutdown, restart, cannot connect now), system errors."""


_DRIVER_ERRORS = (asyncpg.PostgresError, asyncpg.InterfaceError, asyncpg.InternalClientError, OSError, asyncio.TimeoutError)
"""What asyncpg raises for store trouble. A connection the server closed under a statement may
surface as any of them (InternalClientError included), never as a result."""


def check_schema_name(schema: str) -> str:
    """The schema name, if it is a plain lower-case identifier (it also names the NOTIFY channel)."""
    if not isinstance(schema, str) or not _SCHEMA_NAME.match(schema):
        raise ConfigError(
            f"schema {schema!r} is not a valid duroxide schema name: use 1 to 48 lower-case letters, digits"
            " and underscores, not starting with a digit"
        )
    return schema


def describe(url: str, schema: str) -> str:
    """The store as messages name it: the URL without its password, and the schema."""
    parts = urlsplit(url)
    host = parts.hostname or "localhost"
    user = f"{parts.username}@" if parts.username else ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{user}{host}{port}{parts.path} (schema {schema})"


def application_name(schema: str) -> str:
    """How this store's connections show in ``pg_stat_activity``."""
    return f"duroxide:{schema}"


def _ends_the_session(error: asyncpg.PostgresError) -> bool:
    """Whether the server ended the connection with this error (SQLSTATE classes 08, 57)."""
    return (getattr(error, "sqlstate", None) or "")[:2] in ("08", "57")


_DEAD_CONNECTIONS_SKIPPED = 4
"""How many idle connections a call passes over when the server ended them while they were idle."""


def _never_sent(error: asyncpg.InternalClientError) -> bool:
    """Whether the driver refused to start the statement at all: an idle connection whose session
    the server ended a moment ago (its farewell read, the socket not yet seen closed) refuses any
    new operation before writing a byte, so the statement can go to another connection as is."""
    return str(error).startswith("cannot switch to state")


def is_retryable(error: BaseException) -> bool:
    """Whether trying the same call again may succeed: the connection or the server was the trouble."""
    if isinstance(error, asyncpg.PostgresError):
        sqlstate = getattr(error, "sqlstate", None) or ""
        return sqlstate[:2] in _RETRYABLE_SQLSTATE_CLASSES
    if isinstance(error, asyncpg.ClientConfigurationError):
        return False
    return isinstance(error, _DRIVER_ERRORS)


async def drop_schema(url: str, schema: str, where: str) -> None:
    """Drop ``schema`` and everything in it, on a connection of its own; nothing when it is gone."""
    try:
        conn = await asyncpg.connect(url, timeout=CONNECT_TIMEOUT_S)
        try:
            await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        finally:
            await conn.close()
    except _DRIVER_ERRORS as error:
        raise ProviderError("drop_schema", f"cannot drop {where}: {error}", retryable=is_retryable(error)) from error


class Database:
    """The connections to one schema and the clock its statements judge time by."""

    def __init__(self, connections: Connections, schema: str, clock: Clock | None, where: str):
        self._connections = connections
        self.schema = schema
        self._clock = clock
        self.where = where
        """The store, as error messages name it (no password)."""
        self._closed = False

    @classmethod
    async def connect(cls, url: str, schema: str, pool_size: int, clock: Clock | None, where: str) -> Database:
        """The store's connections: none is opened yet; the first call opens one (and reports a
        server that cannot be reached or a URL it refuses)."""
        settings = {"search_path": schema, "application_name": application_name(schema)}

        def connect() -> Awaitable[asyncpg.Connection]:
            return asyncpg.connect(url, timeout=CONNECT_TIMEOUT_S, server_settings=settings)

        return cls(Connections(connect, pool_size), schema, clock, where)

    def now(self) -> int | None:
        """The time to pass as a statement's ``p_now``: the injected clock's, or None for the server's."""
        return None if self._clock is None else self._clock.now_ms()

    async def fetchval(self, operation: str, sql: str, *args: Any) -> Any:
        return await self.run(operation, lambda conn: conn.fetchval(sql, *args))

    async def fetchrow(self, operation: str, sql: str, *args: Any) -> asyncpg.Record | None:
        return await self.run(operation, lambda conn: conn.fetchrow(sql, *args))

    async def fetch(self, operation: str, sql: str, *args: Any) -> list[asyncpg.Record]:
        return await self.run(operation, lambda conn: conn.fetch(sql, *args))

    async def execute(self, operation: str, sql: str, *args: Any) -> str:
        return await self.run(operation, lambda conn: conn.execute(sql, *args))

    async def run(self, operation: str, statement: Callable[[asyncpg.Connection], Awaitable[T]]) -> T:
        """``statement(conn)`` on a lent connection; driver errors become ProviderError."""
        if self._closed:
            raise ProviderError(operation, f"the store {self.where} is closed")
        try:
            for _ in range(_DEAD_CONNECTIONS_SKIPPED):
                try:
                    return await self._run_once(operation, statement)
                except asyncpg.InternalClientError as error:
                    if not _never_sent(error):
                        raise
            return await self._run_once(operation, statement)
        except _DRIVER_ERRORS as error:
            if self._closed:
                raise ProviderError(operation, f"the store {self.where} is closed") from error
            raise ProviderError(operation, f"{error} ({self.where})", retryable=is_retryable(error)) from error

    async def _run_once(self, operation: str, statement: Callable[[asyncpg.Connection], Awaitable[T]]) -> T:
        try:
            conn = await self._connections.acquire(CONNECT_TIMEOUT_S)
        except _DRIVER_ERRORS:
            raise
        except Exception as error:  # noqa: BLE001 - a URL asyncpg refuses, classified once, here
            raise ProviderError(operation, f"cannot connect to {self.where}: {error}", retryable=False) from error
        reusable = False
        try:
            result = await statement(conn)
            reusable = True
        except asyncpg.PostgresError as error:
            # the server answered: the connection is as good as before, unless the answer
            # was that it ends the session (an administrator's or a shutdown's termination)
            reusable = not _ends_the_session(error)
            raise
        finally:
            self._connections.release(conn, reusable)
        return result

    async def close(self) -> None:
        """Close the connections; later calls raise ProviderError (not retryable)."""
        if self._closed:
            return
        self._closed = True
        await self._connections.close(CONNECT_TIMEOUT_S)

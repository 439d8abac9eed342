"""Where the workloads run: always a fresh store, never the data of a configured one.

Without a URL each workload gets a new SQLite file in a temporary directory. A ``sqlite:///``
URL chooses where (a new directory next to the named file, which is never opened) and how
(``?synchronous=``); ``sqlite://:memory:`` a private in-memory database. A ``postgresql://`` URL
names a database in which each workload gets a new schema of its own
(``duroxide_bench_<pid>_<random>``); the URL's ``?schema=``, if any, is never opened.
Everything a workload created is removed when it ends, whether it finished, failed or was
interrupted (Ctrl-C, or SIGTERM in ``duroxide bench``, cancels the workload's task, and the
removal runs as it unwinds).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from ..errors import ConfigError, ProviderError
from ..model.options import RuntimeOptions
from ..providers.base import Provider
from ..providers.sqlite import SqliteProvider, Synchronous
from ..providers.url import ACCEPTED_FORMS, parse_sqlite_url, split_schema

SCHEMA_PREFIX = "duroxide_bench_"
"""The start of the name of every schema a workload makes on PostgreSQL; the process id follows,
so a schema left by a process that was killed can be traced to it."""


@dataclass(frozen=True, slots=True)
class BenchStore:
    """The kind of store the workloads run on; each workload opens a fresh one."""

    directory: Path | None
    """Where the fresh files go (None: the system's temporary directory; unused in memory)."""
    synchronous: Synchronous = "full"
    """The SQLite durability the workloads run with."""
    in_memory: bool = False
    """A private in-memory database instead of a file."""
    postgres_url: str | None = None
    """A PostgreSQL database (the URL without ``?schema=``) to make each workload's schema in."""

    @classmethod
    def from_url(cls, url: str | None) -> BenchStore:
        """The store a ``--store`` URL describes (None: a temporary SQLite file). Raises
        ConfigError for a URL no store accepts, or one ``bench`` cannot run on (yet)."""
        if url is None:
            return cls(None)
        if url == "sqlite://:memory:":
            return cls(None, in_memory=True)
        if url.startswith("sqlite:///"):
            target = parse_sqlite_url(url)
            return cls(target.path.parent, target.synchronous)
        if url.startswith(("postgresql://", "postgres://")):
            return cls(None, postgres_url=split_schema(url)[0])
        raise ConfigError(f"unsupported store URL {url!r}; use {ACCEPTED_FORMS}")

    @property
    def label(self) -> str:
        """How results name the store: ``sqlite (synchronous=full)``, ``sqlite (:memory:)``,
        ``postgresql``."""
        if self.postgres_url is not None:
            return "postgresql"
        return "sqlite (:memory:)" if self.in_memory else f"sqlite (synchronous={self.synchronous})"

    @asynccontextmanager
    async def fresh(self, workload: str) -> AsyncIterator[Provider]:
        """A new, empty store for one workload, closed and removed on the way out."""
        if self.postgres_url is not None:
            async with _fresh_schema(self.postgres_url) as provider:
                yield provider
            return
        if self.in_memory:
            provider = await SqliteProvider.in_memory()
            try:
                yield provider
            finally:
                await provider.close()
            return
        created = _missing_directories(self.directory)
        if self.directory is not None:
            self.directory.mkdir(parents=True, exist_ok=True)
        scratch = Path(tempfile.mkdtemp(prefix=".duroxide-bench-", dir=self.directory))
        try:
            provider = await SqliteProvider.open(scratch / f"{workload}.db", synchronous=self.synchronous)
            try:
                yield provider
            finally:
                await provider.close()
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
            for directory in created:  # deepest first; only the ones this made, and only if empty
                try:
                    directory.rmdir()
                except OSError:
                    break


@asynccontextmanager
async def _fresh_schema(url: str) -> AsyncIterator[Provider]:
    """A provider on a new schema in the database ``url`` names, sized for a runtime with the
    default options; the schema is dropped on the way out. When the workload already failed, a
    drop that fails too is not allowed to hide why (the schema is then left, named by its prefix)."""
    from ..providers.postgres import PostgresProvider, pool_size_for

    schema = f"{SCHEMA_PREFIX}{os.getpid()}_{secrets.token_hex(4)}"
    try:
        provider = await PostgresProvider.connect(url, schema=schema, pool_size=pool_size_for(RuntimeOptions()))
        try:
            yield provider
        finally:
            await provider.close()
    except BaseException:
        with contextlib.suppress(ProviderError):
            await PostgresProvider.drop_schema(url, schema)
        raise
    await PostgresProvider.drop_schema(url, schema)


def _missing_directories(directory: Path | None) -> list[Path]:
    """``directory`` and those of its parents that do not exist yet, deepest first."""
    missing: list[Path] = []
    while directory is not None and not directory.exists():
        missing.append(directory)
        directory = directory.parent if directory.parent != directory else None
    return missing

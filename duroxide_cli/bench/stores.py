"""Where the workloads run: always a fresh store, never the data of a configured one.

Without a URL each workload gets a new SQLite file in a temporary directory. A ``sqlite:///``
URL chooses where (a new directory next to the named file, which is never opened) and how
(``?synchronous=``); ``sqlite://:memory:`` a private in-memory database. Everything a workload
created is removed when it ends.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from ..errors import ConfigError
from ..providers.base import Provider
from ..providers.sqlite import SqliteProvider, Synchronous
from ..providers.url import ACCEPTED_FORMS, parse_sqlite_url


@dataclass(frozen=True, slots=True)
class BenchStore:
    """The kind of store the workloads run on; each workload opens a fresh one."""

    directory: Path | None
    """Where the fresh files go (None: the system's temporary directory; unused in memory)."""
    synchronous: Synchronous = "full"
    """The SQLite durability the workloads run with."""
    in_memory: bool = False
    """A private in-memory database instead of a file."""

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
            raise ConfigError(f"duroxide bench runs on SQLite stores only in this version, not {url!r}")
        raise ConfigError(f"unsupported store URL {url!r}; use {ACCEPTED_FORMS}")

    @property
    def label(self) -> str:
        """How results name the store: ``sqlite (synchronous=full)``, ``sqlite (:memory:)``."""
        return "sqlite (:memory:)" if self.in_memory else f"sqlite (synchronous={self.synchronous})"

    @asynccontextmanager
    async def fresh(self, workload: str) -> AsyncIterator[Provider]:
        """A new, empty store for one workload, closed and removed on the way out."""
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


def _missing_directories(directory: Path | None) -> list[Path]:
    """``directory`` and those of its parents that do not exist yet, deepest first."""
    missing: list[Path] = []
    while directory is not None and not directory.exists():
        missing.append(directory)
        directory = directory.parent if directory.parent != directory else None
    return missing

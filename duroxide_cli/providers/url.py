"""Opening a store from its URL, the way ``duroxide.toml`` and ``--store`` name it.

sqlite:///relative/path.db     relative to ``base_dir`` (the duroxide.toml's directory), else the cwd
sqlite:////absolute/path.db    absolute
sqlite:///path.db?synchronous=normal   the faster, weaker durability (default ``full``)
sqlite://:memory:              a private in-memory database
postgresql://user@host:5432/db?schema=duroxide   (also postgres://); ``schema`` is ours
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, cast
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit, urlunsplit

from ..errors import ConfigError, StoreNotFoundError
from ..model.options import RuntimeOptions
from .base import Provider

if TYPE_CHECKING:  # the SQLite store's module loads asyncio and sqlite3: only when a store opens
    from ._sqlite.connection import Synchronous

ACCEPTED_FORMS = (
    "sqlite:///relative/path.db, sqlite:////absolute/path.db (optionally ?synchronous=normal), "
    "sqlite://:memory: or postgresql://user@host:5432/db?schema=duroxide"
)


@dataclass(frozen=True, slots=True)
class SqliteUrl:
    """What a ``sqlite:///`` URL names."""

    path: Path
    """The database file."""
    synchronous: Synchronous = "full"
    """The durability of each commit (``?synchronous=``)."""


async def open_provider(
    url: str,
    *,
    base_dir: Path | None = None,
    read_only: bool = False,
    options: RuntimeOptions | None = None,
    create: bool = True,
) -> Provider:
    """Open the store ``url`` names. Raises ConfigError for a URL of no accepted form.

    ``read_only``: the caller only reads, so the store is opened without writing to it (no
    migration, no write lock; see ``SqliteProvider.open`` and ``PostgresProvider.connect``): its
    schema must be at this code's version. ``options``: those of the runtime that will use the store (a PostgreSQL pool is sized
    from them; None: a client's default). ``create=False``: only a store that exists is opened; a
    missing SQLite file or PostgreSQL schema raises StoreNotFoundError instead of being created."""
    if url == "sqlite://:memory:":
        from .sqlite import SqliteProvider

        return await SqliteProvider.in_memory()
    if url.startswith("sqlite:///"):
        from .sqlite import SqliteProvider

        target = parse_sqlite_url(url, base_dir)
        if not create and not target.path.exists():
            raise StoreNotFoundError(str(target.path.resolve()))
        return await SqliteProvider.open(target.path, synchronous=target.synchronous, read_only=read_only)
    if url.startswith(("postgresql://", "postgres://")):
        return await _open_postgres(url, options, create, read_only)
    raise ConfigError(f"unsupported store URL {url!r}; use {ACCEPTED_FORMS}")


def sqlite_path(url: str, base_dir: Path | None = None) -> Path:
    """The file a ``sqlite:///`` URL names: three slashes relative, four absolute."""
    return parse_sqlite_url(url, base_dir).path


def parse_sqlite_url(url: str, base_dir: Path | None = None) -> SqliteUrl:
    """The file and the settings a ``sqlite:///`` URL names. Raises ConfigError for a URL that
    names no file, or for a query other than ``?synchronous=full|normal``."""
    location, _, query = url[len("sqlite:///") :].partition("?")
    rest = unquote(location)
    if not rest.strip("/") or "#" in rest or "#" in query:
        raise ConfigError(f"store URL {url!r} names no database file; use {ACCEPTED_FORMS}")
    synchronous: Synchronous = "full"
    for key, value in parse_qsl(query, keep_blank_values=True):
        if key != "synchronous":
            raise ConfigError(f"store URL {url!r} has an unknown parameter {key!r}: a SQLite store takes only ?synchronous=; use {ACCEPTED_FORMS}")
        from ._sqlite.connection import SYNCHRONOUS_MODES

        if value.lower() not in SYNCHRONOUS_MODES:
            allowed = " or ".join(SYNCHRONOUS_MODES)
            raise ConfigError(f"store URL {url!r}: synchronous must be {allowed}, got {value!r}")
        synchronous = cast("Synchronous", value.lower())
    path = Path(rest)
    if not path.is_absolute():
        path = (base_dir if base_dir is not None else Path.cwd()) / path
    return SqliteUrl(path, synchronous)


def without_password(url: str) -> str:
    """The URL as it may be shown (``-v``, ``duroxide run``'s header): a password becomes ``***``."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)[1]
    return urlunsplit(parts._replace(netloc=f"{parts.username or ''}:***@{netloc}"))


def split_schema(url: str) -> tuple[str, str | None]:
    """Remove our ``?schema=`` from a PostgreSQL URL: (the URL to connect to, the schema or None)."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    schemas = [value for key, value in query if key == "schema"]
    rest = urlencode([(key, value) for key, value in query if key != "schema"])
    return urlunsplit(parts._replace(query=rest)), (schemas[-1] if schemas else None)


async def _open_postgres(url: str, options: RuntimeOptions | None, create: bool, read_only: bool) -> Provider:
    from .postgres import PostgresProvider, pool_size_for

    connect_url, schema = split_schema(url)
    pool_size = None if options is None else pool_size_for(options)
    if schema is None:
        return await PostgresProvider.connect(connect_url, pool_size=pool_size, create=create, read_only=read_only)
    return await PostgresProvider.connect(connect_url, schema=schema, pool_size=pool_size, create=create, read_only=read_only)

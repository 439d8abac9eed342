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
from typing import cast
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit, urlunsplit

from ..errors import ConfigError
from ._sqlite.database import SYNCHRONOUS_MODES, Synchronous
from .base import Provider

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


async def open_provider(url: str, *, base_dir: Path | None = None, read_only: bool = False) -> Provider:
    """Open the store ``url`` names. Raises ConfigError for a URL of no accepted form.

    ``read_only``: the caller only reads, so the store is opened without writing to it (no
    migration, no write lock; see ``SqliteProvider.open``). A store without such a mode opens
    as usual."""
    if url == "sqlite://:memory:":
        from .sqlite import SqliteProvider

        return await SqliteProvider.in_memory()
    if url.startswith("sqlite:///"):
        from .sqlite import SqliteProvider

        target = parse_sqlite_url(url, base_dir)
        return await SqliteProvider.open(target.path, synchronous=target.synchronous, read_only=read_only)
    if url.startswith(("postgresql://", "postgres://")):
        return await _open_postgres(url)
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
        if value.lower() not in SYNCHRONOUS_MODES:
            allowed = " or ".join(SYNCHRONOUS_MODES)
            raise ConfigError(f"store URL {url!r}: synchronous must be {allowed}, got {value!r}")
        synchronous = cast(Synchronous, value.lower())
    path = Path(rest)
    if not path.is_absolute():
        path = (base_dir if base_dir is not None else Path.cwd()) / path
    return SqliteUrl(path, synchronous)


def split_schema(url: str) -> tuple[str, str | None]:
    """Remove our ``?schema=`` from a PostgreSQL URL: (the URL to connect to, the schema or None)."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    schemas = [value for key, value in query if key == "schema"]
    rest = urlencode([(key, value) for key, value in query if key != "schema"])
    return urlunsplit(parts._replace(query=rest)), (schemas[-1] if schemas else None)


async def _open_postgres(url: str) -> Provider:
    try:
        from .postgres import PostgresProvider  # type: ignore[import-not-found, unused-ignore]
    except ModuleNotFoundError as error:
        if error.name != f"{__package__}.postgres":
            raise
        raise ConfigError("the PostgreSQL store is not available in this version") from None
    connect_url, schema = split_schema(url)
    if schema is None:
        return await PostgresProvider.connect(connect_url)
    return await PostgresProvider.connect(connect_url, schema=schema)

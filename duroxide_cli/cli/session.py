"""What a command sets up before it acts: settings, logging, the store, the app."""

from __future__ import annotations

import dataclasses
import json
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import ConfigError
from ..payloads import MAX_DEPTH, normalize
from . import render
from .config import Settings, load_settings
from .failures import CommandError, ExitCode, usage_error
from .logging_setup import configure_logging

if TYPE_CHECKING:
    from ..model.options import RuntimeOptions
    from .app_loader import LoadedApp


def prepare(*, app: str | None = None, store: str | None = None, log_default: str = "warn", verbose: bool = False) -> Settings:
    """Load the settings (toml, environment, flags) and configure logging from them; with
    ``verbose`` (``-v``) say on stderr which store the command uses."""
    settings = load_settings(app=app, store=store)
    configure_logging(settings.log, default=log_default, source=settings.log_source)
    if verbose:
        settings = dataclasses.replace(settings, verbose=True)
        render.note(f"store: {describe_store(settings)}")
    return settings


def describe_store(settings: Settings) -> str:
    """The store URL, with the file it names when that is a relative SQLite path."""
    path = _sqlite_file(settings)
    from ..providers.url import without_password

    if path is None or settings.store_url.startswith("sqlite:////"):
        return without_password(settings.store_url)
    return f"{settings.store_url} ({path})"


def require_app(settings: Settings) -> LoadedApp:
    """Load the configured app; no app configured is a usage error."""
    if not settings.app:
        raise ConfigError(
            "no app configured: pass --app path/to/app.py (or pkg.module[:attr]), set DUROXIDE_APP, "
            "or add [app] module = \"...\" to duroxide.toml (`duroxide init` writes one)"
        )
    from .app_loader import load_app  # only commands that run or check the app load it

    loaded = load_app(settings.app, settings.app_base_dir)
    if settings.verbose:
        render.note(f"app: {settings.app} ({getattr(loaded.module, '__file__', None) or loaded.module.__name__})")
    return loaded


@asynccontextmanager
async def open_store(
    settings: Settings, *, create: bool = False, read_only: bool = False, options: RuntimeOptions | None = None
) -> AsyncIterator[Any]:
    """The configured store, closed on the way out.

    Only commands that write (``run``, ``start``, ``execute``) pass ``create``: any other command
    on a SQLite file or a PostgreSQL schema that does not exist is an error (exit 3) instead of
    leaving an empty store behind.
    Commands that run a runtime pass its ``options`` (a shared store's connections fit them).
    Commands that only read pass ``read_only``: the store is opened without writing to it (no
    migration, no write lock), so they answer while another process holds the write lock."""
    from ..errors import StoreNotFoundError
    from ..providers.url import open_provider

    try:
        provider = await open_provider(
            settings.store_url, base_dir=settings.store_base_dir, read_only=read_only, options=options, create=create
        )
    except StoreNotFoundError as error:
        raise store_not_found(error) from None
    try:
        yield provider
    finally:
        await provider.close()


def store_not_found(error: Exception) -> CommandError:
    """What a command that needs an existing store says when it is missing (exit 3)."""
    return CommandError(str(error), ExitCode.NOT_FOUND, hint=_NO_STORE_HINT)


_NO_STORE_HINT = (
    "`duroxide start`, `duroxide execute` or `duroxide run` creates it; to read another store, "
    "pass --store URL or set DUROXIDE_STORE or [store] url in duroxide.toml"
)


def _sqlite_file(settings: Settings) -> Path | None:
    """The absolute path of the SQLite file the store URL names (None for other stores)."""
    from ..providers.url import sqlite_path

    if not settings.store_url.startswith("sqlite:///"):
        return None
    return sqlite_path(settings.store_url, settings.store_base_dir).resolve()


@asynccontextmanager
async def open_client(settings: Settings, *, create: bool = False, read_only: bool = False) -> AsyncIterator[Any]:
    """A Client on the configured store (see ``open_store`` for ``create`` and ``read_only``)."""
    from ..client import Client

    async with open_store(settings, create=create, read_only=read_only) as provider:
        yield Client(provider)


def parse_json_argument(text: str | None, option: str) -> Any:
    """A JSON value given inline, as ``@path`` (a file) or ``@-`` (stdin); None stays None.

    A value the store could not hold (see ``payloads.normalize``) is a usage error too."""
    if text is None:
        return None
    source = f"{option}"
    if text.startswith("@"):
        where = text[1:]
        text = read_stdin(option) if where == "-" else read_text_file(Path(where), option)
        source = f"{option} {where}"
    value = parse_json(text, source, hint=text.lstrip()[:1] not in ('"', "{", "["))
    try:
        return normalize(value, source)
    except TypeError as error:
        raise usage_error(str(error)) from None


def read_text_file(path: Path, what: str) -> str:
    """The UTF-8 text of ``path``; a file that cannot be read or is not UTF-8 is a usage error."""
    try:
        return path.read_text(encoding="utf-8")
    except OSError as error:
        raise usage_error(f"{what}: cannot read {str(path)!r}: {error.strerror}") from None
    except UnicodeDecodeError as error:
        raise usage_error(f"{what}: {str(path)!r} is not UTF-8 text (byte 0x{error.object[error.start]:02x} at offset {error.start})") from None


def read_stdin(what: str) -> str:
    """Standard input as text; input that is not UTF-8 is a usage error."""
    try:
        return sys.stdin.buffer.read().decode("utf-8") if hasattr(sys.stdin, "buffer") else sys.stdin.read()
    except UnicodeDecodeError as error:
        raise usage_error(f"{what}: standard input is not UTF-8 text (byte 0x{error.object[error.start]:02x} at offset {error.start})") from None


def parse_json(text: str, source: str, *, hint: bool = False) -> Any:
    """``text`` parsed as JSON; invalid or too deeply nested JSON is a usage error naming ``source``."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        tip = "; a string needs JSON quotes, e.g. --input '\"text\"'" if hint else ""
        raise usage_error(f"{source} is not valid JSON: {error.msg} at line {error.lineno} column {error.colno}{tip}") from None
    except RecursionError:
        raise usage_error(f"{source} nests JSON too deeply to read (at most {MAX_DEPTH} levels)") from None

"""What a command sets up before it acts: settings, logging, the store, the app."""

from __future__ import annotations

import dataclasses
import json
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from . import render
from .app_loader import LoadedApp, load_app
from .config import Settings, load_settings
from .exits import CommandError, ExitCode, usage_error
from .logging_setup import configure_logging


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
    if path is None or settings.store_url.startswith("sqlite:////"):
        return settings.store_url
    return f"{settings.store_url} ({path})"


def require_app(settings: Settings) -> LoadedApp:
    """Load the configured app; no app configured is a usage error."""
    if not settings.app:
        raise ConfigError(
            "no app configured: pass --app path/to/app.py (or pkg.module[:attr]), set DUROXIDE_APP, "
            "or add [app] module = \"...\" to duroxide.toml (`duroxide init` writes one)"
        )
    loaded = load_app(settings.app, settings.app_base_dir)
    if settings.verbose:
        render.note(f"app: {settings.app} ({getattr(loaded.module, '__file__', None) or loaded.module.__name__})")
    return loaded


@asynccontextmanager
async def open_store(settings: Settings, *, create: bool = False, read_only: bool = False) -> AsyncIterator[Any]:
    """The configured store, closed on the way out.

    Only commands that write (``run``, ``start``, ``execute``) pass ``create``: reading a SQLite
    file that does not exist is an error (exit 3) instead of leaving an empty store behind.
    Commands that only read pass ``read_only``: the store is opened without writing to it (no
    migration, no write lock), so they answer while another process holds the write lock."""
    from ..providers.url import open_provider

    path = _sqlite_file(settings)
    if not create and path is not None and not path.exists():
        raise CommandError(f"no store at {path}", ExitCode.NOT_FOUND, hint=_NO_STORE_HINT)
    provider = await open_provider(settings.store_url, base_dir=settings.store_base_dir, read_only=read_only)
    try:
        yield provider
    finally:
        await provider.close()


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
    """A JSON value given inline, as ``@path`` (a file) or ``@-`` (stdin); None stays None."""
    if text is None:
        return None
    source = f"{option}"
    if text.startswith("@"):
        where = text[1:]
        try:
            text = sys.stdin.read() if where == "-" else Path(where).read_text(encoding="utf-8")
        except OSError as error:
            raise usage_error(f"{option}: cannot read {where!r}: {error.strerror}") from None
        source = f"{option} {where}"
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        hint = "" if text.lstrip()[:1] in ('"', "{", "[") else "; a string needs JSON quotes, e.g. --input '\"text\"'"
        raise usage_error(f"{source} is not valid JSON: {error.msg} at line {error.lineno} column {error.colno}{hint}") from None

"""What a command sets up before it acts: settings, logging, the store, the app."""

from __future__ import annotations

import json
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from .app_loader import LoadedApp, load_app
from .config import Settings, load_settings
from .exits import usage_error
from .logging_setup import configure_logging


def prepare(*, app: str | None = None, store: str | None = None, log_default: str = "warn") -> Settings:
    """Load the settings (toml, environment, flags) and configure logging from them."""
    settings = load_settings(app=app, store=store)
    configure_logging(settings.log, default=log_default, source=settings.log_source)
    return settings


def require_app(settings: Settings) -> LoadedApp:
    """Load the configured app; no app configured is a usage error."""
    if not settings.app:
        raise ConfigError(
            "no app configured: pass --app path/to/app.py (or pkg.module[:attr]), set DUROXIDE_APP, "
            "or add [app] module = \"...\" to duroxide.toml (`duroxide init` writes one)"
        )
    return load_app(settings.app, settings.app_base_dir)


@asynccontextmanager
async def open_store(settings: Settings) -> AsyncIterator[Any]:
    """The configured store, closed on the way out."""
    from ..providers.url import open_provider

    provider = await open_provider(settings.store_url, base_dir=settings.store_base_dir)
    try:
        yield provider
    finally:
        await provider.close()


@asynccontextmanager
async def open_client(settings: Settings) -> AsyncIterator[Any]:
    """A Client on the configured store."""
    from ..client import Client

    async with open_store(settings) as provider:
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

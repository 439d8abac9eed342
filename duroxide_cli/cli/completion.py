"""Shell completion of instance ids (from the store) and orchestration names (from the app).

Completion runs on every Tab, so it stays cheap and silent: it never creates a store, gives
up after a short time, and any failure (no store, a broken app, a locked file) completes
nothing instead of printing an error into the user's prompt.
"""

from __future__ import annotations

import contextlib
import io
import logging
from collections.abc import Iterator
from typing import Any

import typer

_LIMIT = 50
"""At most this many ids are offered: the newest that match what was typed."""

_TIMEOUT_S = 1.0


def complete_instance_id(ctx: typer.Context, incomplete: str) -> list[str]:
    """Ids of instances in the store that start with what was typed, newest first."""
    import asyncio

    with _silent():
        return asyncio.run(asyncio.wait_for(_instance_ids(ctx.params.get("store"), incomplete), _TIMEOUT_S))
    return []


def complete_orchestration_name(ctx: typer.Context, incomplete: str) -> list[str]:
    """Orchestration names the configured app registers that start with what was typed."""
    from .app_loader import load_app
    from .config import load_settings

    with _silent():
        settings = load_settings(app=ctx.params.get("app_ref"), store=ctx.params.get("store"))
        if not settings.app:
            return []
        registry = load_app(settings.app, settings.app_base_dir).registry
        return [name for name in registry.orchestration_names if name.startswith(incomplete)]
    return []


def complete_status(incomplete: str) -> list[str]:
    from .filters import STATUSES

    return [status for status in STATUSES if status.lower().startswith(incomplete.lower())]


async def _instance_ids(store: str | None, prefix: str) -> list[str]:
    from ..client import Client
    from ..providers.base import InstanceFilter
    from ..providers.url import open_provider, sqlite_path
    from .config import load_settings

    settings = load_settings(store=store)
    if not settings.store_url.startswith(("sqlite:///", "postgresql://", "postgres://")):
        return []
    if settings.store_url.startswith("sqlite:///") and not sqlite_path(settings.store_url, settings.store_base_dir).exists():
        return []
    provider = await open_provider(settings.store_url, base_dir=settings.store_base_dir, read_only=True)
    try:
        page = await Client(provider).list_instances_page(InstanceFilter(id_prefix=prefix or None), limit=_LIMIT)
    finally:
        await provider.close()
    return [state.instance_id for state in page.instances]


@contextlib.contextmanager
def _silent() -> Iterator[Any]:
    """Swallow every failure and keep output and logs out of the shell's completion protocol."""
    logging.disable(logging.CRITICAL)
    try:
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()), contextlib.suppress(Exception):
            yield
    finally:
        logging.disable(logging.NOTSET)

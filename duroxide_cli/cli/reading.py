"""The store of a command that only reads (``status``, ``list``), opened the cheapest way it can be.

A SQLite file is read through ``ReadClient``: synchronously, without importing asyncio, whose
start-up would cost such a command more than its question. Any other store (PostgreSQL,
``sqlite://:memory:``) is read through the async ``Client`` on an event loop of the command's
own (``_LoopClient``), whose methods then answer synchronously too: the command's code is the
same for every store. Either opens the store as ``session.open_client(read_only=True)`` does,
with the same errors (a missing store: exit 3 and its hint).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from .session import open_client, store_not_found

if TYPE_CHECKING:
    import asyncio

    from .config import Settings


@contextmanager
def read_client(settings: Settings) -> Iterator[Any]:
    """A client of the configured store for reading only, closed on the way out: a ``ReadClient``
    for a SQLite file, else a ``_LoopClient``; both answer ``get_status``, ``list_instances_page``
    and ``count_instances`` as ``Client`` does, but synchronously."""
    if not settings.store_url.startswith("sqlite:///"):
        with _loop_client(settings) as client:
            yield client
        return
    from ..errors import StoreNotFoundError
    from ..providers.url import parse_sqlite_url
    from ..read_client import ReadClient

    target = parse_sqlite_url(settings.store_url, settings.store_base_dir)
    if not target.path.exists():
        raise store_not_found(StoreNotFoundError(str(target.path.resolve())))
    with ReadClient.open(target.path) as client:
        yield client


class _LoopClient:
    """A ``Client`` whose coroutine methods are run to completion on ``loop``, one at a time."""

    def __init__(self, loop: asyncio.AbstractEventLoop, client: Any):
        self._loop = loop
        self._client = client

    def __getattr__(self, name: str) -> Callable[..., Any]:
        method = getattr(self._client, name)

        def call(*args: Any, **kwargs: Any) -> Any:
            return self._loop.run_until_complete(method(*args, **kwargs))

        return call


@contextmanager
def _loop_client(settings: Settings) -> Iterator[_LoopClient]:
    """``open_client(settings, read_only=True)`` on an event loop of its own, set up and torn
    down as ``asyncio.run`` does."""
    import asyncio

    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        opened = open_client(settings, read_only=True)
        client = loop.run_until_complete(opened.__aenter__())
        try:
            yield _LoopClient(loop, client)
        except BaseException:
            if not loop.run_until_complete(opened.__aexit__(*sys.exc_info())):
                raise
        else:
            loop.run_until_complete(opened.__aexit__(None, None, None))
    finally:
        try:
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.run_until_complete(loop.shutdown_default_executor())
        finally:
            asyncio.set_event_loop(None)
            loop.close()

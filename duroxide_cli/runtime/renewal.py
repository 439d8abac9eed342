"""Renewing an activity's lease while it runs, at no cost for the many that end first."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any


class LeaseRenewal:
    """Renews an activity's lease while it runs. Most activities end long before the first
    renewal is due, so the renewing task is only started then: until that moment a timer handle
    is all there is, and stopping costs no task to cancel and await."""

    def __init__(self, renew: Callable[[], Coroutine[Any, Any, None]], first_after_s: float):
        self._renew = renew
        self._task: asyncio.Task[None] | None = None
        self._timer = asyncio.get_running_loop().call_later(first_after_s, self._begin)

    def _begin(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._renew())

    async def stop(self) -> None:
        self._timer.cancel()
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

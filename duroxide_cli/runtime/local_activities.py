"""Activities that stay in this process: what the dispatcher and the activity worker tell each
other so that a step of a chain costs one synced commit.

A turn's commit leases the activities it schedules to this process, as many as the worker has
room for (``reserve``), and the worker runs them without fetching them (``run_leased``). When such
an activity finishes, the dispatcher takes its instance's lock and runs the next turn with the
result in memory (``OrchestrationDispatcher.deliver_result``): that turn's commit appends the
result and removes the work, so the result is acknowledged exactly when it is committed. See
docs/design-notes.md, "Activities that stay in the process".
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Protocol

from ..messages import Message
from ..providers.base import TERMINAL_STATUSES, ActivityWork, OrchestrationWork


class LocalActivities(Protocol):
    """What the dispatcher needs of the activity worker of its process."""

    def cancel_local(self, instance_id: str, activity_ids: list[int]) -> None:
        """Tell running activities of the instance that they are no longer wanted (all of them
        when ``activity_ids`` is empty)."""

    def reserve(self, wanted: int) -> int:
        """Hold up to ``wanted`` free activity slots for activities a commit will lease here; how
        many it holds (0 while stopping). Every reservation ends with ``run_leased``."""

    async def run_leased(self, reserved: int, leased: Sequence[ActivityWork]) -> None:
        """Run the activities a commit leased here (at most ``reserved``) and free the rest of the
        reservation; while stopping, give them back to the store instead."""


class LocalResult:
    """An activity's result held in memory for the turn of its instance that runs it.

    The worker that holds it waits on ``settled``: True once a turn committed it (its work item
    removed in the same transaction), False when it must store the result itself as usual."""

    def __init__(self, work: ActivityWork, message: Message):
        self.work = work
        self.message = message
        self._settled: asyncio.Future[bool] = asyncio.get_running_loop().create_future()

    def fits(self, locked: OrchestrationWork, max_delivery_attempts: int) -> bool:
        """Whether a turn of ``locked`` (the instance's work, just locked) can take this result:
        the instance still runs the execution the activity belongs to, every row of it could be
        read, and none of its queued messages is poison (those take a turn of their own)."""
        instance = locked.instance
        return (
            locked.unreadable is None
            and instance.status not in TERMINAL_STATUSES
            and instance.execution_id == self.message.execution_id
            and all(q.delivery_count <= max_delivery_attempts for q in locked.messages)
        )

    def settle(self, committed: bool) -> None:
        """Say what became of the result (only the first call counts)."""
        if not self._settled.done():
            self._settled.set_result(committed)

    async def settled(self) -> bool:
        return await self._settled

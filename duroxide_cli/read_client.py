"""ReadClient: the Client's reads of one instance and of pages of them, synchronous, on a SQLite file.

``duroxide status`` and ``duroxide list`` ask one question and exit; on a SQLite store they ask it
here, with no event loop or store thread to start (see ``providers/_sqlite/reads.py``). Each
method answers what the ``Client`` method of the same name answers on the same store, including
a Pending instance's ``NO_RUNTIME_REASON`` while no runtime is live; the tests compare the two.
"""

from __future__ import annotations

import time
from pathlib import Path

from .providers._sqlite.reads import SqliteReads
from .providers.base import RUNTIME_LIVE_WITHIN_MS, InstanceFilter, InstanceRecord
from .states import InstancePage, OrchestrationState, any_pending, check_limit, state_of, unserved


class ReadClient:
    """Reads a SQLite store the way ``Client`` does, without asyncio. Close it (or use ``with``)."""

    def __init__(self, reads: SqliteReads):
        self.reads = reads

    @classmethod
    def open(cls, path: Path) -> ReadClient:
        """Open the existing store file at ``path`` to read only (see ``SqliteReads.open``)."""
        return cls(SqliteReads.open(path))

    def close(self) -> None:
        self.reads.close()

    def __enter__(self) -> ReadClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def get_status(self, instance_id: str) -> OrchestrationState | None:
        """``Client.get_status``: the instance's state, or None if there is no such instance."""
        record = self.reads.get_instance(instance_id)
        return None if record is None else self._states([record])[0]

    def list_instances_page(
        self, filter: InstanceFilter | None = None, *, limit: int = 50, cursor: str | None = None
    ) -> InstancePage:
        """``Client.list_instances_page``: one page of the matching instances, newest first, after
        ``cursor``. A cursor the store cannot read raises ValueError."""
        check_limit(limit)
        page = self.reads.list_instances_page(filter, limit, cursor)
        return InstancePage(self._states(page.records), page.next_cursor)

    def count_instances(self, filter: InstanceFilter | None = None) -> int:
        """``Client.count_instances``: how many instances match ``filter`` (all of them when None)."""
        return self.reads.count_instances(filter)

    def _states(self, records: list[InstanceRecord]) -> list[OrchestrationState]:
        """As ``Client._states``: Pending ones say so when no runtime is live."""
        states = [state_of(r) for r in records]
        if not any_pending(states) or self.reads.list_runtimes(seen_since_ms=int(time.time() * 1000) - RUNTIME_LIVE_WITHIN_MS):
            return states
        return unserved(states)

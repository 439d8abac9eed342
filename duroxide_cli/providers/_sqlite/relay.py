"""A turn's commit sent to the database thread straight from the turn thread that ran the turn.

A chain step is a turn and its commit, one after the other. Through ``commit_turns_leasing`` the
turn's result first goes back to the event loop, which submits the commit to the database
thread: two thread wake-ups and a pass of the loop between the turn's end and its transaction.
The relay lets the turn thread hand the commit on itself: the same transaction
(``commit_turns_txn``, through ``Database.write``), its answer settling the event loop's
future as any store call's does. The runtime uses it only when nothing else waits for the
store, where there is nothing to group the commit with (see docs/design-notes.md, "A turn's
commit sent from its turn thread").
"""

from __future__ import annotations

import asyncio
from typing import Any

from ..base import TurnCommit
from . import commits
from .database import Database
from .wakeups import QueueSignal, Wake, apply


class TurnCommitRelay:
    """Commits turns from any thread on one SQLite store's database thread."""

    def __init__(self, db: Database, signals: dict[str, QueueSignal]):
        self._db = db
        self._signals = signals

    def idle(self) -> bool:
        """Event loop: the store is open and no call to it runs or waits, so a commit sent now
        would not have been grouped with another."""
        return self._db.idle()

    def send(self, loop: asyncio.AbstractEventLoop, future: asyncio.Future[Any], turns: list[TurnCommit]) -> Wake:
        """Any thread: commit ``turns`` (as ``commit_turns_leasing``) in a transaction of their
        own; ``future`` (of ``loop``) is settled with the list of CommitResults or the
        ProviderError. Hand the returned wake-ups to ``finish`` once it has settled with results.
        Raises ProviderError when the store is closed."""
        wake = Wake()
        self._db.forward(loop, future, "commit_turns", self._db.write, commits.commit_turns_txn, wake, turns)
        return wake

    def finish(self, wake: Wake) -> None:
        """Event loop: wake whoever the committed transaction's writes concern."""
        apply(wake, self._signals)

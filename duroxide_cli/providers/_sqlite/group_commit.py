"""Group commit: the operations callers start while a transaction runs go, all together, into
the next transaction, so one commit (one sync of the WAL at ``synchronous=FULL``) serves them all.

Under no load an operation is one transaction of its own, as before. Under load -- a thousand
``start_orchestration`` calls at once, a dispatcher committing turns while the worker fetches
and completes activities -- one thread hop and one commit carry every operation that arrived
meanwhile (the cost model in DESIGN section 4).

Each operation of a group runs inside its own savepoint: one that raises (a duplicate instance
id, a constraint) is rolled back alone and its caller gets the error, while the others are
committed. Nobody hears of an operation before the commit that holds it has returned, so what
a caller is told is as durable as a transaction of its own would have made it. If the commit
itself fails, every operation of the group fails with that error.

A group of fetches (and reads) only is committed without waiting for the disk, even at
``synchronous=FULL``: all it writes is leases. A power loss can undo such a commit -- and with
it only leases, whose holder the power loss has stopped too, so the work is simply fetched
again (without counting that delivery). The next commit at FULL syncs it with its own.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from .database import Database
    from .database_thread import DatabaseThread

MAX_GROUP = 512
"""At most this many operations share one transaction (a bound on how long one holds the lock)."""


@dataclass(slots=True)
class Operation:
    """One provider call waiting for, or done by, a transaction."""

    name: str
    """The provider operation, as a ProviderError names it."""
    fn: Callable[..., Any]
    args: tuple[Any, ...]
    kind: Literal["read", "poll", "write"]
    """What the operation writes: nothing, leases only (a fetch), or anything."""
    future: asyncio.Future[Any]
    batch: Callable[..., Any] | None = None
    """For a write many callers make at once (``Database.call_batched``): the function that runs
    a run of such operations of one group together, in one call."""
    item: Any = None
    """This operation's part of that call."""
    ok: bool = False
    value: Any = field(default=None)
    """The result when ``ok``, else the exception to raise."""


class OperationQueue:
    """The event loop's side: collects operations and hands them to the database thread in groups."""

    def __init__(self, run_group: Callable[[list[Operation]], Any]):
        """``run_group(ops)`` runs on the database thread and fills in each operation's outcome."""
        self._run_group = run_group
        self._pending: list[Operation] = []
        self._draining: asyncio.Task[None] | None = None
        self._busy = False
        """An operation runs alone (``_run_alone``)."""

    def idle(self) -> bool:
        """Nothing submitted here is running or waiting."""
        return self._draining is None and not self._busy and not self._pending

    async def submit(
        self,
        thread: DatabaseThread,
        name: str,
        fn: Callable[..., Any],
        args: tuple[Any, ...],
        kind: Literal["read", "poll", "write"],
        batch: Callable[..., Any] | None = None,
        item: Any = None,
    ) -> Any:
        loop = asyncio.get_running_loop()
        operation = Operation(name, fn, args, kind, loop.create_future(), batch, item)
        if self._draining is None and not self._busy:
            return await self._run_alone(thread, operation)
        self._pending.append(operation)
        if self._draining is None:
            self._draining = loop.create_task(self._drain(thread))
        return await operation.future

    async def _run_alone(self, thread: DatabaseThread, operation: Operation) -> Any:
        """Nothing runs: this operation goes at once, with no task in between (the sequential
        case, a chain of steps, pays nothing for grouping). Whatever arrives meanwhile is
        drained after it."""
        self._busy = True
        try:
            await thread.run(self._run_group, [operation])
        finally:
            self._busy = False
            if self._pending and self._draining is None:
                self._draining = asyncio.get_running_loop().create_task(self._drain(thread))
        if operation.ok:
            return operation.value
        raise operation.value

    async def _drain(self, thread: DatabaseThread) -> None:
        try:
            while self._pending:
                group, self._pending = self._pending[:MAX_GROUP], self._pending[MAX_GROUP:]
                try:
                    await asyncio.shield(thread.run(self._run_group, group))
                except BaseException as error:  # noqa: BLE001 - the thread is gone: tell every waiter
                    for operation in group:
                        if not operation.future.done():
                            operation.future.set_exception(error)
                    raise
                for operation in group:
                    if operation.future.done():  # the caller was cancelled meanwhile
                        continue
                    if operation.ok:
                        operation.future.set_result(operation.value)
                    else:
                        operation.future.set_exception(operation.value)
        finally:
            self._draining = None

    async def drained(self) -> None:
        """Wait until every submitted operation has been run."""
        while self._draining is not None or self._busy:
            if self._draining is not None:
                await asyncio.gather(self._draining, return_exceptions=True)
            else:
                await asyncio.sleep(0.001)


def run_group_txn(db: Database, conn: sqlite3.Connection, group: list[Operation]) -> None:
    """Run ``group`` in one transaction (database thread), each operation in a savepoint, and
    record each one's outcome. A group of one is a plain transaction."""
    kinds = {op.kind for op in group}
    leases_only = db.synchronous == "full" and "poll" in kinds and "write" not in kinds
    if leases_only:
        conn.execute("PRAGMA synchronous = NORMAL")
    try:
        _run_group_txn(db, conn, group)
    finally:
        if leases_only:
            conn.execute("PRAGMA synchronous = FULL")


def _run_group_txn(db: Database, conn: sqlite3.Connection, group: list[Operation]) -> None:
    if len(group) == 1:
        only = group[0]
        try:
            only.value, only.ok = db.guarded(only.name, only.fn, only.args), True
        except BaseException as error:  # noqa: BLE001 - handed to the caller
            only.value = error
        return
    begin = "BEGIN" if all(op.kind == "read" for op in group) else "BEGIN IMMEDIATE"
    try:
        db.guarded(group[0].name, conn.execute, (begin,))
    except BaseException as error:  # noqa: BLE001 - e.g. another process holds the lock too long
        _fail_all(group, error)
        return
    db.in_group = True
    try:
        for run in _runs(group):
            if not (_run_batch(db, conn, run) if len(run) > 1 else _run_in_savepoint(db, conn, run[0])):
                _fail_all(group, run[-1].value)  # the error ended the whole transaction
                return
        try:
            db.guarded(group[0].name, conn.execute, ("COMMIT",))
        except BaseException as error:  # noqa: BLE001 - nothing of the group was kept
            if conn.in_transaction:  # a failed COMMIT leaves the transaction open
                conn.execute("ROLLBACK")
            _fail_all([op for op in group if op.ok], error)
    finally:
        db.in_group = False


def _run_in_savepoint(db: Database, conn: sqlite3.Connection, operation: Operation) -> bool:
    """Run one operation; False when its failure also ended the transaction (the disk is full,
    say), which undoes the whole group."""
    conn.execute("SAVEPOINT operation")
    try:
        operation.value, operation.ok = db.guarded(operation.name, operation.fn, operation.args), True
    except BaseException as error:  # noqa: BLE001 - handed to the caller
        operation.value = error
        if not conn.in_transaction:
            return False
        conn.execute("ROLLBACK TO operation")
    conn.execute("RELEASE operation")
    return True


def _runs(group: list[Operation]) -> list[list[Operation]]:
    """The group cut into runs to execute: each operation alone, except that consecutive ones of
    the same ``batch`` make one run."""
    runs: list[list[Operation]] = []
    for operation in group:
        if runs and operation.batch is not None and runs[-1][-1].batch is operation.batch:
            runs[-1].append(operation)
        else:
            runs.append([operation])
    return runs


def _run_batch(db: Database, conn: sqlite3.Connection, run: list[Operation]) -> bool:
    """Run operations of one ``batch`` in one call, in a savepoint; if that call fails as a whole,
    run each alone instead (so one caller's bad value fails only that caller). False as for
    ``_run_in_savepoint``."""
    first = run[0]
    assert first.batch is not None
    conn.execute("SAVEPOINT batch")
    try:
        outcomes = db.guarded(first.name, db.write_batch, (first.batch, [op.item for op in run]))
    except BaseException as error:  # noqa: BLE001 - retried one by one below
        if not conn.in_transaction:
            for operation in run:
                operation.value = error
            return False
        conn.execute("ROLLBACK TO batch")
        conn.execute("RELEASE batch")
        return all(_run_in_savepoint(db, conn, operation) for operation in run)
    conn.execute("RELEASE batch")
    for operation, outcome in zip(run, outcomes, strict=True):
        operation.ok = not isinstance(outcome, BaseException)
        operation.value = outcome
    return True


def _fail_all(group: list[Operation], error: BaseException) -> None:
    for operation in group:
        operation.ok, operation.value = False, error

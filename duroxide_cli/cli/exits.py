"""Running a command under typer: its coroutine or function, with its failures explained on
stderr (``failures``, where the exit codes are) and turned into ``typer.Exit``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import typer

from .failures import INTERRUPTED as INTERRUPTED
from .failures import CommandError as CommandError
from .failures import ExitCode as ExitCode
from .failures import code_for_error as code_for_error
from .failures import code_for_status as code_for_status
from .failures import explain, explained
from .failures import usage_error as usage_error

T = TypeVar("T")


def run_command(main: Callable[[], Awaitable[T]], interrupted: int = INTERRUPTED) -> T:
    """Run a command's coroutine; explain a known failure on stderr and exit with its code.

    Ctrl-C exits with ``interrupted`` (130, or 0 for commands that run until stopped)."""
    with explained_failures(interrupted):
        import asyncio  # not at the top: ``duroxide --help`` runs no coroutine

        return asyncio.run(_call(main))


def run_sync_command(main: Callable[[], T], interrupted: int = INTERRUPTED) -> T:
    """``run_command`` for a command that needs no event loop of its own (``status``, ``list``)."""
    with explained_failures(interrupted):
        return main()


@contextmanager
def explained_failures(interrupted: int = INTERRUPTED) -> Iterator[None]:
    """``failures.explained``, ending the command with ``typer.Exit``."""
    with explained(typer.Exit, interrupted):
        yield


def fail(error: BaseException) -> typer.Exit:
    """Print ``error`` as one line (plus the user's traceback for an app import failure)."""
    return typer.Exit(explain(error))


async def _call(main: Callable[[], Awaitable[Any]]) -> Any:
    return await main()

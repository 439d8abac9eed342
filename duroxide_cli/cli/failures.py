"""Exit codes, and the one place where a command's errors become a line on stderr and a code.

Nothing here imports typer: ``fast_reads`` answers ``status`` and ``list`` without it, and
``exits`` is this module for the commands typer runs.

    0  success (the instance Completed, replay consistent)
    1  the instance Failed, replay diverged, or the operation failed
    2  usage or configuration error (bad flag, bad JSON, unknown orchestration, app import
       failure, bad URL)
    3  unknown instance
    4  timed out
    5  the instance was Cancelled
"""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from enum import IntEnum

from ..errors import (
    ConfigError,
    DuroxideError,
    InstanceAlreadyExistsError,
    InstanceNotFoundError,
    InstanceRunningError,
    ProviderError,
    StoreNotFoundError,
    WaitTimeoutError,
)
from . import render


class ExitCode(IntEnum):
    """What ``duroxide`` exits with."""

    OK = 0
    FAILED = 1
    USAGE = 2
    NOT_FOUND = 3
    TIMED_OUT = 4
    CANCELLED = 5


class CommandError(Exception):
    """A failure the command explains in one line and exits with ``code`` for."""

    def __init__(self, message: str, code: ExitCode = ExitCode.FAILED, hint: str | None = None):
        self.message = message
        self.code = code
        self.hint = hint
        """What to do about it, printed on a second line."""
        super().__init__(message)


def usage_error(message: str) -> CommandError:
    """A mistake in what the user typed: exit 2."""
    return CommandError(message, ExitCode.USAGE)


def code_for_status(status: str) -> ExitCode:
    """The exit code that follows an instance's status (``wait``, ``execute``, ``start --wait``)."""
    if status == "Completed":
        return ExitCode.OK
    if status == "Cancelled":
        return ExitCode.CANCELLED
    return ExitCode.FAILED


def code_for_error(error: BaseException) -> ExitCode:
    """Classify a library error once, by type."""
    if isinstance(error, CommandError):
        return error.code
    if isinstance(error, (InstanceNotFoundError, StoreNotFoundError)):
        return ExitCode.NOT_FOUND
    if isinstance(error, WaitTimeoutError):
        return ExitCode.TIMED_OUT
    if isinstance(error, ConfigError):
        return ExitCode.USAGE
    if isinstance(error, (InstanceAlreadyExistsError, InstanceRunningError, ProviderError, DuroxideError)):
        return ExitCode.FAILED
    return ExitCode.FAILED


INTERRUPTED = 130
"""The shell's code for a command stopped by Ctrl-C."""



@contextmanager
def explained(exit: Callable[[int], BaseException], interrupted: int = INTERRUPTED) -> Iterator[None]:
    """Around a running command: a known failure is explained on stderr and ends the command
    with ``exit(code)``; Ctrl-C raises KeyboardInterrupt (asyncio.run's graceful stop) and ends
    it with ``exit(interrupted)``, after a note unless ``interrupted`` is 0. An ``exit`` the
    command raised itself passes."""
    main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGINT, signal.default_int_handler) if main_thread else None
    try:
        yield
    except (CommandError, DuroxideError) as error:
        raise exit(explain(error)) from None
    except BaseException as error:
        # CancelledError: a Ctrl-C that lands while asyncio.run is installing its handler cancels
        # the command before asyncio has counted the interrupt; nothing else cancels it
        if not isinstance(error, KeyboardInterrupt) and not _is_cancelled(error):
            raise
        if interrupted:
            render.note("interrupted")
        raise exit(interrupted) from None
    finally:
        if main_thread:
            signal.signal(signal.SIGINT, previous)


def _is_cancelled(error: BaseException) -> bool:
    """Whether ``error`` is asyncio's CancelledError (asyncio is not imported to ask)."""
    asyncio = sys.modules.get("asyncio")
    return asyncio is not None and isinstance(error, asyncio.CancelledError)


def explain(error: BaseException) -> int:
    """Print ``error`` as one line (plus the user's traceback for an app import failure, and the
    hint of a CommandError); the exit code it calls for."""
    from .app_loader import AppImportError  # not at the top: commands that load no app never need it

    if isinstance(error, AppImportError):
        render.user_traceback(error.user_traceback)
    render.error(str(error))
    if isinstance(error, CommandError) and error.hint:
        render.note(f"hint: {error.hint}")
    return int(code_for_error(error))

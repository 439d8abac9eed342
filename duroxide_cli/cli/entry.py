"""The ``duroxide`` console script: how the process starts and how a signal ends it.

Ctrl-C or SIGTERM can arrive at any moment, most often while the command line is still importing
its modules. Until a command runs, either one ends the process quietly with the shell's code
(130 for SIGINT, 143 for SIGTERM) instead of a ``KeyboardInterrupt`` traceback; while a command
runs, ``exits.run_command`` hands Ctrl-C back to asyncio for a graceful stop. Importing this
module installs the handlers, and it imports nothing but the standard library's ``os``, ``signal``
and ``sys`` first. Output that cannot be written ends the command with one line (``output_guard``).
"""

from __future__ import annotations

import os
import signal
import sys
from typing import Any

SIGNAL_EXIT: dict[int, int] = {signal.SIGINT: 130, signal.SIGTERM: 143}
"""The exit code for each signal that stops a command: 128 + the signal's number."""


class _SignalExit(SystemExit):
    """The exit a signal asked for (a SystemExit, so ``finally`` blocks still run)."""


def exit_quietly(signum: int, frame: Any) -> None:
    """The handler outside a running command: exit with the signal's code, printing nothing."""
    raise _SignalExit(SIGNAL_EXIT.get(signum, 128 + signum))


def _exit_from_unraisable(unraisable: Any) -> None:
    """A signal's exit raised where Python cannot propagate it (a finalizer, a weakref or atexit
    callback) would be printed as "Exception ignored" with a traceback and then lost: end the
    process there and then, with the signal's code."""
    if isinstance(unraisable.exc_value, _SignalExit):
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except Exception:  # noqa: BLE001 - exiting anyway
                pass
        code = unraisable.exc_value.code
        os._exit(code if isinstance(code, int) else 1)
    _previous_unraisablehook(unraisable)


_previous_unraisablehook = sys.unraisablehook


def quiet_signals() -> None:
    """Make SIGINT and SIGTERM end the process quietly (see the module's docstring)."""
    sys.unraisablehook = _exit_from_unraisable
    for sig in SIGNAL_EXIT:
        signal.signal(sig, exit_quietly)


# at import, not in main(): the console script runs code of its own between the two
quiet_signals()


def main() -> None:
    """Run ``duroxide``; a signal before or after the command ends it quietly."""
    quiet_signals()
    from .output_guard import UnwritableOutput, flush_stdout, guard_stdout, report_unwritable

    guard_stdout()
    try:
        try:
            from .arguments import refuse_undecodable
            from .fast_reads import run as answer_plain_reads

            refuse_undecodable(sys.argv[1:])
            answer_plain_reads(sys.argv[1:])  # ends the process if it answered
            from .app import main as run

            run()
        finally:
            flush_stdout()  # a failure here is reported below, not printed by the interpreter at exit
    except UnwritableOutput as error:
        raise SystemExit(report_unwritable(error)) from None
    except KeyboardInterrupt:  # a Ctrl-C that got past a command's own handling
        raise SystemExit(130) from None
    finally:
        # what is left is the interpreter shutting down: a signal now just ends the process
        for sig in SIGNAL_EXIT:
            signal.signal(sig, signal.SIG_DFL)


if __name__ == "__main__":
    main()

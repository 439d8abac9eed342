"""Standard output that cannot be written (a full disk, a closed descriptor) ends the command with
one line on stderr and exit 1, not a traceback.

``guard_stdout`` wraps ``sys.stdout`` so that a failed write or flush raises ``UnwritableOutput``
(an ``OSError`` with the same errno), which ``entry.main`` reports. A closed pipe (EPIPE, as under
``| head -1``) is left as it was: it raises as before and ends the command quietly as before.
When the process starts with descriptor 1 closed (``>&-``), Python sets ``sys.stdout`` to None;
the descriptor is then taken by ``/dev/null`` so that no file the command opens (a store) gets
it, and the first write raises. Imports only the standard library's ``errno``, ``os`` and ``sys``.
"""

from __future__ import annotations

import errno
import os
import sys
from typing import Any


class UnwritableOutput(OSError):
    """Writing the command's output to standard output failed for a reason other than a closed pipe."""


def guard_stdout() -> None:
    """Wrap ``sys.stdout`` (see the module's docstring); once is enough."""
    if isinstance(sys.stdout, _Guarded):
        return
    if sys.stdout is None:
        _occupy_descriptor(1)
        sys.stdout = _Guarded(_Closed())
        return
    sys.stdout = _Guarded(sys.stdout)


def flush_stdout() -> None:
    """Flush standard output now, so that a failure is reported instead of printed at exit."""
    if sys.stdout is not None:
        sys.stdout.flush()


def report_unwritable(error: OSError) -> int:
    """Print the one line for ``error`` on stderr, drop what is left to write, return exit code 1."""
    try:
        sys.stderr.write(f"error: cannot write the output: {error.strerror or error}\n")
        sys.stderr.flush()
    except (OSError, AttributeError, ValueError):
        pass
    _occupy_descriptor(1, replace=True)  # the interpreter's last flush then succeeds quietly
    return 1


class _Guarded:
    """``sys.stdout`` whose write and flush raise ``UnwritableOutput`` for a failure other than EPIPE."""

    def __init__(self, stream: Any):
        self._stream = stream

    def write(self, text: str) -> int:
        try:
            return self._stream.write(text)  # type: ignore[no-any-return]
        except OSError as error:
            raise _converted(error) from None

    def flush(self) -> None:
        try:
            self._stream.flush()
        except OSError as error:
            raise _converted(error) from None

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


class _Closed:
    """What ``sys.stdout`` stands for when descriptor 1 was closed: nothing can be written."""

    encoding = "utf-8"
    errors = "strict"

    def write(self, text: str) -> int:
        raise OSError(errno.EBADF, "standard output is closed")

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return False

    def fileno(self) -> int:
        raise OSError(errno.EBADF, "standard output is closed")


def _converted(error: OSError) -> OSError:
    if error.errno == errno.EPIPE or isinstance(error, UnwritableOutput):
        return error
    return UnwritableOutput(error.errno, error.strerror or str(error))


def _occupy_descriptor(fd: int, replace: bool = False) -> None:
    """Point ``fd`` at /dev/null: when it is closed (``replace`` False), or always."""
    if not replace:
        try:
            os.fstat(fd)
            return
        except OSError:
            pass
    try:
        null = os.open(os.devnull, os.O_WRONLY)
    except OSError:
        return
    if null != fd:
        os.dup2(null, fd)
        os.close(null)

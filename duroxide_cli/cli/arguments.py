"""The command line's arguments as text: bytes that are not UTF-8 are refused before any command
(or ``fast_reads``) sees them, since such a string could be neither stored nor printed."""

from __future__ import annotations

import os
from collections.abc import Sequence


def refuse_undecodable(arguments: Sequence[str]) -> None:
    """Exit 2 with a one-line error at the first argument whose bytes are not UTF-8."""
    for argument in arguments:
        raw = os.fsencode(argument)
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError as error:
            from . import render
            from .failures import ExitCode

            render.error(f"argument {ascii(raw)[1:]} is not UTF-8 text (byte 0x{raw[error.start]:02x}); duroxide reads its arguments as UTF-8")
            raise SystemExit(ExitCode.USAGE) from None

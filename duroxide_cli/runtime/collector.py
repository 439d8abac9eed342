"""The cyclic garbage collector while a runtime runs: its first generation is collected after
``RUNNING_THRESHOLD`` new objects instead of Python's 700.

A runtime keeps thousands of objects alive per instance in flight (turns, futures, history,
cached generators), and at 700 allocations a young collection, every tenth of them a middle
one and now and then a full one walking all of those objects cost about a fifth of the
process's CPU in ``duroxide bench -w hello``. Collecting after 10,000 new objects keeps the
same proportions between generations at a fraction of the cost, and what waits to be
collected stays small (a few thousand objects at most). Reference counting, which frees almost
everything the runtime drops, is unaffected.

A process's own choice is kept: the threshold is raised only from Python's default, and put
back when the last runtime of the process stops, unless something else changed it meanwhile.
"""

from __future__ import annotations

import gc

PYTHON_DEFAULT = 700
"""Python's first-generation threshold (``gc.get_threshold()[0]``)."""

RUNNING_THRESHOLD = 10_000
"""The first-generation threshold while a runtime runs."""

_running = 0
"""Runtimes of this process between ``runtime_started`` and ``runtime_stopped``."""
_raised = False
"""Whether ``runtime_started`` raised the threshold (and so the last stop puts it back)."""


def runtime_started() -> None:
    """A runtime started: raise the threshold if the process left it at Python's default."""
    global _running, _raised
    _running += 1
    first, second, third = gc.get_threshold()
    if _running == 1 and first == PYTHON_DEFAULT:
        gc.set_threshold(RUNNING_THRESHOLD, second, third)
        _raised = True


def runtime_stopped() -> None:
    """A runtime stopped: the last one puts the threshold back if it raised it and nothing
    changed it since."""
    global _running, _raised
    _running = max(0, _running - 1)
    if _running or not _raised:
        return
    _raised = False
    first, second, third = gc.get_threshold()
    if first == RUNNING_THRESHOLD:
        gc.set_threshold(PYTHON_DEFAULT, second, third)

"""The CPU time the SQLite store's database threads spend on what is handed to them, for the
benchmark scripts that report it per unit. Importing this module starts the count: every
``DatabaseThread.run`` from then on adds its thread time to ``SPENT[0]``."""

from __future__ import annotations

import time

from duroxide_cli.providers._sqlite.database_thread import DatabaseThread

SPENT = [0.0]
"""Seconds of database-thread CPU since the count was last set to zero."""

_run = DatabaseThread.run


def _timed_run(self, fn, *args):  # noqa: ANN001, ANN002, ANN202 - DatabaseThread.run's own signature
    def timed(*inner):  # noqa: ANN002, ANN202
        start = time.thread_time()
        try:
            return fn(*inner)
        finally:
            SPENT[0] += time.thread_time() - start

    return _run(self, timed, *args)


DatabaseThread.run = _timed_run  # type: ignore[method-assign]

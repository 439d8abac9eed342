"""The garbage collector's first threshold while a runtime runs: raised from Python's default,
put back when the last runtime stops, and a process's own choice left alone."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from duroxide_cli import Registry, Runtime
from duroxide_cli.providers.sqlite import SqliteProvider
from duroxide_cli.runtime.collector import PYTHON_DEFAULT, RUNNING_THRESHOLD


@pytest.fixture(autouse=True)
def python_default_threshold() -> Iterator[None]:
    before = gc.get_threshold()
    gc.set_threshold(PYTHON_DEFAULT, before[1], before[2])
    yield
    gc.set_threshold(*before)


async def test_raised_while_runtimes_run_and_put_back_after_the_last():
    provider = await SqliteProvider.in_memory()
    try:
        first, second = Runtime(provider, registry=Registry()), Runtime(provider, registry=Registry())
        await first.start()
        assert gc.get_threshold()[0] == RUNNING_THRESHOLD
        await second.start()
        await first.shutdown(timeout_ms=500)
        assert gc.get_threshold()[0] == RUNNING_THRESHOLD  # the second still runs
        await second.shutdown(timeout_ms=500)
        assert gc.get_threshold()[0] == PYTHON_DEFAULT
    finally:
        await provider.close()


async def test_a_threshold_the_process_chose_is_kept():
    gc.set_threshold(5000, 20, 20)
    provider = await SqliteProvider.in_memory()
    try:
        runtime = Runtime(provider, registry=Registry())
        await runtime.start()
        assert gc.get_threshold() == (5000, 20, 20)
        await runtime.shutdown(timeout_ms=500)
        assert gc.get_threshold() == (5000, 20, 20)
    finally:
        await provider.close()

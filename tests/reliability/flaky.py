"""A real store that fails some of its calls, for the fault suite (no mocks: every call that is
not failed, and every failure injected after the call, goes through to the real store)."""

from __future__ import annotations

import random

from duroxide_cli import ProviderError

EXEMPT = frozenset({"close", "wait_for_work"})


class FlakyProvider:
    """Wraps ``inner``. Each call fails with probability ``rate``: half the time before reaching
    the store, half the time after it did its work (as a connection dropped before the answer
    arrived). Failures are retryable unless ``permanent_after`` calls have been made, after
    which every call fails with a permanent error, as a store whose file went bad would."""

    def __init__(self, inner, rate: float, *, seed: int = 1, permanent_after: int | None = None):
        self._inner = inner
        self._rate = rate
        self._random = random.Random(seed)
        self._permanent_after = permanent_after
        self.calls = 0
        self.failures = 0

    def __getattr__(self, name):
        real = getattr(self._inner, name)
        if name.startswith("_") or name in EXEMPT or not callable(real):
            return real

        async def flaky(*args, **kwargs):
            self.calls += 1
            if self._permanent_after is not None and self.calls > self._permanent_after:
                self.failures += 1
                raise ProviderError(name, "injected: database disk image is malformed", retryable=False)
            roll = self._random.random()
            if roll < self._rate / 2:
                self.failures += 1
                raise ProviderError(name, "injected before the call: database is locked", retryable=True)
            result = await real(*args, **kwargs)
            if roll < self._rate:
                self.failures += 1
                raise ProviderError(name, "injected after the call: connection dropped", retryable=True)
            return result

        return flaky

"""Time, injected: the runtime reads the wall clock only through a Clock."""

from __future__ import annotations

import time


class Clock:
    """Wall-clock epoch milliseconds; tests may pass a subclass."""

    def now_ms(self) -> int:
        return int(time.time() * 1000)

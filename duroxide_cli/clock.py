"""Time, injected: the runtime and the stores read the wall clock only through a Clock."""

from __future__ import annotations

import time


class Clock:
    """Wall-clock epoch milliseconds. Tests pass a subclass that moves time on instead of sleeping."""

    def now_ms(self) -> int:
        """The current time in epoch milliseconds."""
        return int(time.time() * 1000)

"""The generator cache: live Replayers kept between turns, so a step costs the same at any history length."""

from __future__ import annotations

from collections import OrderedDict

from ..replay import Replayer


class GeneratorCache:
    """A bounded LRU of Replayers, each valid only at the (execution_id, event_count) it was left at."""

    def __init__(self, capacity: int):
        self.capacity = capacity
        self._entries: OrderedDict[str, Replayer] = OrderedDict()
        self.hits = 0
        self.misses = 0

    def known(self) -> dict[str, tuple[int, int]]:
        """What the store need not send again: instance id -> (execution_id, event_count)."""
        return {iid: (r.execution_id, r.event_count) for iid, r in self._entries.items()}

    def take(self, instance_id: str, execution_id: int, event_count: int) -> Replayer | None:
        """Remove and return the entry if it is valid for exactly this point; else drop it."""
        replayer = self._entries.pop(instance_id, None)
        if replayer is not None and replayer.execution_id == execution_id and replayer.event_count == event_count:
            self.hits += 1
            return replayer
        if replayer is not None:
            replayer.close()
        self.misses += 1
        return None

    def put(self, instance_id: str, replayer: Replayer) -> None:
        if self.capacity <= 0:
            replayer.close()
            return
        self._entries[instance_id] = replayer
        self._entries.move_to_end(instance_id)
        while len(self._entries) > self.capacity:
            _, evicted = self._entries.popitem(last=False)
            evicted.close()

    def evict(self, instance_id: str) -> None:
        replayer = self._entries.pop(instance_id, None)
        if replayer is not None:
            replayer.close()

    def clear(self) -> None:
        for replayer in self._entries.values():
            replayer.close()
        self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)

"""The generator cache: live Replayers kept between turns, so a step costs the same at any history length."""

from __future__ import annotations

from collections import OrderedDict

from ..providers.base import KnownHistory
from ..replay import Replayer


class GeneratorCache:
    """A bounded LRU of Replayers, each valid only for the instance incarnation it was built for
    and at the (execution_id, event_count) it was left at: an id deleted and started again is a
    new incarnation, whose turns never reach the old generator."""

    def __init__(self, capacity: int):
        self.capacity = capacity
        self._entries: OrderedDict[str, tuple[str, Replayer]] = OrderedDict()
        self._known: dict[str, KnownHistory] = {}
        """Where each entry was left, kept as entries come and go: a fetch asks for it each time,
        and rebuilding it from every Replayer cost more than the fetch."""
        self.hits = 0
        self.misses = 0

    def known(self) -> dict[str, KnownHistory]:
        """What the store need not send again: instance id -> where its cached generator is."""
        return self._known.copy()

    def known_for(self, instance_id: str) -> dict[str, KnownHistory]:
        """``known`` for one instance only (empty when nothing is held for it)."""
        held = self._known.get(instance_id)
        return {} if held is None else {instance_id: held}

    def take(
        self, instance_id: str, incarnation: str, execution_id: int, history_after: int, history_len: int = 0
    ) -> Replayer | None:
        """Remove and return the entry if the fetched history (``history_len`` events after the
        first ``history_after``) reaches where it was left; else drop it. The caller feeds it the
        fetched events past its ``event_count``."""
        entry = self._entries.pop(instance_id, None)
        self._known.pop(instance_id, None)
        if entry is None:
            self.misses += 1
            return None
        held_incarnation, replayer = entry
        if (
            (held_incarnation, replayer.execution_id) == (incarnation, execution_id)
            and history_after <= replayer.event_count <= history_after + history_len
        ):
            self.hits += 1
            return replayer
        replayer.close()
        self.misses += 1
        return None

    def take_any(self, instance_id: str) -> tuple[str, Replayer] | None:
        """Remove and return the entry (its incarnation and Replayer) before the store has said
        where the instance is: the caller checks the store's answer against it (``take``'s
        checks) and closes it if they disagree."""
        entry = self._entries.pop(instance_id, None)
        self._known.pop(instance_id, None)
        if entry is None:
            self.misses += 1
        else:
            self.hits += 1
        return entry

    def committing(self, instance_id: str, incarnation: str, replayer: Replayer) -> None:
        """``replayer`` has run a turn whose commit is on its way: a fetch that finds the instance
        again can only do so after that commit, so it need not send the events the replayer holds.
        ``put`` keeps it once committed; ``evict`` or ``forget`` undo this when it is not kept."""
        if self.capacity > 0:
            self._known[instance_id] = KnownHistory(incarnation, replayer.execution_id, replayer.event_count)

    def forget(self, instance_id: str) -> None:
        """Stop announcing ``instance_id`` (its replayer was not kept), unless another turn kept
        one for it meanwhile: then announce that one."""
        entry = self._entries.get(instance_id)
        if entry is None:
            self._known.pop(instance_id, None)
        else:
            incarnation, replayer = entry
            self._known[instance_id] = KnownHistory(incarnation, replayer.execution_id, replayer.event_count)

    def put(self, instance_id: str, incarnation: str, replayer: Replayer) -> None:
        """Keep ``replayer`` for this incarnation of ``instance_id`` (closing the least recently used beyond capacity)."""
        if self.capacity <= 0:
            replayer.close()
            return
        previous = self._entries.pop(instance_id, None)
        if previous is not None and previous[1] is not replayer:
            previous[1].close()
        self._entries[instance_id] = (incarnation, replayer)
        self._known[instance_id] = KnownHistory(incarnation, replayer.execution_id, replayer.event_count)
        while len(self._entries) > self.capacity:
            evicted_id, (_, evicted) = self._entries.popitem(last=False)
            self._known.pop(evicted_id, None)
            evicted.close()

    def evict(self, instance_id: str) -> None:
        self._known.pop(instance_id, None)
        entry = self._entries.pop(instance_id, None)
        if entry is not None:
            entry[1].close()

    def clear(self) -> None:
        for _, replayer in self._entries.values():
            replayer.close()
        self._entries.clear()
        self._known.clear()

    def __len__(self) -> int:
        return len(self._entries)

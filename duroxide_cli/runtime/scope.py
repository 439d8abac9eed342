"""Which instances a runtime serves when it is limited to one instance's tree."""

from __future__ import annotations

from collections.abc import Iterable

from ..history import OrchestrationStarted
from ..providers.base import InstanceStart, Provider, TurnCommit
from .logs import runtime_log


class InstanceScope:
    """A root instance and the sub-orchestrations it starts, recursively: what ``duroxide
    execute`` runs. The dispatcher adds each committed turn's children; both fetches ask the
    store for the current ids only, so the rest of the store is left to other processes."""

    def __init__(self, root_instance_id: str):
        self.root_instance_id = root_instance_id
        self._ids: set[str] = {root_instance_id}

    def ids(self) -> frozenset[str]:
        """A snapshot for one fetch."""
        return frozenset(self._ids)

    def add(self, instance_ids: Iterable[str]) -> bool:
        """Serve these instances too; True when any is new."""
        before = len(self._ids)
        self._ids.update(instance_ids)
        return len(self._ids) > before

    def __contains__(self, instance_id: object) -> bool:
        return instance_id in self._ids


def is_child_start(start: InstanceStart) -> bool:
    """A sub-orchestration's start (it records its parent), not a fire-and-forget one."""
    body = start.start.body
    return isinstance(body, OrchestrationStarted) and body.parent_instance_id is not None


async def children_started(provider: Provider, instance_id: str, commit: TurnCommit) -> list[str]:
    """The sub-orchestrations ``commit`` (now committed) made children of ``instance_id``.

    The store says which: a child id already in use stays another instance's (the parent's
    yield fails instead), and a runtime scoped to this tree must not take that one over. If the
    store cannot answer, the started ids are taken as they are, so the tree still completes.
    """
    started = [start.start.instance_id for start in commit.starts if is_child_start(start)]
    if not started:
        return []
    try:
        children = set(await provider.list_children(instance_id))
    except Exception:  # noqa: BLE001 - the turn is committed; a lost child would hang its parent
        runtime_log.warning("could not list the children of %s; following its starts", instance_id, exc_info=True)
        return started
    return [child for child in started if child in children]

"""The generator cache keeps what it announces to the store in step with what it holds, whatever
order turns keep, forget and evict their generators in."""

from __future__ import annotations

from duroxide_cli.providers.base import KnownHistory
from duroxide_cli.replay import Replayer
from duroxide_cli.runtime.cache import GeneratorCache


def _noop(ctx, input):
    return input
    yield  # a generator


def _replayer(instance_id: str) -> Replayer:
    return Replayer(_noop, instance_id, 1)


def test_forgetting_a_turn_not_kept_leaves_the_generator_another_turn_kept_announced():
    cache = GeneratorCache(2)
    cache.committing("a", "inc-1", _replayer("a"))  # a turn whose commit was then refused ...
    kept = _replayer("a")
    cache.put("a", "inc-1", kept)  # ... while another turn of "a" kept its generator
    cache.forget("a")
    assert cache.known() == {"a": KnownHistory("inc-1", 1, kept.event_count)}


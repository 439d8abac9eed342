"""Every store offers every Provider method, with the protocol's parameters."""

from __future__ import annotations

import inspect

from duroxide_cli.providers.base import Provider

PROTOCOL_METHODS = [
    name for name, member in vars(Provider).items() if inspect.iscoroutinefunction(member) and not name.startswith("_")
]


def test_the_protocol_has_its_methods():
    assert {"create_instance", "commit_turns", "fetch_activity_work", "wait_for_work", "close"} <= set(PROTOCOL_METHODS)


async def test_store_implements_every_protocol_method(provider):
    for name in PROTOCOL_METHODS:
        method = getattr(provider, name, None)
        assert inspect.iscoroutinefunction(method), f"{type(provider).__name__}.{name} is missing or not async"
        expected = list(inspect.signature(getattr(Provider, name)).parameters.values())[1:]
        actual = list(inspect.signature(method).parameters.values())
        assert [(p.name, p.kind, p.default) for p in actual] == [(p.name, p.kind, p.default) for p in expected], name

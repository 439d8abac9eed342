"""Waiting for an instance to end (``wait``, ``start --wait``), saying once on stderr when
nothing will ever run it because no runtime is serving the store."""

from __future__ import annotations

from typing import Any

from . import render

HINT_AFTER_S = 2.0
"""How long an instance may stay Pending before the hint is worth printing."""


async def wait_with_hint(client: Any, instance_id: str, timeout_ms: int, hint_after_s: float = HINT_AFTER_S) -> Any:
    """``client.wait_for_orchestration``; meanwhile, each ``hint_after_s`` until it has printed
    it once, look whether the instance is still Pending with no runtime live, and if so print
    the hint on stderr. Errors of the wait (timeout, unknown id) are raised as they are."""
    import asyncio

    from ..client import NO_RUNTIME_REASON

    waiting = asyncio.create_task(client.wait_for_orchestration(instance_id, timeout_ms=timeout_ms))
    try:
        hinted = False
        while not hinted:
            done, _ = await asyncio.wait({waiting}, timeout=hint_after_s)
            if done:
                break
            state = await client.get_status(instance_id)
            if state is not None and state.status == "Pending" and state.error == NO_RUNTIME_REASON:
                render.note(f"hint: {state.error}; still waiting", style="yellow")
                hinted = True
        return await waiting
    finally:
        if not waiting.done():
            waiting.cancel()
            await asyncio.gather(waiting, return_exceptions=True)

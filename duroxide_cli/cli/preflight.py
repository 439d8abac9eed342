"""The pre-flight of ``duroxide run``: replay every Running instance against the code about to
run, and hold back the ones it would diverge on.

``run --reload`` runs it in a fresh process (``duroxide replay --running --json``) before every
restart, so each check imports the code on disk; plain ``run`` runs it in its own process, on
the app it has just loaded, before its runtime starts. Both hold instances back through
``Runtime.hold_back`` with the reason ``held_back_reason`` writes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..errors import ConfigError, ProviderError
from . import render

if TYPE_CHECKING:
    from ..replay.report import ReplayReport


def held_back_reason(item: dict[str, Any], command: str = "duroxide run --reload") -> str:
    """What ``status`` shows as ``held`` for an instance ``command`` does not dispatch; ``item``
    is an entry of ``replay --running --json`` (or a report's ``to_json()``)."""
    divergence = item.get("divergence") or {}
    where = divergence.get("location") or "an unknown line"
    recorded = divergence.get("recorded") or "its history"
    return (
        f"held back by `{command}`: the current code diverges from {recorded} at {where}; "
        "fix the code or cancel the instance"
    )


async def check_running(client: Any, registry: Any) -> list[ReplayReport]:
    """Replay every Running instance's current execution against ``registry``'s code. Instances
    whose orchestration (or version) the app lacks are not checked, with a warning."""
    reports, unchecked = await check_states(client, registry, await client.list_instances(status="Running", limit=1_000_000))
    for instance_id, error in unchecked:
        render.warning(f"{instance_id}: not checked: {error}")
    return reports


async def check_states(client: Any, registry: Any, states: list[Any]) -> tuple[list[ReplayReport], list[tuple[str, str]]]:
    """Replay each instance's latest execution; an instance with no history yet is left out, one
    whose orchestration the app lacks, or whose history cannot be read (a damaged row, which the
    runtime then fails on its own), is returned with why it was not checked."""
    from ..replay.check import check_history, orchestration_for  # the replay engine: only when replaying

    reports, unchecked = [], []
    for state in states:
        try:
            events = await client.read_history(state.instance_id, state.execution_id)
        except ProviderError as error:
            if error.retryable:
                raise
            unchecked.append((state.instance_id, error.message))
            continue
        if not events:
            continue
        try:
            _, _, fn = orchestration_for(registry, events)
        except (ConfigError, ValueError) as error:
            unchecked.append((state.instance_id, str(error)))
            continue
        reports.append(check_history(fn, events, instance_id=state.instance_id, execution_id=state.execution_id))
    return reports, unchecked


async def hold_back_diverging(client: Any, runtime: Any, registry: Any) -> None:
    """Plain ``duroxide run``'s pre-flight, before ``runtime`` starts: hold back the Running
    instances the loaded code diverges on, and release the ones an earlier run held back that
    now replay consistently."""
    reports = await check_running(client, registry)
    diverging = [r.to_json() for r in reports if not r.consistent]
    held_before = {s.instance_id for s in await client.list_instances(status="Running", limit=1_000_000) if s.held}
    released = [r.instance_id for r in reports if r.consistent and r.instance_id in held_before]
    if diverging:
        render.divergence_list(
            f"{len(diverging)} of {len(reports)} running instance(s) would diverge with this code; they are not dispatched:",
            diverging,
        )
    elif reports:
        render.note(f"replayed {len(reports)} running instance(s) against this code: all consistent")
    held = {item["instance_id"]: held_back_reason(item, "duroxide run") for item in diverging}
    await runtime.hold_back(held, released)

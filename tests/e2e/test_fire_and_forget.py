"""``ctx.start_orchestration`` to an id already in use is ignored, with a warning naming both instances."""

from __future__ import annotations

import logging


async def test_start_orchestration_to_an_existing_id_is_ignored_with_a_warning(env, caplog):
    @env.app.orchestration("Noop")
    def noop(ctx):
        yield ctx.utc_now()
        return "noop"

    @env.app.orchestration("Starter")
    def starter(ctx):
        yield ctx.start_orchestration("Noop", "taken", 1)
        return "started"

    await env.client.start_orchestration("taken", "Noop")
    caplog.set_level(logging.WARNING, logger="duroxide")
    state = await env.run("Starter", instance_id="starter")
    assert state.output == "started"
    assert (await env.client.get_status("taken")).output == "noop"
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("'taken'" in w and "already exists" in w and "'starter'" in w for w in warnings), warnings

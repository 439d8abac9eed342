"""``history inspect``: what an instance is still waiting for (open timers, running activities)."""

from __future__ import annotations

import json
import re

from .conftest import Project

SLOW = '''

@app.activity("Slow")
async def slow(ctx, x):
    import asyncio
    await asyncio.sleep(30)


@app.orchestration("SlowWork")
def slow_work(ctx, x):
    yield ctx.schedule_activity("Slow", x)


@app.orchestration("Sleeper")
def sleeper(ctx, x):
    yield ctx.schedule_timer(3_600_000)
'''


def test_history_inspect_lists_an_open_timer_with_its_fire_time_and_a_running_activity(cli, project: Project):
    project.app_file.write_text(project.app_file.read_text() + SLOW)
    assert cli("execute", "Sleeper", "--id", "sleeper", "--timeout", "500").exit_code == 4
    assert cli("execute", "SlowWork", "--id", "slow", "--timeout", "500").exit_code == 4

    timer = json.loads(cli("history", "inspect", "sleeper", "--json").stdout)
    [pending] = timer["pending"]
    created = next(e["event"] for e in timer["events"] if e["event"]["kind"] == "TimerCreated")
    assert pending["kind"] == "timer" and pending["fire_at_ms"] == created["fire_at_ms"]
    text = cli("history", "inspect", "sleeper").stdout
    assert re.search(r"fires \d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} \(in 59m\d\ds\)", text)

    activity = json.loads(cli("history", "inspect", "slow", "--json").stdout)
    assert [(p["kind"], p["name"]) for p in activity["pending"]] == [("activity", "Slow")]
    assert "activity   Slow" in cli("history", "inspect", "slow").stdout

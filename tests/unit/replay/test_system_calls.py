"""utc_now and new_guid are recorded inline and give the same values on replay."""

from __future__ import annotations

from duroxide_cli.replay.actions import Completed

from .builders import HistoryBuilder, activity_done
from .harness import Harness, replay


def stamps(ctx):
    started_at = yield ctx.utc_now()
    guid = yield ctx.new_guid()
    yield ctx.schedule_activity("Work", guid)
    finished_at = yield ctx.utc_now()
    return {"started_at": started_at, "guid": guid, "finished_at": finished_at}


def test_utc_now_is_the_turns_time_and_new_guid_comes_from_the_guid_source():
    h = Harness(stamps)
    first = h.start(now_ms=5_000)
    assert [e.kind for e in first.new_events] == [
        "OrchestrationStarted",
        "SystemCall",
        "SystemCall",
        "ActivityScheduled",
    ]
    assert first.new_events[1].body.value == 5_000
    assert first.new_events[2].body.value == "guid-t1-1"
    assert first.actions[0].input == "guid-t1-1"
    assert h.turn(activity_done(4), now_ms=9_000).outcome == Completed(
        {"started_at": 5_000, "guid": "guid-t1-1", "finished_at": 9_000}
    )


def test_utc_now_and_new_guid_are_identical_on_replay():
    h = Harness(stamps)
    h.start(now_ms=5_000)
    h.turn(activity_done(4), now_ms=9_000)

    replayer, result = replay(stamps, h.history, now_ms=77_000)
    assert result.outcome == Completed({"started_at": 5_000, "guid": "guid-t1-1", "finished_at": 9_000})
    assert replayer.divergence is None


def test_recorded_values_are_used_even_if_the_clock_and_guids_differ_now():
    h = HistoryBuilder()
    h.started()
    h.system_call("utc_now", 1_234)
    h.system_call("new_guid", "recorded-guid")
    h.orchestration_completed([1_234, "recorded-guid"])

    def wf(ctx):
        now = yield ctx.utc_now()
        guid = yield ctx.new_guid()
        return [now, guid]

    replayer, result = replay(wf, h.events, now_ms=99_999)
    assert result.outcome == Completed([1_234, "recorded-guid"])
    assert replayer.divergence is None and result.new_events == []


def test_system_calls_need_no_worker_round_trip():
    def wf(ctx):
        values = []
        for _ in range(3):
            values.append((yield ctx.new_guid()))
        return values

    result = Harness(wf).start()
    assert result.actions == []
    assert result.outcome == Completed(["guid-t1-1", "guid-t1-2", "guid-t1-3"])

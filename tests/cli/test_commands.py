"""Each command through typer's test runner: results on stdout, errors as one line and an exit code."""

from __future__ import annotations

import json

import pytest

from .conftest import Project, run_runtime_until


def only_line(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip()]
    assert len(lines) == 1, f"expected one line, got:\n{text}"
    return lines[0]


def execute_ok(cli, *args: str):
    result = cli("execute", *args)
    assert result.exit_code == 0, result.stderr
    return result


def started_waiting(cli, instance_id: str = "w-1"):
    """A Running instance parked at its wait for "Go" (execute gives up after a while: exit 4)."""
    result = cli("execute", "WaitForGo", "--input", "3", "--id", instance_id, "--timeout", "700")
    assert result.exit_code == 4, result.stderr
    assert "did not finish within 700 ms" in result.stderr
    return instance_id


# -- the root command ------------------------------------------------------------------------------------------


def test_version_and_help(cli):
    assert cli("--version").stdout.startswith("duroxide ")
    help_text = cli("--help").stdout
    for command in ("init", "run", "execute", "start", "raise", "cancel", "status", "wait", "list", "delete", "metrics", "history", "replay"):
        assert command in help_text


def test_an_unknown_flag_is_a_usage_error(cli):
    assert cli("status", "x", "--bogus").exit_code == 2


# -- init -------------------------------------------------------------------------------------------------------


def test_init_writes_a_project_whose_example_runs_as_written(cli, project: Project, monkeypatch: pytest.MonkeyPatch):
    result = cli("init", "fresh")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.split() == ["fresh/duroxide.toml", "fresh/app.py"]
    monkeypatch.chdir(project.root / "fresh")
    run = cli("execute", "Greeting", "--input", '{"names": ["Ada", "Grace"]}')
    assert run.exit_code == 0, run.stderr
    assert json.loads(run.stdout) == {"greetings": ["Hello, Ada!", "Hello, Grace!"], "reply": None}
    assert (project.root / "fresh" / ".duroxide" / "duroxide.db").exists()


def test_init_refuses_to_overwrite_without_force(cli):
    assert cli("init", "again").exit_code == 0
    second = cli("init", "again")
    assert second.exit_code == 1 and "already exist" in only_line(second.stderr)
    assert cli("init", "again", "--force").exit_code == 0


# -- execute ---------------------------------------------------------------------------------------------------------


def test_execute_prints_only_the_output_on_stdout_and_the_history_on_stderr(cli):
    result = execute_ok(cli, "Doubler", "--input", "21", "--id", "d-1")
    assert json.loads(result.stdout) == 42
    assert "ActivityScheduled  Double" in result.stderr and "OrchestrationCompleted" in result.stderr
    assert "Completed  d-1" in result.stderr


def test_execute_reads_input_from_a_file(cli, project: Project):
    (project.root / "in.json").write_text("5")
    assert json.loads(execute_ok(cli, "Doubler", "--input", "@in.json").stdout) == 10


def test_execute_of_a_failing_orchestration_exits_1_with_nothing_on_stdout(cli):
    result = cli("execute", "Failing", "--input", "7")
    assert result.exit_code == 1
    assert result.stdout == ""
    assert "ValueError: bad input 7" in result.stderr


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["Nope"], "orchestration 'Nope' is not registered in the app app.py (registered: Countdown, Doubler, Failing, WaitForGo)"),
        (["Doubler", "--input", "{bad"], "--input is not valid JSON"),
        (["Doubler", "--input", "hello"], "a string needs JSON quotes"),
        (["Doubler", "--input", "@missing.json"], "cannot read 'missing.json'"),
        (["Doubler", "--version", "9.9"], "has no version 9.9"),
        (["Doubler", "--store", "mysql://x"], "unsupported store URL"),
    ],
)
def test_execute_usage_errors_are_one_line_and_exit_2(cli, args, fragment):
    result = cli("execute", *args)
    assert result.exit_code == 2
    assert fragment in only_line(result.stderr)
    assert "Traceback" not in result.stderr


def test_without_an_app_execute_explains_how_to_configure_one(cli, project: Project):
    (project.root / "duroxide.toml").write_text('[store]\nurl = "sqlite:///state.db"\n')
    result = cli("execute", "Doubler")
    assert result.exit_code == 2 and "no app configured" in only_line(result.stderr)


def test_an_app_that_fails_to_import_shows_its_own_traceback_and_exits_2(cli, project: Project):
    project.edit_app("app = Registry()", "app = Registry()\nundefined_name + 1")
    result = cli("execute", "Doubler")
    assert result.exit_code == 2
    assert f'app.py", line {project.line_of("undefined_name")}' in result.stderr
    assert "NameError" in result.stderr and "duroxide_cli" not in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith("error: the app 'app.py' failed to import")


# -- start, status, wait, list ----------------------------------------------------------------------------------------


def test_start_prints_the_instance_id_alone(cli):
    result = cli("start", "Doubler", "--input", "1", "--id", "s-1")
    assert result.exit_code == 0 and result.stdout == "s-1\n"
    generated = cli("start", "Doubler").stdout.strip()
    assert generated.startswith("Doubler-") and len(generated) > len("Doubler-")


def test_start_of_an_existing_id_fails(cli):
    cli("start", "Doubler", "--id", "dup")
    result = cli("start", "Doubler", "--id", "dup")
    assert result.exit_code == 1 and "already exists" in only_line(result.stderr)


def test_start_refuses_an_empty_id(cli):
    result = cli("start", "Doubler", "--id", "")
    assert result.exit_code == 2 and "instance id must be a non-empty string" in only_line(result.stderr)
    assert json.loads(cli("list", "--json").stdout) == []


def test_start_refuses_a_name_the_app_lacks_unless_no_check(cli):
    refused = cli("start", "Nope")
    assert refused.exit_code == 2 and "--no-check" in only_line(refused.stderr)
    assert cli("start", "Nope", "--no-check", "--id", "n-1").stdout == "n-1\n"
    status = json.loads(cli("status", "n-1", "--json").stdout)
    assert (status["name"], status["status"]) == ("Nope", "Pending")


def test_start_wait_times_out_with_exit_4_when_no_runtime_runs(cli):
    result = cli("start", "Doubler", "--id", "t-1", "--wait", "--timeout", "200")
    assert result.exit_code == 4
    assert result.stdout == "t-1\n"


def test_status_json_is_an_orchestration_state(cli):
    execute_ok(cli, "Doubler", "--input", "4", "--id", "j-1")
    result = cli("status", "j-1", "--json")
    assert result.exit_code == 0
    state = json.loads(result.stdout)
    assert state["instance_id"] == "j-1" and state["status"] == "Completed" and state["output"] == 8
    assert set(state) >= {"name", "version", "error", "failure", "execution_id", "custom_status", "created_at_ms", "updated_at_ms", "held"}
    assert state["held"] is None


def test_a_held_back_instance_shows_its_hold_apart_from_its_error(cli, project: Project):
    import asyncio

    from duroxide_cli.providers.url import open_provider

    instance_id = started_waiting(cli, "h-1")
    reason = "held back by `duroxide run --reload`: the current code diverges at app.py:9"

    async def hold() -> None:
        provider = await open_provider(project.store_url)
        try:
            await provider.set_instance_held(instance_id, reason)
        finally:
            await provider.close()

    asyncio.run(hold())
    state = json.loads(cli("status", instance_id, "--json").stdout)
    assert (state["status"], state["held"], state["error"]) == ("Running", reason, None)
    shown = cli("status", instance_id).stdout
    assert "held" in shown and "app.py:9" in shown and "waiting" not in shown
    assert "held: held back by" in cli("list").stdout
    assert json.loads(cli("list", "--json").stdout)[0]["held"] == reason


def test_status_of_a_failed_instance_shows_the_error_and_exits_0(cli):
    cli("execute", "Failing", "--input", "1", "--id", "f-1")
    result = cli("status", "f-1")
    assert result.exit_code == 0
    assert "Failed" in result.stdout and "bad input 1" in result.stdout
    failure = json.loads(cli("status", "f-1", "--json").stdout)["failure"]
    assert failure["error_type"] in ("ActivityError", "ValueError")


def test_an_unknown_instance_exits_3(cli):
    assert cli("start", "Doubler", "--id", "known").exit_code == 0  # the store exists; the instance does not
    for args in (["status", "ghost"], ["wait", "ghost"], ["raise", "ghost", "Go"], ["cancel", "ghost"], ["history", "show", "ghost"], ["delete", "ghost"]):
        result = cli(*args)
        assert result.exit_code == 3, args
        assert "no instance with id 'ghost'" in only_line(result.stderr)


def test_wait_exit_codes_follow_the_instance(cli, project: Project):
    execute_ok(cli, "Doubler", "--input", "1", "--id", "ok")
    cli("execute", "Failing", "--id", "bad")
    started_waiting(cli, "cancelled")
    cli("cancel", "cancelled", "--reason", "changed my mind")
    run_runtime_until(project, "cancelled")
    assert cli("wait", "ok").exit_code == 0
    assert cli("wait", "bad").exit_code == 1
    cancelled = cli("wait", "cancelled", "--json")
    assert cancelled.exit_code == 5
    assert json.loads(cancelled.stdout)["status"] == "Cancelled"
    started_waiting(cli, "still")
    assert cli("wait", "still", "--timeout", "100").exit_code == 4


def test_list_filters_and_json(cli):
    execute_ok(cli, "Doubler", "--id", "a")
    cli("execute", "Failing", "--id", "b")
    listed = json.loads(cli("list", "--json").stdout)
    assert {s["instance_id"] for s in listed} == {"a", "b"}
    failed = json.loads(cli("list", "--status", "failed", "--json").stdout)
    assert [s["instance_id"] for s in failed] == ["b"]
    assert [s["instance_id"] for s in json.loads(cli("list", "--name", "Doubler", "--json").stdout)] == ["a"]
    table = cli("list").stdout
    assert "a" in table and "Doubler" in table and "Failed" in table
    bad = cli("list", "--status", "Sleeping")
    assert bad.exit_code == 2 and "--status must be one of" in only_line(bad.stderr)


# -- raise, cancel, delete, metrics ------------------------------------------------------------------------------


def test_raise_delivers_data_that_the_instance_returns(cli, project: Project):
    started_waiting(cli, "r-1")
    result = cli("raise", "r-1", "Go", "--data", '{"k": [1, 2]}')
    assert result.exit_code == 0 and result.stdout == ""
    run_runtime_until(project, "r-1")
    assert json.loads(cli("status", "r-1", "--json").stdout)["output"] == {"first": 6, "data": {"k": [1, 2]}}


def test_raise_with_bad_json_is_exit_2(cli):
    started_waiting(cli, "r-2")
    result = cli("raise", "r-2", "Go", "--data", "{nope")
    assert result.exit_code == 2 and "--data is not valid JSON" in only_line(result.stderr)


def test_raise_to_a_finished_instance_warns(cli):
    execute_ok(cli, "Doubler", "--id", "done")
    result = cli("raise", "done", "Go")
    assert result.exit_code == 0 and "will be dropped" in result.stderr


def test_delete_of_a_running_instance_needs_force(cli):
    started_waiting(cli, "del-1")
    refused = cli("delete", "del-1")
    assert refused.exit_code == 1 and "--force" in only_line(refused.stderr)
    assert cli("delete", "del-1", "--force").exit_code == 0
    assert cli("status", "del-1").exit_code == 3


def test_metrics_json_shape(cli):
    execute_ok(cli, "Doubler", "--id", "m-1")
    started_waiting(cli, "m-2")
    document = json.loads(cli("metrics", "--json").stdout)
    assert set(document) == {"by_status", "total", "queues"}
    assert document["total"] == 2 and document["by_status"]["Completed"] == 1 and document["by_status"]["Running"] == 1
    assert set(document["queues"]) == {"orchestrator", "worker", "timer"}
    assert "Completed" in cli("metrics").stdout


# -- history ------------------------------------------------------------------------------------------------------


def test_history_show_table_and_json_match_export(cli):
    execute_ok(cli, "Doubler", "--input", "2", "--id", "h-1")
    table = cli("history", "show", "h-1").stdout
    assert "ActivityScheduled" in table and "completed by #3" in table and "completes #2" in table
    shown = json.loads(cli("history", "show", "h-1", "--json").stdout)
    exported = json.loads(cli("history", "export", "h-1").stdout)
    assert shown == exported
    assert exported["instance_id"] == "h-1" and exported["execution_id"] == 1
    assert [e["kind"] for e in exported["events"]] == [
        "OrchestrationStarted",
        "ActivityScheduled",
        "ActivityCompleted",
        "OrchestrationCompleted",
    ]
    assert exported["events"][2]["source_event_id"] == 2 and exported["events"][2]["result"] == 4


def test_history_of_an_execution_that_does_not_exist_fails(cli):
    execute_ok(cli, "Doubler", "--id", "h-2")
    result = cli("history", "show", "h-2", "--execution", "7")
    assert result.exit_code == 1 and "no stored execution 7" in only_line(result.stderr)


def test_history_inspect_shows_payloads_timings_and_pending_work(cli):
    started_waiting(cli, "i-1")
    everything = cli("history", "inspect", "i-1").stdout
    assert "pending work" in everything and "event" in everything and "Go" in everything
    one = cli("history", "inspect", "i-1", "--event", "3", "--json")
    document = json.loads(one.stdout)
    record = document["events"][0]
    assert record["event"]["kind"] == "ActivityCompleted" and record["scheduled_by"] == 2 and record["duration_ms"] >= 0
    assert document["pending"] == [{"kind": "event", "event_id": 4, "name": "Go", "since_ms": document["pending"][0]["since_ms"], "fire_at_ms": None, "detail": ""}]
    missing = cli("history", "inspect", "i-1", "--event", "99")
    assert missing.exit_code == 1 and "has no event 99" in missing.stderr


def test_history_tail_of_a_finished_instance_prints_everything_and_exits(cli):
    execute_ok(cli, "Doubler", "--id", "tl-1")
    lines = cli("history", "tail", "tl-1", "--json").stdout.splitlines()
    events = [json.loads(line) for line in lines]
    assert [e["event_id"] for e in events] == [1, 2, 3, 4]
    assert all(e["execution_id"] == 1 for e in events)
    plain = cli("history", "tail", "tl-1").stdout
    assert "#4" in plain and "OrchestrationCompleted" in plain


# -- replay ------------------------------------------------------------------------------------------------------


def test_replay_of_unchanged_code_is_consistent(cli):
    execute_ok(cli, "Doubler", "--input", "2", "--id", "rp-1")
    result = cli("replay", "rp-1")
    assert result.exit_code == 0
    assert "consistent" in result.stdout


def test_replay_of_changed_code_exits_1_and_names_the_line(cli, project: Project):
    started_waiting(cli, "rp-2")
    project.edit_app('first = yield ctx.schedule_activity("Double", x)', 'first = yield ctx.schedule_activity("Double", x + 1)')
    result = cli("replay", "rp-2")
    assert result.exit_code == 1
    line = project.line_of('schedule_activity("Double", x + 1)')
    assert f"app.py:{line}" in result.stdout
    assert "DIVERGED" in result.stdout and "usual causes" in result.stdout
    report = json.loads(cli("replay", "rp-2", "--json").stdout)
    assert report["consistent"] is False
    assert report["divergence"]["event_id"] == 2 and report["divergence"]["location"] == f"app.py:{line}"


def test_replay_from_an_exported_file(cli, project: Project):
    execute_ok(cli, "Doubler", "--input", "2", "--id", "rp-3")
    export = project.root / "rp-3.json"
    export.write_text(cli("history", "export", "rp-3").stdout)
    assert cli("replay", "--file", str(export)).exit_code == 0
    bare = project.root / "bare.json"
    bare.write_text(json.dumps(json.loads(export.read_text())["events"]))
    assert cli("replay", "--file", str(bare)).exit_code == 0
    project.edit_app('y = yield ctx.schedule_activity("Double", x)', 'y = yield ctx.schedule_timer(5)')
    changed = cli("replay", "--file", str(export), "--json")
    assert changed.exit_code == 1
    assert json.loads(changed.stdout)["divergence"]["action"] == "created a timer of 5 ms"


@pytest.mark.parametrize(
    "content, fragment",
    [("{not json", "is not valid JSON"), ('{"x": 1}', "neither"), ('[{"kind": "Nope", "event_id": 1}]', "unknown history event kind")],
)
def test_replay_of_a_bad_file_is_exit_2(cli, project: Project, content: str, fragment: str):
    path = project.root / "bad.json"
    path.write_text(content)
    result = cli("replay", "--file", str(path))
    assert result.exit_code == 2 and fragment in only_line(result.stderr)


def test_replay_needs_exactly_one_source(cli):
    assert cli("replay").exit_code == 2
    assert cli("replay", "x", "--file", "y.json").exit_code == 2


def test_replay_of_an_orchestration_the_app_lacks_is_exit_2(cli, project: Project):
    execute_ok(cli, "Doubler", "--id", "rp-4")
    project.edit_app('@app.orchestration("Doubler")', '@app.orchestration("Renamed")')
    result = cli("replay", "rp-4")
    assert result.exit_code == 2 and "orchestration 'Doubler' is not registered" in only_line(result.stderr)


def test_replay_running_lists_the_instances_that_diverge(cli, project: Project):
    started_waiting(cli, "run-1")
    execute_ok(cli, "Doubler", "--id", "done-1")
    assert json.loads(cli("replay", "--running", "--json").stdout)["consistent"] is True
    project.edit_app('data = yield ctx.wait_for_event("Go")', 'data = yield ctx.wait_for_event("Start")')
    result = cli("replay", "--running", "--json")
    assert result.exit_code == 1
    document = json.loads(result.stdout)
    assert [i["instance_id"] for i in document["instances"]] == ["run-1"]
    assert document["instances"][0]["divergence"]["location"] == f"app.py:{project.line_of('Start')}"


def test_replay_pdb_stops_in_the_users_frame_at_the_divergence(cli, project: Project):
    started_waiting(cli, "pdb-1")
    project.edit_app('data = yield ctx.wait_for_event("Go")', 'data = yield ctx.wait_for_event("Start")')
    result = cli("replay", "pdb-1", "--pdb", input="p first\nc\n")
    assert result.exit_code == 1
    assert "(Pdb)" in result.stdout and "6" in result.stdout.split("(Pdb)")[1]


def test_replay_break_at_stops_at_the_chosen_event(cli):
    started_waiting(cli, "pdb-2")
    result = cli("replay", "pdb-2", "--break-at", "3", input="p x\nc\n")
    assert result.exit_code == 0
    assert "(Pdb)" in result.stdout and "3" in result.stdout.split("(Pdb)")[1]


# -- run (its loop is tested with real processes) and continue-as-new -------------------------------------------


@pytest.mark.parametrize(
    "setup, args, fragment",
    [
        (None, ["run", "--store", "oracle://x"], "unsupported store URL"),
        ('[store]\nurl = "sqlite:///state.db"\n', ["run"], "no app configured"),
        ('[store]\nurl = "sqlite:///state.db"\n', ["run", "--reload"], "no app configured"),
        (None, ["run", "missing_app.py"], "does not exist"),
        (None, ["run", "--app", "missing_app.py"], "does not exist"),
        (None, ["run", "app.py", "--app", "other.py"], "two apps given"),
        (None, ["run", "--reload", "--exclude-file", "x.json"], "--exclude-file is for the runtime that --reload starts"),
        ('[app]\nmodule = "app.py"\n[runtime]\nactivity_concurrency = -1\n', ["run"], "activity_concurrency must be a positive int"),
    ],
)
def test_run_configuration_errors_exit_2_before_anything_starts(cli, project: Project, setup, args, fragment):
    if setup is not None:
        (project.root / "duroxide.toml").write_text(setup)
    result = cli(*args)
    assert result.exit_code == 2
    assert fragment in only_line(result.stderr)


def test_execute_and_tail_follow_continue_as_new(cli):
    result = execute_ok(cli, "Countdown", "--input", "2", "--id", "cd")
    assert json.loads(result.stdout) == "liftoff"
    assert "[exec 3]" in result.stderr and "ContinuedAsNew" in result.stderr
    assert json.loads(cli("status", "cd", "--json").stdout)["execution_id"] == 3
    followed = [json.loads(line) for line in cli("history", "tail", "cd", "--json").stdout.splitlines()]
    assert {e["execution_id"] for e in followed} == {3}  # tail starts at the current execution
    first = json.loads(cli("history", "export", "cd", "--execution", "1").stdout)
    assert first["events"][-1]["kind"] == "ContinuedAsNew"
    assert cli("replay", "cd", "--execution", "1").exit_code == 0


def test_tail_of_an_unknown_instance_exits_3(cli):
    assert cli("history", "tail", "ghost").exit_code == 3


def test_replay_running_does_not_take_debugger_flags(cli):
    assert cli("replay", "--running", "--pdb").exit_code == 2

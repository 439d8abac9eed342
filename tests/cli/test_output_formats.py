"""``--output table|json|jsonl`` on every read command, and JSON payloads in replay reports."""

from __future__ import annotations

import json

from .conftest import Project, duroxide

BIG = '''

@app.activity("Echo")
async def echo(ctx, value):
    return value


@app.orchestration("Big")
def big(ctx, order):
    total = yield ctx.schedule_activity("Double", order["n"])
    nothing = yield ctx.schedule_activity("Double", None)
    return {"total": total, "nothing": nothing, "note": order["note"]}
'''

NOTE = "a long note that a table cell would have cut " * 4


def run(project: Project, *args: str):
    return duroxide(*args, cwd=project.root)


def ok(project: Project, *args: str):
    result = run(project, *args)
    assert result.returncode == 0, result.stderr
    return result


def one_line_json(text: str):
    lines = text.splitlines()
    assert len(lines) == 1, text
    return json.loads(lines[0])


def test_single_document_commands_print_one_line_with_jsonl(project: Project):
    ok(project, "execute", "Doubler", "--input", "4", "--id", "d-1", "--quiet")
    status = json.loads(ok(project, "status", "d-1", "--json").stdout)
    assert status["output"] == 8 and status["status"] == "Completed"
    assert json.loads(ok(project, "status", "d-1", "-o", "json").stdout) == status
    assert one_line_json(ok(project, "status", "d-1", "--output", "jsonl").stdout) == status
    assert one_line_json(ok(project, "wait", "d-1", "-o", "jsonl").stdout) == status
    metrics = one_line_json(ok(project, "metrics", "-o", "jsonl").stdout)
    assert metrics["total"] == 1 and set(metrics["queues"]) == {"orchestrator", "worker", "timer"}
    export = json.loads(ok(project, "history", "export", "d-1").stdout)
    assert one_line_json(ok(project, "history", "export", "d-1", "-o", "jsonl").stdout) == export
    assert json.loads(ok(project, "history", "show", "d-1", "-o", "json").stdout) == export
    inspect = one_line_json(ok(project, "history", "inspect", "d-1", "-o", "jsonl").stdout)
    assert inspect["instance_id"] == "d-1" and len(inspect["events"]) == len(export["events"])
    report = one_line_json(ok(project, "replay", "d-1", "-o", "jsonl").stdout)
    assert report["consistent"] is True


def test_history_show_jsonl_and_tail_print_one_event_per_line(project: Project):
    ok(project, "execute", "Doubler", "--input", "4", "--id", "d-1", "--quiet")
    events = json.loads(ok(project, "history", "export", "d-1").stdout)["events"]
    shown = [json.loads(line) for line in ok(project, "history", "show", "d-1", "-o", "jsonl").stdout.splitlines()]
    assert shown == [{**event, "execution_id": 1} for event in events]
    for flag in (["-o", "json"], ["-o", "jsonl"], ["--json"]):
        tailed = [json.loads(line) for line in ok(project, "history", "tail", "d-1", *flag).stdout.splitlines()]
        assert tailed == shown, flag


def test_json_and_a_different_output_are_refused(project: Project):
    ok(project, "execute", "Doubler", "--input", "4", "--id", "d-1", "--quiet")
    result = run(project, "status", "d-1", "--json", "-o", "table")
    assert result.returncode == 2 and "--json means --output json" in result.stderr
    assert run(project, "status", "d-1", "-o", "yaml").returncode == 2


def test_replay_report_shows_payloads_as_whole_json(project: Project):
    project.app_file.write_text(project.app_file.read_text() + BIG)
    order = {"n": 5, "note": NOTE, "tags": ["a", "b"]}
    ok(project, "execute", "Big", "--input", json.dumps(order), "--id", "big-1", "--quiet")
    project.edit_app('order["n"])', 'order["n"] + 1)')  # diverges at the first activity

    table = run(project, "replay", "big-1")
    assert table.returncode == 1
    assert "with input 5 (event 2)" in table.stdout and "with input 6" in table.stdout
    assert "None" not in table.stdout and "'note'" not in table.stdout

    project.edit_app('order["n"] + 1)', 'order["n"])')
    consistent = ok(project, "replay", "big-1")
    assert "scheduled activity 'Double' with input null" in consistent.stdout
    report = json.loads(ok(project, "replay", "big-1", "-o", "json").stdout)
    assert [s["code"] for s in report["steps"] if s["code"].startswith("scheduled")] == [
        "scheduled activity 'Double' with input 5",
        "scheduled activity 'Double' with input null",
    ]


def test_replay_report_never_cuts_a_payload_when_not_on_a_terminal(project: Project):
    project.app_file.write_text(project.app_file.read_text() + BIG.replace('"Double", order["n"])', '"Echo", order)', 1))
    order = {"n": 5, "note": NOTE}
    assert run(project, "execute", "Big", "--input", json.dumps(order), "--id", "big-2", "--quiet").returncode == 0
    whole = json.dumps(order, separators=(",", ":"))
    assert f"with input {whole}" in ok(project, "replay", "big-2").stdout
    report = json.loads(ok(project, "replay", "big-2", "--json").stdout)
    assert report["steps"][1]["code"] == f"scheduled activity 'Echo' with input {whole}"

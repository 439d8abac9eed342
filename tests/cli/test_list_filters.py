"""``duroxide list``: filters, counts and cursors, through real processes on a real SQLite file."""

from __future__ import annotations

import json
import time

from .conftest import Project, duroxide

PARENT = '''

@app.orchestration("Parent")
def parent(ctx, x):
    doubled = yield ctx.schedule_sub_orchestration("Doubler", x)
    return doubled
'''


def run(project: Project, *args: str):
    return duroxide(*args, cwd=project.root)


def ok(project: Project, *args: str):
    result = run(project, *args)
    assert result.returncode == 0, result.stderr
    return result


def jsonl(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines()]


def ids(project: Project, *args: str) -> list[str]:
    return [record["instance_id"] for record in jsonl(ok(project, "list", "-o", "jsonl", *args).stdout)]


def test_list_filters_by_status_name_id_prefix_and_top_level(project: Project):
    project.app_file.write_text(project.app_file.read_text() + PARENT)
    ok(project, "execute", "Parent", "--input", "2", "--id", "order-1", "--quiet")
    assert run(project, "execute", "Failing", "--id", "order-2", "--quiet").returncode == 1
    ok(project, "start", "Doubler", "--id", "refund-1")
    child = next(i for i in ids(project) if i.startswith("order-1::"))

    assert ids(project, "--status", "Completed") == [child, "order-1"]
    assert ids(project, "--status", "completed", "--status", "FAILED") == ["order-2", child, "order-1"]
    assert ids(project, "--status", "Completed,Pending", "--top-level") == ["refund-1", "order-1"]
    assert ids(project, "--name", "Doubler") == ["refund-1", child]
    assert ids(project, "--id-prefix", "order-") == ["order-2", child, "order-1"]
    assert ids(project, "--id-prefix", "order-", "--top-level", "--name", "Parent") == ["order-1"]
    assert ids(project, "--name", "Nothing") == []


def test_count_prints_the_number_of_matches_whatever_the_limit(project: Project):
    for n in range(4):
        ok(project, "start", "Doubler", "--id", f"d-{n}")
    assert ok(project, "list", "--count", "--limit", "1").stdout == "4\n"
    assert ok(project, "list", "--count", "--id-prefix", "d-3").stdout == "1\n"
    assert json.loads(ok(project, "list", "--count", "-o", "json", "--status", "Failed").stdout) == {"count": 0}


def test_a_cursor_pages_through_without_repeats_even_when_instances_are_added(project: Project):
    for n in range(5):
        ok(project, "start", "Doubler", "--id", f"d-{n}")
    first = ok(project, "list", "--limit", "2", "-o", "jsonl")
    records = jsonl(first.stdout)
    assert [r.get("instance_id") for r in records[:-1]] == ["d-4", "d-3"]
    cursor = records[-1]["next_cursor"]
    assert first.stderr.strip() == f"next cursor: {cursor}"

    for n in range(5, 8):
        ok(project, "start", "Doubler", "--id", f"d-{n}")
    second = ok(project, "list", "--limit", "2", "--cursor", cursor, "-o", "json")
    assert [s["instance_id"] for s in json.loads(second.stdout)] == ["d-2", "d-1"]
    cursor = second.stderr.strip().removeprefix("next cursor: ")
    last = ok(project, "list", "--limit", "2", "--cursor", cursor, "-o", "jsonl")
    assert [r["instance_id"] for r in jsonl(last.stdout)] == ["d-0"]
    assert "next cursor" not in last.stderr


def test_the_table_is_the_default_and_its_cursor_goes_to_stderr(project: Project):
    for n in range(3):
        ok(project, "start", "Doubler", "--id", f"d-{n}")
    result = ok(project, "list", "--limit", "2")
    assert "d-2" in result.stdout and "d-1" in result.stdout and "d-0" not in result.stdout
    assert "next cursor" not in result.stdout and result.stderr.startswith("next cursor: ")


def test_since_and_until_take_ages_and_iso_times_on_the_creation_time(project: Project):
    ok(project, "start", "Doubler", "--id", "early")
    time.sleep(5)  # wide margins: each duroxide process takes a while to start on a busy machine
    ok(project, "start", "Doubler", "--id", "late")
    assert ids(project, "--since", "3s") == ["late"]
    assert ids(project, "--until", "3s") == ["early"]
    assert ids(project, "--since", "2h") == ["late", "early"]
    assert ids(project, "--until", "7d") == []
    assert ids(project, "--since", "2000-01-01T00:00:00Z", "--until", "2999-01-01") == ["late", "early"]
    assert ids(project, "--since", "2999-01-01T00:00:00+02:00") == []
    assert ids(project, "--since", "15m", "--until", "0s") == ["late", "early"]


def test_bad_times_cursors_and_statuses_are_one_line_and_exit_2(project: Project):
    ok(project, "start", "Doubler", "--id", "d-1")
    for args, expected in (
        (["--since", "3 weeks"], "--since '3 weeks' is neither an age"),
        (["--until", "yesterday"], "--until 'yesterday' is neither an age"),
        (["--cursor", "not-a-cursor"], "--cursor: 'not-a-cursor' is not a cursor"),
        (["--status", "Done"], "--status must be one of"),
        (["--json", "-o", "jsonl"], "--json means --output json"),
    ):
        result = run(project, "list", *args)
        assert result.returncode == 2, (args, result.stderr)
        assert result.stdout == ""
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and expected in lines[0], result.stderr

"""``duroxide tree``: an instance's sub-orchestrations with their statuses, once or followed."""

from __future__ import annotations

import json

from .conftest import Background, Project, duroxide, run_runtime_until, wait_until

FAMILY = '''

@app.orchestration("Child")
def child(ctx, x):
    doubled = yield ctx.schedule_sub_orchestration("Doubler", x)
    return doubled


@app.orchestration("Family")
def family(ctx, x):
    first = yield ctx.schedule_sub_orchestration("Child", x)
    go = yield ctx.wait_for_event("Go")
    second = yield ctx.schedule_sub_orchestration("Doubler", go)
    return [first, second]
'''


def run(project: Project, *args: str):
    return duroxide(*args, cwd=project.root)


def shape(node: dict) -> tuple:
    return (node["name"], node["status"], tuple(shape(child) for child in node["children"]))


def test_tree_shows_the_sub_orchestrations_with_their_statuses(project: Project):
    project.app_file.write_text(project.app_file.read_text() + FAMILY)
    assert run(project, "execute", "Family", "--input", "1", "--id", "fam", "--timeout", "3000", "--quiet").returncode == 4
    assert run(project, "raise", "fam", "Go", "--data", "5").returncode == 0
    run_runtime_until(project, "fam")

    document = json.loads(run(project, "tree", "fam", "-o", "json").stdout)
    assert set(document) == {"instance_id", "name", "status", "children"}
    assert document["instance_id"] == "fam"
    assert shape(document) == (
        "Family",
        "Completed",
        (("Child", "Completed", (("Doubler", "Completed", ()),)), ("Doubler", "Completed", ())),
    )
    assert json.loads(run(project, "tree", "fam", "--output", "jsonl").stdout.strip()) == document

    table = run(project, "tree", "fam")
    assert table.returncode == 0, table.stderr
    lines = table.stdout.splitlines()
    assert len(lines) == 4 and lines[0].startswith("fam  Family  Completed")
    grandchild = document["children"][0]["children"][0]["instance_id"]
    assert any(grandchild in line and "Doubler  Completed" in line for line in lines[2:])
    assert "\x1b[" not in table.stdout


def test_tree_follow_redraws_until_the_root_finishes(project: Project):
    project.app_file.write_text(project.app_file.read_text() + FAMILY)
    assert run(project, "start", "Family", "--input", "1", "--id", "fam").returncode == 0
    follower = Background("tree", "fam", "--follow", "--interval", "50", "-o", "jsonl", cwd=project.root)
    try:
        wait_until(lambda: follower.stdout.strip())
        assert run(project, "raise", "fam", "Go", "--data", "2").returncode == 0
        run_runtime_until(project, "fam")
        assert follower.process.wait(timeout=30) == 0
        drawings = [json.loads(line) for line in follower.stdout.splitlines()]
    finally:
        follower.kill()
    assert drawings[0]["status"] == "Pending" and drawings[0]["children"] == []
    assert drawings[-1]["status"] == "Completed" and len(drawings[-1]["children"]) == 2
    assert all(drawings[i] != drawings[i + 1] for i in range(len(drawings) - 1)), "a drawing repeats an unchanged tree"


def test_tree_of_an_unknown_instance_exits_3(project: Project):
    assert run(project, "start", "Doubler", "--id", "d-1").returncode == 0
    result = run(project, "tree", "ghost")
    assert result.returncode == 3 and "no instance with id 'ghost'" in result.stderr

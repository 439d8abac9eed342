"""The command line on a PostgreSQL store: ``--store postgresql://...?schema=`` and ``[store] url``
name it for every command, in real ``duroxide`` processes."""

from __future__ import annotations

import json

import pytest_asyncio
from postgres_support import drop_schema, new_schema_name, require_postgres, schema_exists, schema_url

from .conftest import duroxide


@pytest_asyncio.fixture
async def pg_url():
    await require_postgres()
    schema = new_schema_name()
    yield schema_url(schema)
    await drop_schema(schema)


async def test_every_command_reaches_the_postgres_store_named_by_store(project, pg_url):
    ran = duroxide("execute", "Countdown", "--input", "2", "--id", "c-1", "--store", pg_url, cwd=project.root)
    assert ran.returncode == 0, ran.stderr
    assert json.loads(ran.stdout) == "liftoff"
    status = duroxide("status", "c-1", "--store", pg_url, "-o", "json", cwd=project.root)
    assert status.returncode == 0, status.stderr
    assert json.loads(status.stdout)["status"] == "Completed"
    assert json.loads(status.stdout)["execution_id"] == 3
    listed = duroxide("list", "--store", pg_url, "-o", "json", cwd=project.root)
    assert [state["instance_id"] for state in json.loads(listed.stdout)] == ["c-1"]
    history = duroxide("history", "show", "c-1", "--store", pg_url, "-o", "json", cwd=project.root)
    assert json.loads(history.stdout)["events"][-1]["kind"] == "OrchestrationCompleted"
    metrics = duroxide("metrics", "--store", pg_url, "-o", "json", cwd=project.root)
    assert json.loads(metrics.stdout)["by_status"]["Completed"] == 1


async def test_the_store_url_in_duroxide_toml_may_name_postgres(project, pg_url):
    toml = project.root / "duroxide.toml"
    toml.write_text(toml.read_text().replace('url = "sqlite:///state.db"', f'url = "{pg_url}"'))
    started = duroxide("start", "Countdown", "--input", "0", "--id", "t-1", cwd=project.root)
    assert started.returncode == 0, started.stderr
    assert started.stdout.strip() == "t-1"
    status = duroxide("status", "t-1", "-o", "json", "-v", cwd=project.root)
    assert json.loads(status.stdout)["status"] == "Pending"
    assert "postgresql://" in status.stderr
    assert not (project.root / "state.db").exists()


async def test_a_reading_command_on_a_missing_schema_exits_3_and_creates_nothing(project, pg_url):
    for args in (["list"], ["status", "x"], ["cancel", "x"], ["workers"], ["history", "show", "x"]):
        result = duroxide(*args, "--store", pg_url, cwd=project.root)
        assert result.returncode == 3, (args, result.stderr)
        lines = result.stderr.strip().splitlines()
        assert lines[0].startswith("error: no store at postgresql://") and "(schema duroxide_test_" in lines[0], lines
        assert lines[1].startswith("hint: ") and "duroxide start" in lines[1]
    assert not await schema_exists(pg_url.rpartition("schema=")[2])
    assert duroxide("start", "Countdown", "--input", "0", "--id", "s-1", "--store", pg_url, cwd=project.root).returncode == 0
    assert duroxide("status", "s-1", "--store", pg_url, cwd=project.root).returncode == 0


async def test_a_url_parameter_the_server_does_not_know_is_a_usage_error(project, pg_url):
    result = duroxide("list", "--store", pg_url + "&foo=1", cwd=project.root)
    assert result.returncode == 2, result.stderr
    (line,) = result.stderr.strip().splitlines()
    assert 'unrecognized configuration parameter "foo"' in line and "?schema=NAME" in line


async def _schema_at(url: str, version: int) -> None:
    """Build the store's schema as a duroxide at ``version`` left it, with one instance ``old-1``."""
    import asyncpg
    from postgres_support import PG_CONNECT_URL, build_schema_at

    schema = url.rpartition("schema=")[2]
    conn = await asyncpg.connect(PG_CONNECT_URL, server_settings={"search_path": schema})
    try:
        await build_schema_at(conn, schema, version)
        started = json.dumps({"name": "Countdown", "version": "1.0.0"})
        assert await conn.fetchval("SELECT insert_instance(clock_ms(NULL), 'old-1', 'Countdown', '1.0.0', NULL, $1)", started)
    finally:
        await conn.close()


async def _schema_version(url: str) -> int:
    import asyncpg
    from postgres_support import PG_CONNECT_URL

    conn = await asyncpg.connect(PG_CONNECT_URL, server_settings={"search_path": url.rpartition("schema=")[2]})
    try:
        return await conn.fetchval("SELECT max(version) FROM schema_version")
    finally:
        await conn.close()


READERS = (["status", "old-1"], ["list"], ["history", "show", "old-1"], ["metrics"], ["workers"], ["tree", "old-1"], ["wait", "old-1"])


async def test_reading_commands_refuse_an_older_schema_and_leave_it_unmigrated(project, pg_url):
    from duroxide_cli.providers._postgres.migrations import load_migrations

    latest = len(load_migrations())
    await _schema_at(pg_url, latest - 1)
    for args in READERS:
        result = duroxide(*args, "--store", pg_url, cwd=project.root)
        assert result.returncode == 2, (args, result.returncode, result.stderr)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: the store postgresql://"), (args, lines)
        assert f"has schema version {latest - 1}, older than this duroxide's {latest}" in lines[0], (args, lines)
        assert "duroxide start" in lines[0]
    assert await _schema_version(pg_url) == latest - 1  # no reader migrated it
    assert duroxide("start", "Countdown", "--input", "0", "--id", "new-1", "--store", pg_url, cwd=project.root).returncode == 0
    assert await _schema_version(pg_url) == latest  # a writer did
    status = duroxide("status", "old-1", "--store", pg_url, "-o", "json", cwd=project.root)
    assert status.returncode == 0, status.stderr
    assert json.loads(status.stdout)["instance_id"] == "old-1"


async def test_reading_commands_refuse_a_newer_schema(project, pg_url):
    import asyncpg
    from postgres_support import PG_CONNECT_URL

    assert duroxide("start", "Countdown", "--input", "0", "--id", "s-1", "--store", pg_url, cwd=project.root).returncode == 0
    conn = await asyncpg.connect(PG_CONNECT_URL, server_settings={"search_path": pg_url.rpartition("schema=")[2]})
    try:
        await conn.execute("INSERT INTO schema_version (version, name) VALUES (99, '099_future.sql')")
    finally:
        await conn.close()
    for args in (["status", "s-1"], ["list"]):
        result = duroxide(*args, "--store", pg_url, cwd=project.root)
        assert result.returncode == 2, (args, result.returncode, result.stderr)
        assert "has schema version 99" in result.stderr and "newer duroxide" in result.stderr, (args, result.stderr)

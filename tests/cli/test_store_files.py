"""What a store file may be, and how it is opened: readers never write (nor wait for a writer),
a file that is not a duroxide store is refused untouched, and a new store is private."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import stat
import subprocess
import time
from pathlib import Path

import pytest

from .conftest import CLI, Project, _env, duroxide


def _start(project: Project, instance_id: str = "i-1", *extra: str) -> None:
    result = duroxide("start", "Doubler", "--input", "2", "--id", instance_id, *extra, cwd=project.root)
    assert result.returncode == 0, result.stderr


def _one_line(result: subprocess.CompletedProcess[str]) -> str:
    lines = result.stderr.strip().splitlines()
    assert len(lines) <= 2 and "Traceback" not in result.stderr, result.stderr  # the error, perhaps a hint
    return lines[0]


# -- readers open without writing (item 9) ---------------------------------------------------------


def test_reading_commands_answer_while_another_process_holds_the_write_lock(project: Project):
    _start(project)
    with contextlib.closing(sqlite3.connect(project.root / "state.db", isolation_level=None)) as holder:
        holder.execute("BEGIN IMMEDIATE")
        began = time.monotonic()
        for args in (["status", "i-1"], ["list"], ["history", "show", "i-1"], ["metrics"]):
            result = duroxide(*args, cwd=project.root)
            assert result.returncode == 0, (args, result.stderr)
        assert time.monotonic() - began < 8  # each waited 10 s for the lock, then failed, before
        holder.execute("ROLLBACK")


@contextlib.contextmanager
def _unwritable(directory: Path):
    """Make ``directory`` refuse new files, even to root (where ``chattr +i`` is the way)."""
    if os.geteuid() == 0:
        done = subprocess.run(["chattr", "+i", str(directory)], capture_output=True).returncode == 0
        undo = ["chattr", "-i", str(directory)]
    else:
        directory.chmod(0o555)
        done, undo = True, None
    try:
        probe = directory / ".probe"
        try:
            probe.touch()
        except OSError:
            pass
        else:
            probe.unlink()
            done = False
        if not done:
            pytest.skip("cannot make a directory read-only here")
        yield
    finally:
        if undo:
            subprocess.run(undo, capture_output=True)
        else:
            directory.chmod(0o755)


def test_a_store_in_a_read_only_directory_can_be_read(project: Project):
    store_dir = project.root / "ro"
    store_dir.mkdir()
    url = f"sqlite:///{store_dir / 'state.db'}"
    _start(project, "i-1", "--store", url)
    assert sorted(p.name for p in store_dir.iterdir()) == ["state.db"]  # the WAL files go with the last writer
    with _unwritable(store_dir):
        for args in (["list"], ["status", "i-1"], ["history", "export", "i-1"]):
            result = duroxide(*args, "--store", url, cwd=project.root)
            assert result.returncode == 0, (args, result.stderr)
        assert "i-1" in duroxide("list", "--store", url, cwd=project.root).stdout
        writing = duroxide("cancel", "i-1", "--store", url, cwd=project.root)
        assert writing.returncode != 0 and "Traceback" not in writing.stderr


def test_an_older_schema_is_upgraded_by_writers_and_reported_by_readers(project: Project):
    _start(project)
    db = project.root / "state.db"
    with contextlib.closing(sqlite3.connect(db)) as conn:  # back to schema 2: before the runtimes table
        conn.execute("DROP TABLE runtimes")
        conn.execute("DELETE FROM schema_version WHERE version = 3")
        conn.commit()
    before = db.read_bytes()
    reading = duroxide("status", "i-1", cwd=project.root)
    assert reading.returncode == 2
    assert "schema version 2" in _one_line(reading) and "duroxide start" in reading.stderr
    assert db.read_bytes() == before  # the reader changed nothing
    _start(project, "i-2")  # a writer migrates
    assert duroxide("status", "i-1", cwd=project.root).returncode == 0


# -- files that are not duroxide stores (item 10) --------------------------------------------------


def test_another_applications_database_is_refused_and_left_untouched(project: Project):
    db = project.root / "theirs.db"
    with contextlib.closing(sqlite3.connect(db)) as conn:
        conn.execute("CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT)")
        conn.execute("INSERT INTO users (name) VALUES ('ada')")
        conn.commit()
    before = db.read_bytes()
    for args in (["start", "Doubler", "--input", "1"], ["list"], ["run"]):
        result = duroxide(*args, "--store", f"sqlite:///{db}", cwd=project.root, timeout=30)
        assert result.returncode == 2, (args, result.stderr)
        line = _one_line(result)
        assert "no duroxide schema" in line and "users" in line
    assert db.read_bytes() == before
    with contextlib.closing(sqlite3.connect(db)) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
        assert [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")] == ["users"]


@pytest.mark.parametrize("kind", ["directory", "text file"])
def test_a_directory_or_a_file_that_is_not_a_database_is_a_usage_error(project: Project, kind: str):
    target = project.root / "target"
    if kind == "directory":
        target.mkdir()
    else:
        target.write_text("just some notes, not a database at all\n" * 10)
    for args in (["start", "Doubler", "--input", "1"], ["list"]):
        result = duroxide(*args, "--store", f"sqlite:///{target}", cwd=project.root)
        assert result.returncode == 2, (args, result.stderr)
        assert str(target) in _one_line(result)
    if kind == "text file":
        assert target.read_text().startswith("just some notes")


# -- a new store is private (item 11) --------------------------------------------------------------


def test_a_new_store_and_its_directories_are_private_whatever_the_umask(project: Project):
    store = project.root / "fresh" / "deeper" / "state.db"
    existing_mode = stat.S_IMODE(project.root.stat().st_mode)
    result = subprocess.run(
        [*CLI, "start", "Doubler", "--input", "1", "--store", f"sqlite:///{store}"],
        cwd=project.root, capture_output=True, text=True, env=_env(), preexec_fn=lambda: os.umask(0), timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert stat.S_IMODE(store.stat().st_mode) == 0o600
    assert stat.S_IMODE(store.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(store.parent.parent.stat().st_mode) == 0o700
    with contextlib.closing(sqlite3.connect(store)) as conn:  # the WAL files take the file's mode
        conn.execute("SELECT 1 FROM instances").fetchall()
        for suffix in ("-wal", "-shm"):
            side = Path(f"{store}{suffix}")
            if side.exists():
                assert stat.S_IMODE(side.stat().st_mode) == 0o600, suffix
    assert stat.S_IMODE(project.root.stat().st_mode) == existing_mode  # an existing directory is left alone

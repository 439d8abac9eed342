"""A PostgreSQL server of a test's own, to stop and start: the shared test server cannot be
restarted under the other tests. ``initdb`` into a temporary directory, then ``pg_ctl`` on a free
port. As root the server runs as the ``postgres`` user, which PostgreSQL requires.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import pytest
from postgres_support import REQUIRE_PG


def _binary(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return candidates[-1] if candidates else None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class PrivateServer:
    """One PostgreSQL cluster in a new temporary directory, listening on 127.0.0.1:``port``;
    ``remove()`` deletes it. (Not under pytest's ``tmp_path``: the ``postgres`` user could not
    reach it.)"""

    def __init__(self) -> None:
        initdb, pg_ctl = _binary("initdb"), _binary("pg_ctl")
        if initdb is None or pg_ctl is None:
            reason = "initdb and pg_ctl are not installed (apt install postgresql)"
            if REQUIRE_PG:
                pytest.fail(f"DUROXIDE_REQUIRE_PG is set but {reason}")
            pytest.skip(reason)
        self._pg_ctl = pg_ctl
        self._as_postgres = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        self.directory = Path(tempfile.mkdtemp(prefix="duroxide-pg-"))
        self.data = self.directory / "data"
        self.port = _free_port()
        if self._as_postgres:
            shutil.chown(self.directory, "postgres")
        self._run(initdb, "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8")

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def start(self) -> None:
        options = f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1"
        self._run(self._pg_ctl, "-D", str(self.data), "-o", options, "-l", str(self.directory / "server.log"), "-w", "start")

    def stop(self) -> None:
        """A fast shutdown: every connection is ended, as when the server is restarted for an upgrade."""
        self._run(self._pg_ctl, "-D", str(self.data), "-m", "fast", "-w", "stop")

    def remove(self) -> None:
        """Stop the server if it runs, and delete its files."""
        if (self.data / "postmaster.pid").exists():
            self.stop()
        shutil.rmtree(self.directory, ignore_errors=True)

    def _run(self, *command: str) -> None:
        subprocess.run([*self._as_postgres, *command], check=True, capture_output=True, timeout=60)

"""Short commands answer fast because they import only what they use.

Speed is measured by ``benchmarks/cli_startup.py``, not asserted here; these tests pin what makes
it fast: which modules a fresh interpreter has loaded after importing the command line, and
after running ``duroxide status`` and ``duroxide list``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

HEAVY_FOR_EVERY_COMMAND = (
    "duroxide_cli.runtime",
    "duroxide_cli.replay",
    "duroxide_cli.bench",
    "duroxide_cli.providers.sqlite",
    "duroxide_cli.client",
    "asyncpg",
    "asyncio",
    "pydantic",
    "rich.live",
    "rich.progress",
    "importlib.metadata",
    "socket",
)
"""Nothing a command's definition needs: importing the command line must not load these."""

HEAVY_FOR_READING = (
    "duroxide_cli.runtime",
    "duroxide_cli.replay",
    "duroxide_cli.bench",
    "asyncpg",
    "pydantic",
    "rich.live",
    "rich.progress",
    "importlib.resources",
    "importlib.readers",
    "zipfile",
    "sysconfig",
)
"""Not needed to read one instance or a page of them (the store's schema files are read as
files, and tracebacks find the standard library without ``sysconfig``)."""


def loaded_after(code: str, cwd: Path | None = None) -> set[str]:
    """The modules a fresh interpreter has loaded after running ``code``."""
    script = code + "\nimport json, sys\nprint('MODULES=' + json.dumps(sorted(sys.modules)))\n"
    env = {**os.environ, "NO_COLOR": "1"}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=cwd, env=env, timeout=60)
    line = next((x for x in done.stdout.splitlines() if x.startswith("MODULES=")), None)
    assert line is not None, done.stderr
    return set(json.loads(line.removeprefix("MODULES=")))


def offenders(modules: set[str], heavy: tuple[str, ...]) -> list[str]:
    return sorted(m for m in modules for h in heavy if m == h or m.startswith(h + "."))


def test_importing_the_command_line_loads_no_runtime_store_or_replay_engine():
    assert offenders(loaded_after("import duroxide_cli.cli.app"), HEAVY_FOR_EVERY_COMMAND) == []


def test_importing_the_package_loads_only_what_is_used():
    modules = loaded_after("import duroxide_cli\nfrom duroxide_cli import RetryPolicy")
    assert offenders(modules, HEAVY_FOR_EVERY_COMMAND) == []


def test_help_loads_no_runtime_store_or_replay_engine():
    code = "import sys\nsys.argv = ['duroxide', '--help']\nfrom duroxide_cli.cli.app import main\ntry:\n    main()\nexcept SystemExit:\n    pass"
    assert offenders(loaded_after(code), HEAVY_FOR_EVERY_COMMAND) == []


def test_status_and_list_load_no_runtime_replay_engine_or_pydantic(tmp_path: Path):
    store = f"sqlite:///{tmp_path / 'store.db'}"
    setup = textwrap.dedent(
        f"""
        import asyncio
        from duroxide_cli import Client, open_provider

        async def main():
            provider = await open_provider({store!r})
            await Client(provider).start_orchestration("one", "Anything")
            await provider.close()

        asyncio.run(main())
        """
    )
    subprocess.run([sys.executable, "-c", setup], check=True, cwd=tmp_path, timeout=60)
    for argv in (["status", "one"], ["list"], ["list", "--limit", "5", "-s", "pending", "-o", "json"]):
        code = textwrap.dedent(
            f"""
            import sys
            sys.argv = ['duroxide', *{argv!r}, '--store', {store!r}]
            from duroxide_cli.cli.app import main
            try:
                main()
            except SystemExit as stop:
                assert not stop.code, stop.code
            """
        )
        modules = loaded_after(code, cwd=tmp_path)
        assert "duroxide_cli.providers.sqlite" in modules, "the command did not read the store"
        assert offenders(modules, HEAVY_FOR_READING) == [], argv


def test_lazy_public_names_are_the_real_objects():
    import duroxide_cli
    from duroxide_cli.providers.sqlite import SqliteProvider
    from duroxide_cli.runtime import Runtime

    assert duroxide_cli.Runtime is Runtime
    assert duroxide_cli.SqliteProvider is SqliteProvider
    assert set(duroxide_cli.__all__) <= set(dir(duroxide_cli))


def test_every_command_is_found_in_the_module_the_table_names():
    import typer

    from duroxide_cli.cli import app as root

    whole = typer.main.get_command(root.app)
    assert set(root.COMMANDS) == set(whole.commands)  # type: ignore[attr-defined]
    for command, module_name in root.COMMANDS.items():
        alone = typer.main.get_command(root.build_app((module_name,)))
        assert command in alone.commands, (command, module_name)  # type: ignore[attr-defined]
    assert set(root.GROUPS) == set(root.COMMANDS.values())


def test_a_command_line_builds_only_the_group_it_names():
    from duroxide_cli.cli.app import group_for

    assert group_for(["status", "x"]) == "instances"
    assert group_for(["-v", "history", "show", "x"]) == "history"
    assert group_for(["--help"]) is None
    assert group_for(["statu"]) is None
    assert group_for([]) is None

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
    "rich",
    "asyncio",
    "ssl",
    "duroxide_cli.client",
    "duroxide_cli.providers.sqlite",
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
"""Not needed to read one instance or a page of them from a SQLite file (read synchronously,
without an event loop or the async store; the store's schema files are read as files, and
tracebacks find the standard library without ``sysconfig``); rich neither, when the result goes
to a pipe or a file: it only draws on a terminal."""


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


def test_status_and_list_to_a_pipe_load_no_runtime_replay_engine_pydantic_or_rich(tmp_path: Path):
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
    plain = (["status", "one"], ["list"], ["list", "--limit", "5", "-o", "json"])
    for argv, entry in [*((argv, "app") for argv in (*plain, ["list", "-s", "pending"])), *((argv, "entry") for argv in plain)]:
        code = textwrap.dedent(
            f"""
            import sys
            sys.argv = ['duroxide', *{argv!r}, '--store', {store!r}]
            from duroxide_cli.cli.{entry} import main
            try:
                main()
            except SystemExit as stop:
                assert not stop.code, stop.code
            """
        )
        modules = loaded_after(code, cwd=tmp_path)
        assert "duroxide_cli.providers._sqlite.reads" in modules, "the command did not read the store"
        assert offenders(modules, HEAVY_FOR_READING) == [], argv
        if entry == "entry":  # the console script answers the plain forms without typer (fast_reads)
            assert offenders(modules, ("typer", "duroxide_cli.cli.app", "duroxide_cli.cli.instances")) == [], argv


def test_lazy_public_names_are_the_real_objects():
    import duroxide_cli
    from duroxide_cli.providers.sqlite import SqliteProvider
    from duroxide_cli.runtime import Runtime

    assert duroxide_cli.Runtime is Runtime
    assert duroxide_cli.SqliteProvider is SqliteProvider
    assert set(duroxide_cli.__all__) <= set(dir(duroxide_cli))


def test_every_command_is_found_in_the_module_the_table_names_with_its_summary():
    import typer
    from typer.core import TyperCommand

    from duroxide_cli.cli import app as root
    from duroxide_cli.cli.commands import COMMANDS, GROUPS

    whole = typer.main.get_command(root.app)
    assert list(COMMANDS) == list(whole.commands)  # type: ignore[attr-defined]
    for command, (module_name, summary) in COMMANDS.items():
        alone = typer.main.get_command(root.build_app((module_name,)))
        assert command in alone.commands, (command, module_name)  # type: ignore[attr-defined]
        help_text = whole.commands[command].help  # type: ignore[attr-defined]
        first_sentence = TyperCommand(name=command, help=help_text).get_short_help_str(limit=10**6)
        assert summary == first_sentence, f"update the summary of {command!r} in duroxide_cli/cli/commands.py"
    assert set(GROUPS) == {module_name for module_name, _ in COMMANDS.values()}


def test_a_command_is_built_alone_as_the_whole_app_builds_it():
    import typer

    from duroxide_cli.cli import app as root

    whole = typer.main.get_command(root.app)
    for name in ("status", "list", "history", "bench", "raise"):
        alone, built = root.build_command(name), whole.commands[name]  # type: ignore[attr-defined]
        assert type(alone) is type(built) and alone.name == built.name == name
        assert [param.opts for param in alone.params] == [param.opts for param in built.params]
        assert alone.help == built.help


def test_help_at_any_width_is_the_whole_apps_help():
    code = "import sys\nsys.argv = ['duroxide', '--help']\nfrom duroxide_cli.cli.app import {}\ntry:\n    {}\nexcept SystemExit:\n    pass"
    for width in ("40", "80", "200"):
        env = {**os.environ, "COLUMNS": width}
        lazy, whole = (
            subprocess.run([sys.executable, "-c", code.format(*call)], capture_output=True, text=True, env=env, timeout=60)
            .stdout
            for call in (("main", "main()"), ("app", "app(prog_name='duroxide')"))
        )
        assert lazy == whole and "  list       List instances, newest first.\n" in lazy


def test_a_command_imports_only_its_own_module():
    from duroxide_cli.cli.commands import GROUPS

    command_modules = {f"duroxide_cli.cli.{name}" for name in GROUPS}
    code = "import sys\nsys.argv = ['duroxide', *{!r}]\nfrom duroxide_cli.cli.app import main\ntry:\n    main()\nexcept SystemExit:\n    pass"
    assert loaded_after(code.format(["--help"])) & command_modules == set()
    assert loaded_after(code.format(["status", "--help"])) & command_modules == {"duroxide_cli.cli.instances"}
    assert loaded_after(code.format(["history", "show", "--help"])) & command_modules == {"duroxide_cli.cli.history"}


def test_a_misspelt_command_is_refused_with_suggestions_and_no_command_is_answered_with_the_help(tmp_path: Path):
    from .conftest import duroxide

    misspelt = duroxide("statu", "x", cwd=tmp_path)
    assert misspelt.returncode == 2
    assert "No such command 'statu'. Did you mean 'status', 'start'?" in misspelt.stderr
    bare = duroxide(cwd=tmp_path)  # the help, on stderr, as a usage error
    assert bare.returncode == 2 and bare.stderr.startswith("Usage: duroxide [OPTIONS] COMMAND [ARGS]...")
    assert "  history    Show, follow, inspect or export an instance's history.\n" in bare.stderr

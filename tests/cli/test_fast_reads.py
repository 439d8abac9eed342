"""``fast_reads`` parses the plain command lines of ``status`` and ``list`` without typer: what it
accepts, it reads as typer does; everything else it leaves to typer."""

from __future__ import annotations

import inspect

import pytest

from duroxide_cli.cli import fast_reads, read_commands
from duroxide_cli.cli.app import build_command

COMMANDS = {"status": (fast_reads.STATUS, read_commands.show_status), "list": (fast_reads.LIST, read_commands.list_instances)}

ACCEPTED = [
    ["status", "i-1"],
    ["status", "i-1", "-o", "json"],
    ["status", "--output=jsonl", "i-1"],
    ["status", "i-1", "--json", "-v", "--store", "sqlite:///x.db"],
    ["status", "i-1", "--store=postgresql://u@h/db?schema=s", "--verbose"],
    ["status", "id with spaces and é"],
    ["list"],
    ["list", "--limit", "7", "--count"],
    ["list", "--limit=0100", "-o", "table", "--json"],
    ["list", "--store", "sqlite:////abs/x.db", "-v", "--output", "jsonl"],
]

LEFT_TO_TYPER = [
    [],
    ["--help"],
    ["--version"],
    ["start", "X"],
    ["history", "show", "i-1"],
    ["status"],
    ["status", "a", "b"],
    ["status", "--help"],
    ["status", "i-1", "-h"],
    ["status", "i-1", "-o", "JSON"],
    ["status", "i-1", "-o", "yaml"],
    ["status", "i-1", "-ojson"],
    ["status", "i-1", "-o=json"],
    ["status", "i-1", "--output"],
    ["status", "i-1", "--output="],
    ["status", "i-1", "-o", "json", "--output", "json"],
    ["status", "i-1", "--json=yes"],
    ["status", "i-1", "--no-json"],
    ["status", "i-1", "--store", "-v"],
    ["status", "i-1", "--limit", "5"],
    ["status", "--", "-i"],
    ["status", "-"],
    ["list", "x"],
    ["list", "--limit", "0"],
    ["list", "--limit", "+5"],
    ["list", "--limit", "five"],
    ["list", "--limit", "٣"],
    ["list", "-s", "pending"],
    ["list", "--status", "pending"],
    ["list", "--name", "N"],
    ["list", "--cursor", "c"],
    ["list", "--since", "1h"],
    ["list", "--top-level"],
    ["list", "--count", "--count"],
]


def typer_call(command: str, arguments: list[str], monkeypatch: pytest.MonkeyPatch) -> dict:
    """The arguments typer's own command calls its ``read_commands`` function with, by name."""
    _, function = COMMANDS[command]
    calls: list[inspect.BoundArguments] = []
    monkeypatch.setattr(read_commands, function.__name__, lambda *a, **k: calls.append(inspect.signature(function).bind(*a, **k)))
    build_command(command).main(list(arguments), prog_name="duroxide", standalone_mode=False)
    (call,) = calls
    call.apply_defaults()
    return dict(call.arguments)


@pytest.mark.parametrize("argv", ACCEPTED, ids=" ".join)
def test_an_accepted_command_line_gets_the_values_typer_gives_it(argv: list[str], monkeypatch: pytest.MonkeyPatch):
    call = fast_reads.parse(argv)
    assert call is not None and call.command == argv[0]
    _, function = COMMANDS[argv[0]]
    fast = inspect.signature(function).bind(**call.arguments)
    fast.apply_defaults()
    assert dict(fast.arguments) == typer_call(argv[0], argv[1:], monkeypatch)


@pytest.mark.parametrize("argv", LEFT_TO_TYPER, ids=" ".join)
def test_any_other_command_line_is_left_to_typer(argv: list[str]):
    assert fast_reads.parse(argv) is None


@pytest.mark.parametrize("command", COMMANDS)
def test_the_options_parsed_are_the_typer_commands_and_the_defaults_its_defaults(command: str):
    table, function = COMMANDS[command]
    params = {param.name: param for param in build_command(command).params}
    for spelling, option in table.items():
        param = params[option.parameter]
        assert spelling in param.opts, (spelling, param.opts)
        assert bool(getattr(param, "is_flag", False)) == option.flag, spelling
    signature = inspect.signature(function).parameters
    assert list(signature) == list(params)
    assert {name: p.default for name, p in signature.items() if p.default is not p.empty} == {
        name: param.default for name, param in params.items() if not param.required
    }


def test_shell_completion_is_left_to_typer(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv(fast_reads.COMPLETE_VAR, "complete_bash")
    assert fast_reads.run(["status", "i-1"]) is None  # returned: typer answers

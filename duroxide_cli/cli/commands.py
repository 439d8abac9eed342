"""The table of ``duroxide`` commands: the module that defines each, and what ``--help`` says of it.

``duroxide --help`` lists every command from this table alone, without importing a command
module or building a command, and ``duroxide status ID`` imports and builds only ``status``.
A test checks the table against the commands the modules define.
"""

from __future__ import annotations

COMMANDS: dict[str, tuple[str, str]] = {
    "init": ("project", "Write a duroxide.toml and an example app (app.py) into DIR; prints the files written."),
    "run": ("serve", "Run the app's orchestrations and activities until Ctrl-C or SIGTERM (then shut down gracefully)."),
    "execute": ("execute", "Run one instance to completion with an in-process runtime on the configured store."),
    "start": ("instances", "Start an instance in the configured store (created if missing); prints its id."),
    "raise": ("instances", "Raise an event for an instance (buffered until it waits for it)."),
    "status": ("instances", "Show an instance's status, output or error, and custom status."),
    "wait": ("instances", "Wait until an instance ends; exit 0 Completed, 1 Failed, 5 Cancelled, 4 timed out."),
    "cancel": (
        "actions",
        "Cancel an instance (or every one the filters match): its code's pending step raises OrchestrationCancelled, "
        "so it can compensate; sub-orchestrations it waits for are cancelled too (a finished one is left alone).",
    ),
    "terminate": (
        "actions",
        "Stop an instance (or every one the filters match) at once, running none of its code (also one compensating "
        "after a cancel); it ends Cancelled with the failure type Terminated.",
    ),
    "delete": (
        "actions",
        "Delete an instance (or every one the filters match), its sub-orchestrations and their histories; a running "
        "one needs --force.",
    ),
    "prune": (
        "actions",
        "Delete finished instances (Completed, Failed, Cancelled; never running ones) created before an age, with "
        "their sub-orchestrations and histories; prints how many went.",
    ),
    "reset": (
        "recover",
        "Start a new execution that keeps the history up to event N and runs the rest with the current code; prints "
        "the new execution id.",
    ),
    "fork": (
        "recover",
        "Copy an instance's history up to event N into a new instance that runs on from there with the current code; "
        "the original is untouched.",
    ),
    "list": ("listing", "List instances, newest first."),
    "tree": ("tree", "Show an instance and its sub-orchestrations, recursively, with their statuses."),
    "metrics": ("metrics", "Show instances by status and the depth of each queue."),
    "workers": (
        "workers",
        "List the live runtimes serving the store (seen in the last 15 s): worker id, host, pid, app, when each "
        "started and when it was last seen.",
    ),
    "replay": (
        "replay",
        "Replay a history against the current code, step by step; report the first divergence with the line of code.",
    ),
    "bench": ("bench", "Run the standard workloads in this process and report count, seconds, rate and p50/p99 latency."),
    "history": ("history", "Show, follow, inspect or export an instance's history."),
}
"""Each command, in the order ``--help`` lists them: the module under ``duroxide_cli.cli`` that
defines it, and its summary, the first sentence of its help (all of ``--help`` shows of it, cut
to the terminal's width)."""

GROUPS: tuple[str, ...] = tuple(dict.fromkeys(module for module, _ in COMMANDS.values()))
"""The command modules, in the order ``--help`` lists their commands."""

NAMED_GROUPS: dict[str, str] = {"history": "history"}
"""Modules whose commands sit under a command of their own (``duroxide history show``), by module."""

"""Acting on many instances at once: the ``list`` filters (or ``--all``) instead of an id.

Every bulk command follows the same steps, so they live here once:

1. ``selection`` decides between the single-id form and the bulk form (an id with filters, or
   neither without ``--all``, is a usage error);
2. ``matching_ids`` collects every matching id first, a page at a time, so that acting on the
   instances (which changes their status, or deletes them) cannot make a page skip or repeat one;
3. ``proceed`` says how many match on stderr, prints them for ``--dry-run``, and otherwise asks
   on a terminal or insists on ``--yes``;
4. ``act_on_each`` applies the action to each id and collects a ``BulkOutcome``, which
   ``render.bulk_summary`` prints (``{"matched", "succeeded", "failed"}`` as JSON).

``run_action`` strings the steps together: a command joins by declaring the options below and
handing it a ``BulkAction`` (what to call for one id, and the verb to ask with).
"""

from __future__ import annotations

import sys
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer

from ..errors import DuroxideError
from . import render
from .completion import complete_instance_id
from .exits import CommandError, ExitCode, usage_error
from .options import OutputFormat, resolve_output

if TYPE_CHECKING:
    from ..providers.base import InstanceFilter

PAGE_SIZE = 200
"""How many ids one listing page brings while the matches are collected."""

InstanceIdOrFilters = Annotated[
    Optional[str],
    typer.Argument(
        metavar="ID",
        help="The instance; leave it out and give filters (or --all) to act on many.",
        autocompletion=complete_instance_id,
        show_default=False,
    ),
]
Yes = Annotated[bool, typer.Option("--yes", "-y", help="Act without asking (required when stdin is not a terminal).")]
DryRun = Annotated[bool, typer.Option("--dry-run", help="Print the matching ids, one a line, and change nothing.")]
Everything = Annotated[bool, typer.Option("--all", help="Every instance: needed when neither an ID nor a filter is given.")]


@dataclass(frozen=True, slots=True)
class BulkOptions:
    """How the user asked a bulk command to go about it."""

    yes: bool = False
    """Act without asking."""
    dry_run: bool = False
    """Only print the matching ids."""
    output: OutputFormat = OutputFormat.TABLE
    """The summary's shape."""


@dataclass(frozen=True, slots=True)
class BulkFailure:
    """An instance the action failed for."""

    instance_id: str
    error: str
    """The error's one-line message."""


@dataclass(frozen=True, slots=True)
class BulkOutcome:
    """What a bulk action did: ``succeeded`` counts actions accepted (a no-op on a finished
    instance included), ``failed`` the ones refused, with why."""

    matched: int
    succeeded: int = 0
    failed: tuple[BulkFailure, ...] = field(default_factory=tuple)

    @property
    def exit_code(self) -> ExitCode:
        """0 when nothing failed, 1 otherwise."""
        return ExitCode.FAILED if self.failed else ExitCode.OK

    def to_json(self) -> dict[str, Any]:
        """``{"matched": n, "succeeded": n, "failed": [{"instance_id", "error"}]}``."""
        return {
            "matched": self.matched,
            "succeeded": self.succeeded,
            "failed": [{"instance_id": f.instance_id, "error": f.error} for f in self.failed],
        }


@dataclass(frozen=True, slots=True)
class BulkAction:
    """One command's action on one instance, and the verb its question and notes use."""

    verb: str
    """``cancel``, ``delete``, ...: as in "cancel 50 instances?"."""
    act: Callable[[Any, str], Awaitable[None]]
    """Called with the Client and an id; a ``DuroxideError`` or ``CommandError`` it raises is that
    instance's failure (the others go on)."""


def options(yes: bool, dry_run: bool, output: OutputFormat | None, json_output: bool) -> BulkOptions:
    """The options of a bulk command (``--json`` with another ``--output`` is a usage error)."""
    return BulkOptions(yes=yes, dry_run=dry_run, output=resolve_output(output, json_output))


def selection(instance_id: str | None, where: InstanceFilter, everything: bool, dry_run: bool) -> InstanceFilter | None:
    """The filter of the bulk form, or None for the single-id form; a mix of both is a usage error."""
    from ..providers.base import InstanceFilter

    filtered = where != InstanceFilter()
    if instance_id is not None:
        if filtered or everything:
            raise usage_error("give an instance ID or filters (--status, --name, --id-prefix, --since, --until, --top-level, --all), not both")
        if dry_run:
            raise usage_error("--dry-run goes with filters or --all; to see one instance, use `duroxide status ID`")
        return None
    if everything and filtered:
        raise usage_error("--all means every instance; leave it out when you give filters")
    if not everything and not filtered:
        raise usage_error("give an instance ID, filters (--status, --name, --id-prefix, --since, --until, --top-level), or --all")
    return where


async def matching_ids(client: Any, where: InstanceFilter, page_size: int = PAGE_SIZE) -> list[str]:
    """Every matching id, newest first, collected before anything is changed."""
    ids: list[str] = []
    cursor: str | None = None
    while True:
        page = await client.list_instances_page(where, limit=page_size, cursor=cursor)
        ids.extend(state.instance_id for state in page.instances)
        cursor = page.next_cursor
        if cursor is None:
            return list(dict.fromkeys(ids))


def proceed(ids: Sequence[str], verb: str, options: BulkOptions) -> bool:
    """Say how many match; True when the action should go ahead.

    ``--dry-run`` prints the ids and returns False. Without ``--yes`` the user is asked when stdin
    is a terminal (no: exit 1, nothing done); otherwise it is a usage error naming ``--yes``."""
    render.bulk_matched(len(ids))
    if options.dry_run:
        render.bulk_ids(ids)
        return False
    if options.yes or not ids:
        return True
    noun = "instance" if len(ids) == 1 else "instances"
    if not _stdin_is_terminal():
        raise usage_error(f"refusing to {verb} {len(ids)} {noun} without --yes (stdin is not a terminal, so there is no one to ask)")
    if not render.confirm(f"{verb} {len(ids)} {noun}?"):
        raise CommandError(f"not confirmed; nothing to {verb}")
    return True


async def act_on_each(client: Any, ids: Sequence[str], act: Callable[[Any, str], Awaitable[None]]) -> BulkOutcome:
    """Apply ``act`` to each id in turn; one failure does not stop the others."""
    succeeded = 0
    failed: list[BulkFailure] = []
    for instance_id in ids:
        try:
            await act(client, instance_id)
        except (DuroxideError, CommandError) as error:
            failed.append(BulkFailure(instance_id, str(error)))
        else:
            succeeded += 1
    return BulkOutcome(len(ids), succeeded, tuple(failed))


async def run_action(client: Any, where: InstanceFilter, action: BulkAction, options: BulkOptions) -> ExitCode:
    """The whole bulk form of a command: collect, announce, confirm, act, summarise."""
    ids = await matching_ids(client, where)
    if not proceed(ids, action.verb, options):
        return ExitCode.OK
    outcome = await act_on_each(client, ids, action.act)
    render.bulk_summary(outcome, options.output)
    return outcome.exit_code


def _stdin_is_terminal() -> bool:
    try:
        return sys.stdin.isatty()
    except (AttributeError, ValueError):
        return False

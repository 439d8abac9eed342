"""The instance filters of ``list`` (and of any command that acts on many instances).

``--status`` (repeatable), ``--name``, ``--id-prefix``, ``--since``/``--until`` (an age such as
``30s``, ``15m``, ``2h``, ``7d`` meaning that long ago, or an ISO-8601 time; on the creation
time) and ``--top-level``, turned into the public ``InstanceFilter``.
"""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from .completion import complete_orchestration_name, complete_status
from .filter_values import STATUSES as STATUSES
from .filter_values import instance_filter as instance_filter
from .filter_values import parse_status as parse_status
from .filter_values import parse_time as parse_time

Statuses = Annotated[
    Optional[list[str]],
    typer.Option(
        "--status",
        "-s",
        metavar="STATUS",
        help=f"Only this status ({', '.join(STATUSES)}); repeat it, or separate with commas, for several.",
        autocompletion=complete_status,
        show_default=False,
    ),
]
Name = Annotated[
    Optional[str],
    typer.Option("--name", "-n", metavar="NAME", help="Only this orchestration.", autocompletion=complete_orchestration_name),
]
IdPrefix = Annotated[Optional[str], typer.Option("--id-prefix", metavar="PREFIX", help="Only ids that start with PREFIX.")]
Since = Annotated[
    Optional[str],
    typer.Option("--since", metavar="AGE|TIME", help="Created at or after: an age (30s, 15m, 2h, 7d ago) or an ISO-8601 time."),
]
Until = Annotated[
    Optional[str],
    typer.Option("--until", metavar="AGE|TIME", help="Created before: an age (30s, 15m, 2h, 7d ago) or an ISO-8601 time."),
]
TopLevel = Annotated[bool, typer.Option("--top-level", help="Leave out sub-orchestrations.")]

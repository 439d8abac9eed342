"""Options shared by several commands."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from .completion import complete_instance_id, complete_orchestration_name
from .output_format import OutputFormat as OutputFormat
from .output_format import resolve_output as resolve_output

Store = Annotated[
    Optional[str],
    typer.Option(
        "--store",
        metavar="URL",
        help="Store URL (sqlite:///rel.db, sqlite:////abs.db, postgresql://...). Default: duroxide.toml, DUROXIDE_STORE, "
        "else sqlite:///.duroxide/duroxide.db.",
        show_default=False,
    ),
]

App = Annotated[
    Optional[str],
    typer.Option(
        "--app",
        metavar="APP",
        help="The app: path/to/app.py, pkg.module or module:attr. Default: duroxide.toml [app] module or DUROXIDE_APP.",
        show_default=False,
    ),
]

InstanceId = Annotated[str, typer.Argument(metavar="ID", help="The instance.", autocompletion=complete_instance_id, show_default=False)]

OrchestrationName = Annotated[
    str, typer.Argument(metavar="NAME", help="The orchestration.", autocompletion=complete_orchestration_name, show_default=False)
]

Json = Annotated[bool, typer.Option("--json", help="Same as --output json.")]


Output = Annotated[
    Optional[OutputFormat],
    typer.Option(
        "--output",
        "-o",
        metavar="table|json|jsonl",
        case_sensitive=False,
        help="table (default), json (one document) or jsonl (one object per line).",
        show_default=False,
    ),
]

Verbose = Annotated[bool, typer.Option("--verbose", "-v", help="Print the store URL (and the app) on stderr.")]

Execution = Annotated[
    Optional[int],
    typer.Option("--execution", "-e", metavar="N", min=1, help="Which execution (default: the latest).", show_default=False),
]

Timeout = Annotated[int, typer.Option("--timeout", metavar="MS", min=1, help="Give up after this many milliseconds (exit 4).")]

"""Options shared by several commands."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

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

Json = Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout instead of a table.")]

Execution = Annotated[
    Optional[int],
    typer.Option("--execution", "-e", metavar="N", min=1, help="Which execution (default: the latest).", show_default=False),
]

Timeout = Annotated[int, typer.Option("--timeout", metavar="MS", min=1, help="Give up after this many milliseconds (exit 4).")]

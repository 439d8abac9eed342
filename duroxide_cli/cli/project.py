"""``duroxide init``: a duroxide.toml and an example app that runs as written."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Annotated

import typer

from ..errors import ConfigError
from . import options, render
from .config import CONFIG_FILE, load_settings
from .exits import CommandError, fail
from .group import CommandGroup
from .session import describe_store

app = CommandGroup()

_FILES = ((CONFIG_FILE, "duroxide.toml.tmpl"), ("app.py", "app.py.tmpl"))


@app.command()
def init(
    directory: Annotated[Path, typer.Argument(metavar="DIR", help="Where to write the files (created if missing).")] = Path("."),
    force: Annotated[bool, typer.Option("--force", help="Overwrite files that already exist.")] = False,
    verbose: options.Verbose = False,
) -> None:
    """Write a duroxide.toml and an example app (app.py) into DIR; prints the files written."""
    targets = [(directory / name, template) for name, template in _FILES]
    existing = [str(path) for path, _ in targets if path.exists()]
    if existing and not force:
        raise fail(CommandError(f"{', '.join(existing)} already exist{'s' if len(existing) == 1 else ''}; pass --force to overwrite"))
    try:
        directory.mkdir(parents=True, exist_ok=True)
        for path, template in targets:
            path.write_text(resources.files(__package__).joinpath("templates").joinpath(template).read_text(encoding="utf-8"), encoding="utf-8")
    except OSError as error:
        raise fail(CommandError(f"cannot write into {str(directory)!r}: {error.strerror}")) from None
    for path, _ in targets:
        render.result_line(str(path))
    if verbose:
        try:
            render.note(f"store: {describe_store(load_settings(cwd=directory.resolve()))} (created by the first run, start or execute)")
        except ConfigError as error:
            render.warning(str(error))
    where = "" if directory.resolve() == Path.cwd().resolve() else f"cd {directory} && "
    render.note(f"next: {where}duroxide execute Greeting --input '{{\"names\": [\"Ada\", \"Grace\"]}}'")

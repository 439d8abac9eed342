"""``duroxide run``: the runtime for an app, until Ctrl-C or SIGTERM."""

from __future__ import annotations

import contextlib
import json
import logging
import signal
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from . import options, render
from .exits import ExitCode, fail, run_command, usage_error
from .group import CommandGroup
from .logging_setup import configure_logging
from .preflight import hold_back_diverging
from .session import open_store, prepare, require_app

app = CommandGroup()


@app.command()
def run(
    app_arg: Annotated[
        Optional[str],
        typer.Argument(metavar="APP", help="The app: path/to/app.py, pkg.module or module:attr (default: from duroxide.toml).", show_default=False),
    ] = None,
    reload: Annotated[
        bool, typer.Option("--reload", help="Restart when the app's code changes, after replaying running instances against it.")
    ] = False,
    orchestration_concurrency: Annotated[
        Optional[int], typer.Option("--orchestration-concurrency", metavar="N", min=1, help="Instances whose turns run at once.", show_default=False)
    ] = None,
    activity_concurrency: Annotated[
        Optional[int], typer.Option("--activity-concurrency", metavar="N", min=1, help="Activities that run at once.", show_default=False)
    ] = None,
    worker_id: Annotated[Optional[str], typer.Option("--worker-id", help="Names this process in locks and logs.", show_default=False)] = None,
    shutdown_timeout: Annotated[
        int, typer.Option("--shutdown-timeout", metavar="MS", min=0, help="On Ctrl-C, how long running work may take to finish.")
    ] = 10000,
    exclude_file: Annotated[Optional[Path], typer.Option("--exclude-file", hidden=True)] = None,
    app_ref: options.App = None,
    store: options.Store = None,
    verbose: options.Verbose = False,
) -> None:
    """Run the app's orchestrations and activities until Ctrl-C or SIGTERM (then shut down gracefully)."""
    if app_arg is not None and app_ref is not None and app_arg != app_ref:
        raise fail(usage_error(f"two apps given ({app_arg} and --app {app_ref}); give one"))
    app_arg = app_arg or app_ref
    if reload:
        from .reload import Supervisor

        if exclude_file is not None:
            raise fail(usage_error("--exclude-file is for the runtime that --reload starts"))
        flags: list[str] = []
        for flag, value in (
            ("--orchestration-concurrency", orchestration_concurrency),
            ("--activity-concurrency", activity_concurrency),
            ("--worker-id", worker_id),
            ("--shutdown-timeout", shutdown_timeout),
        ):
            if value is not None:
                flags += [flag, str(value)]
        if verbose:
            flags.append("--verbose")
        raise typer.Exit(Supervisor(app_ref=app_arg, store=store, run_flags=flags, shutdown_timeout_ms=shutdown_timeout).run())

    async def main() -> int:
        from ..client import Client
        from ..providers.url import without_password  # the store's modules: not for ``--help``
        from ..runtime import Runtime

        settings = prepare(app=app_arg, store=store, log_default="info", verbose=verbose)
        loaded = require_app(settings)
        runtime_options = settings.runtime_options(
            orchestration_concurrency=orchestration_concurrency, activity_concurrency=activity_concurrency, worker_id=worker_id
        )
        if render.stderr_is_terminal():
            configure_logging(settings.log, default="info", handler=render.ConsoleLogHandler(), source=settings.log_source)
        async with open_store(settings, create=True, options=runtime_options) as provider:
            runtime = Runtime(provider, registry=loaded.registry, options=runtime_options, app=settings.app)
            if exclude_file is None:
                await hold_back_diverging(Client(provider), runtime, loaded.registry)
            else:  # started by --reload, whose pre-flight has run in a fresh process
                await runtime.hold_back(*_read_exclusions(exclude_file))
            await runtime.start()
            names = ", ".join(loaded.registry.orchestration_names) or "no orchestrations"
            header = f"duroxide run  {settings.app}"
            detail = f"orchestrations: {names} | store {without_password(settings.store_url)} | worker {runtime_options.worker_id}"
            try:
                await _serve(runtime, header, detail)
            finally:
                render.note(f"shutting down (running work has {shutdown_timeout} ms to finish)")
                await runtime.shutdown(timeout_ms=shutdown_timeout)
        if runtime.failure is not None:  # the store cannot work as it is: say why, exit 1
            raise runtime.failure
        render.note("stopped")
        return ExitCode.OK

    raise typer.Exit(run_command(main))


async def _serve(runtime: Any, header: str, detail: str) -> None:
    import asyncio

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    try:
        failed = asyncio.ensure_future(runtime.wait_failed())
        failed.add_done_callback(lambda _: stop.set())
        with render.RunView(header, detail) as view:
            while not stop.is_set():
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=0.25)
                view.update(runtime.stats)
    finally:
        failed.cancel()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.remove_signal_handler(sig)


def _read_exclusions(path: Path | None) -> tuple[dict[str, str], list[str]]:
    """The instances ``run --reload`` found diverging (with the reason to show for each), and the
    ones an earlier reload held back that are consistent again."""
    if path is None:
        return {}, []
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as error:
        logging.getLogger("duroxide").warning("cannot read the exclusions file %s: %s", path, error)
        return {}, []
    return {str(k): str(v) for k, v in document.get("held_back", {}).items()}, [str(i) for i in document.get("released", [])]

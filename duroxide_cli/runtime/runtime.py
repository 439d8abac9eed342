"""Runtime: owns the orchestration dispatcher and the activity worker, from start to shutdown."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Literal

from ..clock import Clock
from ..errors import ProviderError
from ..model.options import RuntimeOptions
from ..model.registry import Registry
from ..providers.base import Provider
from . import collector
from .dispatcher import OrchestrationDispatcher
from .heartbeat import Heartbeat
from .logs import runtime_log
from .scope import InstanceScope
from .stats import RuntimeStats
from .worker import ActivityWorker

State = Literal["created", "running", "stopping", "stopped"]

_FIRST_BACKOFF_S, _MAX_BACKOFF_S = 0.05, 5.0
_HEALTHY_AFTER_S = 30.0
"""A loop that ran this long since its last restart starts its back-off over."""


class Runtime:
    """Runs the orchestrations and activities of a Registry against a store.

    ``start()`` registers the runtime in the store and launches three background tasks -- the
    orchestration dispatcher, the activity worker and the heartbeat that keeps the runtime's row
    fresh (``Client.list_runtimes``, ``duroxide workers``) -- and ``shutdown()`` stops fetching,
    lets running work finish until the timeout, abandons the rest so that another process picks
    it up, and removes the runtime's row. Also an async context manager.

    Store errors: a retryable ``ProviderError`` (a busy or full disk, a dropped connection) makes
    the failing loop back off (50 ms doubling to 5 s, one warning line each time) and go on. One
    that is not retryable (a damaged, foreign or read-only store) cannot be fixed by waiting: the
    runtime stops fetching, logs one error line, and sets ``failure``; ``wait_failed()`` returns
    it, and the owner still calls ``shutdown()``.

    ``app`` is what the runtime's row shows as its app (``duroxide run`` passes the app reference
    it loaded); None when not given.

    With ``root_instance_id`` the runtime serves only that instance and the sub-orchestrations
    it starts, recursively (not its fire-and-forget ``start_orchestration`` instances), and only
    their activities; every other instance in the store is left alone (``duroxide execute``).
    """

    def __init__(
        self,
        provider: Provider,
        registry: Registry | None = None,
        options: RuntimeOptions | None = None,
        clock: Clock | None = None,
        *,
        root_instance_id: str | None = None,
        app: str | None = None,
    ):
        self.provider = provider
        self.registry = registry if registry is not None else Registry()
        self.options = options or RuntimeOptions()
        self.stats = RuntimeStats()
        """Counters for live views."""
        self._clock = clock or Clock()
        self._state: State = "created"
        self._tasks: list[asyncio.Task[None]] = []
        self._dispatcher: OrchestrationDispatcher | None = None
        self._worker: ActivityWorker | None = None
        self._heartbeat = Heartbeat(provider, self.options.worker_id, app, self._clock)
        self._held_back: dict[str, str] = {}
        self._scope = None if root_instance_id is None else InstanceScope(root_instance_id)
        self._failure: ProviderError | None = None
        self._failed = asyncio.Event()

    @property
    def state(self) -> State:
        return self._state

    @property
    def failure(self) -> ProviderError | None:
        """The store error, not retryable, that stopped the runtime (None while it has none)."""
        return self._failure

    async def wait_failed(self) -> ProviderError:
        """Return once a store error that retrying cannot fix has stopped the runtime."""
        await self._failed.wait()
        assert self._failure is not None
        return self._failure

    # -- registration -----------------------------------------------------------------------------
    def register_activity(self, name: str, fn: Callable[..., Any]) -> None:
        self.registry.register_activity(name, fn)

    def register_orchestration(self, name: str, fn: Callable[..., Any]) -> None:
        self.registry.register_orchestration(name, fn)

    def register_orchestration_versioned(self, name: str, version: str, fn: Callable[..., Any]) -> None:
        self.registry.register_orchestration_versioned(name, version, fn)

    async def hold_back(self, reasons: Mapping[str, str], released: Iterable[str] = ()) -> None:
        """Do not dispatch the instances of ``reasons``; each reason shows at once as the
        instance's ``held`` (its status stays, its ``error`` stays None). Instances in
        ``released`` are dispatched again and their ``held`` is cleared."""
        for instance_id in released:
            self._held_back.pop(instance_id, None)
            await self.provider.set_instance_held(instance_id, None)
        for instance_id, reason in reasons.items():
            self._held_back[instance_id] = reason
            await self.provider.set_instance_held(instance_id, reason)
        if self._dispatcher is not None:
            self._dispatcher.excluded = dict(self._held_back)

    @property
    def cache(self):
        """The generator cache (for inspection)."""
        return self._dispatcher.cache if self._dispatcher else None

    # -- lifecycle ----------------------------------------------------------------------------------
    async def start(self) -> None:
        """Start dispatching. Starting twice is an error."""
        if self._state != "created":
            raise RuntimeError(f"the runtime is {self._state}; create a new Runtime to start again")
        self._worker = ActivityWorker(self.provider, self.registry, self.options, self.stats, self._scope)
        self._dispatcher = OrchestrationDispatcher(
            self.provider, self.registry, self.options, self._clock, self.stats, self._worker, self._scope
        )
        self._worker.deliver_locally = self._dispatcher.local_results.deliver
        self._dispatcher.excluded = dict(self._held_back)
        await self._heartbeat.register()
        self._dispatcher.prepare()
        self._tasks = [
            asyncio.create_task(self._supervise("orchestration dispatcher", self._dispatcher.run)),
            asyncio.create_task(self._supervise("activity worker", self._worker.run)),
            asyncio.create_task(self._supervise("heartbeat", self._heartbeat.run)),
        ]
        self._state = "running"
        collector.runtime_started()

    async def shutdown(self, timeout_ms: int = 5000) -> None:
        """Stop fetching; let running turns and activities finish within ``timeout_ms``; abandon the rest."""
        if self._state != "running":
            self._state = "stopped"
            return
        self._state = "stopping"
        try:
            await self._stop(timeout_ms)
        finally:
            collector.runtime_stopped()

    async def _stop(self, timeout_ms: int) -> None:
        assert self._dispatcher is not None and self._worker is not None
        self._dispatcher.request_stop()
        self._worker.request_stop()
        self._heartbeat.request_stop()
        # a fetch in flight finishes (so its locks are known and released); an idle wait is cut short
        _, pending = await asyncio.wait(self._tasks, timeout=5)
        for task in pending:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        stopped = await asyncio.gather(self._worker.stop(timeout_ms), self._dispatcher.stop(timeout_ms), return_exceptions=True)
        for error in stopped:
            if isinstance(error, ProviderError):  # the locks it could not release expire instead
                runtime_log.warning("shutting down: %s", error)
            elif isinstance(error, BaseException):
                raise error
        await self._heartbeat.remove()
        self._tasks = []
        self._state = "stopped"

    async def __aenter__(self) -> Runtime:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.shutdown()

    async def _supervise(self, what: str, loop: Callable[[], Any]) -> None:
        """Keep a loop alive across store errors that retrying may fix, with a back-off; stop the
        runtime on one that it cannot (``failure``)."""
        delay = _FIRST_BACKOFF_S
        while True:
            started = time.monotonic()
            try:
                await loop()
                return
            except asyncio.CancelledError:
                raise
            except ProviderError as error:
                if not error.retryable:
                    self._fail(what, error)
                    return
                if time.monotonic() - started > _HEALTHY_AFTER_S:
                    delay = _FIRST_BACKOFF_S
                runtime_log.warning("%s: %s; retrying in %.2f s", what, error, delay)
            except Exception:  # noqa: BLE001 - an unexpected error: log it whole, back off, go on
                runtime_log.exception("%s stopped on an error; restarting in %.2f s", what, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, _MAX_BACKOFF_S)

    def _fail(self, what: str, error: ProviderError) -> None:
        """Stop fetching for good: the store cannot work as it is."""
        if self._failure is None:
            self._failure = error
            runtime_log.error("%s: %s; retrying cannot fix this, so the runtime stops", what, error)
        if self._dispatcher is not None:
            self._dispatcher.request_stop()
        if self._worker is not None:
            self._worker.request_stop()
        self._heartbeat.request_stop()
        self._failed.set()

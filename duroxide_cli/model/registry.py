"""Registry: the orchestrations and activities an app defines, checked when registered."""

from __future__ import annotations

import functools
import inspect
import re
from collections.abc import Callable
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])

DEFAULT_VERSION = "1.0.0"


@functools.lru_cache(maxsize=1024)
def version_key(version: str) -> tuple:
    """Order versions numerically where they are numbers (``1.10.0`` > ``1.9.0``); a suffix marks
    a pre-release, below the plain number (``1.0.0-beta`` < ``1.0.0`` < ``1.0.5``). Remembered:
    an app has a handful of versions, and every new instance asks for the latest."""
    key = []
    for part in version.split("."):
        match = re.match(r"(\d*)(.*)", part)
        assert match is not None
        digits, suffix = match.groups()
        key.append((int(digits) if digits else -1, suffix == "", suffix))
    return tuple(key)


def check_orchestration_function(name: str, fn: Any) -> None:
    """Raise TypeError unless ``fn`` is a plain generator function taking (ctx) or (ctx, input)."""
    problems = []
    if not callable(fn):
        problems.append("it is not callable")
    elif inspect.isasyncgenfunction(fn):
        problems.append("it is an async generator (`async def` with `yield`); async generators cannot be replayed, use a plain `def` with `yield`")
    elif inspect.iscoroutinefunction(fn):
        problems.append("it is a coroutine function (`async def`); orchestrations are plain generator functions that `yield` tasks")
    elif not inspect.isgeneratorfunction(fn):
        problems.append("it is not a generator function; an orchestration must `yield` at least once (e.g. `result = yield ctx.schedule_activity(...)`)")
    else:
        try:
            params = [p for p in inspect.signature(fn).parameters.values() if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
        except (TypeError, ValueError):
            params = []
        if not 1 <= len(params) <= 2:
            problems.append(f"it takes {len(params)} positional parameters; it must take (ctx) or (ctx, input)")
    if problems:
        raise TypeError(f"orchestration '{name}' cannot be registered: " + "; ".join(problems))


def takes_input(fn: Callable[..., Any]) -> bool:
    """Whether the function has a second positional parameter for the input."""
    try:
        return _takes_input(fn)
    except TypeError:  # not hashable: asked afresh
        return _takes_input.__wrapped__(fn)


@functools.lru_cache(maxsize=1024)
def _takes_input(fn: Callable[..., Any]) -> bool:
    """``takes_input`` once per function: every activity call and every replay asks it."""
    try:
        params = [p for p in inspect.signature(fn).parameters.values() if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.VAR_POSITIONAL)]
    except (TypeError, ValueError):
        return True
    return len(params) >= 2 or any(p.kind == p.VAR_POSITIONAL for p in params)


class Registry:
    """The orchestrations (by name and version) and activities (by name) of an app."""

    def __init__(self) -> None:
        self._orchestrations: dict[str, dict[str, Callable[..., Any]]] = {}
        self._activities: dict[str, Callable[..., Any]] = {}

    # -- decorators -------------------------------------------------------------------------
    def activity(self, name: str | Callable[..., Any] | None = None) -> Any:
        """Register an activity (``async def`` or plain ``def``); the name defaults to the function's."""
        if callable(name):
            self.register_activity(name.__name__, name)
            return name

        def decorate(fn: F) -> F:
            self.register_activity(name or fn.__name__, fn)
            return fn

        return decorate

    def orchestration(self, name: str | Callable[..., Any] | None = None, version: str = DEFAULT_VERSION) -> Any:
        """Register a generator function as an orchestration (version ``1.0.0`` by default)."""
        if callable(name):
            self.register_orchestration_versioned(name.__name__, version, name)
            return name

        def decorate(fn: F) -> F:
            self.register_orchestration_versioned(name or fn.__name__, version, fn)
            return fn

        return decorate

    # -- plain registration -----------------------------------------------------------------
    def register_activity(self, name: str, fn: Callable[..., Any]) -> None:
        """Register ``fn`` as the activity ``name``; a duplicate name or a non-callable is a TypeError."""
        problems = []
        if not isinstance(name, str) or not name:
            problems.append(f"the name must be a non-empty string, got {name!r}")
        if not callable(fn):
            problems.append("it is not callable")
        elif inspect.isasyncgenfunction(fn) or inspect.isgeneratorfunction(fn):
            problems.append("it is a generator; an activity returns its result")
        if name in self._activities and self._activities[name] is not fn:
            problems.append("an activity of that name is already registered")
        if problems:
            raise TypeError(f"activity '{name}' cannot be registered: " + "; ".join(problems))
        self._activities[name] = fn

    def register_orchestration(self, name: str, fn: Callable[..., Any]) -> None:
        """Register ``fn`` as version 1.0.0 of the orchestration ``name``."""
        self.register_orchestration_versioned(name, DEFAULT_VERSION, fn)

    def register_orchestration_versioned(self, name: str, version: str, fn: Callable[..., Any]) -> None:
        """Register ``fn`` as ``version`` of ``name``; the highest version serves new instances."""
        if not isinstance(name, str) or not name:
            raise TypeError(f"orchestration name must be a non-empty string, got {name!r}")
        if not isinstance(version, str) or not version:
            raise TypeError(f"orchestration '{name}': version must be a non-empty string, got {version!r}")
        check_orchestration_function(name, fn)
        versions = self._orchestrations.setdefault(name, {})
        if version in versions and versions[version] is not fn:
            raise TypeError(f"orchestration '{name}' version {version} is already registered")
        versions[version] = fn

    # -- lookup -------------------------------------------------------------------------------
    def get_activity(self, name: str) -> Callable[..., Any] | None:
        return self._activities.get(name)

    def get_orchestration(self, name: str, version: str | None = None) -> tuple[str, Callable[..., Any]] | None:
        """The (version, function) for ``name``: the named version, or the highest one."""
        versions = self._orchestrations.get(name)
        if not versions:
            return None
        if version is None:
            version = max(versions, key=version_key)
        fn = versions.get(version)
        return (version, fn) if fn is not None else None

    def latest_version(self, name: str) -> str | None:
        versions = self._orchestrations.get(name)
        return max(versions, key=version_key) if versions else None

    @property
    def orchestration_names(self) -> list[str]:
        return sorted(self._orchestrations)

    @property
    def activity_names(self) -> list[str]:
        return sorted(self._activities)

    def orchestration_versions(self, name: str) -> list[str]:
        return sorted(self._orchestrations.get(name, {}), key=version_key)

    def merge(self, other: Registry) -> None:
        """Add everything ``other`` registers."""
        for name, fn in other._activities.items():
            self.register_activity(name, fn)
        for name, versions in other._orchestrations.items():
            for version, fn in versions.items():
                self.register_orchestration_versioned(name, version, fn)

"""Names a package re-exports, imported on first use (PEP 562).

``import duroxide_cli`` -- and so every ``duroxide`` command -- then costs only what the caller
touches, not the runtime, the stores and the replay engine behind every public name.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from importlib import import_module
from typing import Any


def lazy_exports(package: str, namespace: dict[str, Any], exports: Mapping[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` for ``package``: ``exports`` maps a name to the submodule (relative,
    e.g. ``".client"``) that defines it; the first use imports it and keeps it in ``namespace``."""

    def __getattr__(name: str) -> Any:
        module_name = exports.get(name)
        if module_name is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(import_module(module_name, package), name)
        namespace[name] = value
        return value

    return __getattr__

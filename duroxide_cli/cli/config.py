"""Settings for a command: ``duroxide.toml``, then ``DUROXIDE_*`` variables, then flags.

``duroxide.toml`` is looked for in the working directory and its parents; relative paths in it
(the app path, a ``sqlite:///`` store) are relative to the directory that holds it. A value
from the environment or a flag is relative to the working directory.

    [app]
    module = "workflows_example/app.py"      # or "workflows_example.app:app"
    [store]
    url = "sqlite:///.duroxide/duroxide.db"  # or postgresql://...
    [runtime]                                # any RuntimeOptions field
    orchestration_concurrency = 8
    [log]
    level = "info"                           # DUROXIDE_LOG syntax
"""

from __future__ import annotations

import dataclasses
import os
import sys
from collections.abc import Mapping
from dataclasses import field
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from ..model.options import RuntimeOptions
from ..records import frozen_dataclass

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

CONFIG_FILE = "duroxide.toml"
DEFAULT_STORE = "sqlite:///.duroxide/duroxide.db"

_RUNTIME_FIELDS = {f.name: f for f in dataclasses.fields(RuntimeOptions)}
_SECTIONS: dict[str, set[str]] = {
    "app": {"module"},
    "store": {"url"},
    "runtime": set(_RUNTIME_FIELDS),
    "log": {"level"},
}


@frozen_dataclass
class Settings:
    """Everything a command needs to know about the project it runs in."""

    app: str | None
    """The app reference: ``path/to/app.py``, ``pkg.module`` or ``module:attr``; None if unset."""
    app_base_dir: Path
    """The directory a relative app path is resolved against."""
    store_url: str
    """The store URL."""
    store_base_dir: Path | None
    """The directory a relative ``sqlite:///`` path is resolved against (None: the working directory)."""
    runtime: Mapping[str, Any] = field(default_factory=dict)
    """``RuntimeOptions`` fields that were set, by name."""
    log: str | None = None
    """A ``DUROXIDE_LOG`` spec from the environment or ``[log] level``; None: the command's default."""
    log_source: str = "DUROXIDE_LOG"
    """Where ``log`` came from, for error messages."""
    config_path: Path | None = None
    """The ``duroxide.toml`` that was read, if any."""
    verbose: bool = False
    """``-v``: say on stderr which store (and app) the command uses."""

    def runtime_options(self, **overrides: Any) -> RuntimeOptions:
        """The RuntimeOptions these settings describe; a bad value is a ConfigError."""
        values = {**self.runtime, **{k: v for k, v in overrides.items() if v is not None}}
        try:
            return RuntimeOptions(**values)
        except (TypeError, ValueError) as error:
            raise ConfigError(f"{error} ({self._where('runtime')})") from None

    def _where(self, section: str) -> str:
        return f"[{section}] in {self.config_path}, or DUROXIDE_* variables" if self.config_path else "DUROXIDE_* variables"


def find_config(start: Path) -> Path | None:
    """The nearest ``duroxide.toml`` in ``start`` or one of its parents."""
    for directory in (start, *start.parents):
        candidate = directory / CONFIG_FILE
        if candidate.is_file():
            return candidate
    return None


def read_config(path: Path) -> dict[str, dict[str, Any]]:
    """Parse and check a ``duroxide.toml``: known sections and keys only."""
    try:
        with path.open("rb") as handle:
            data = tomllib.load(handle)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path} is not valid TOML: {error}") from None
    except UnicodeDecodeError as error:
        raise ConfigError(f"{path} is not UTF-8 text (byte 0x{error.object[error.start]:02x} at offset {error.start})") from None
    except RecursionError:
        raise ConfigError(f"{path} nests tables or arrays too deeply to read") from None
    except OSError as error:
        raise ConfigError(f"cannot read {path}: {error.strerror}") from None
    problems = []
    for section, values in data.items():
        if section not in _SECTIONS:
            problems.append(f"unknown section [{section}] (known: {', '.join(f'[{s}]' for s in _SECTIONS)})")
            continue
        if not isinstance(values, dict):
            problems.append(f"'{section}' must be a [{section}] table")
            continue
        unknown = sorted(set(values) - _SECTIONS[section])
        if unknown:
            known = ", ".join(sorted(_SECTIONS[section]))
            problems.append(f"unknown key{'s' if len(unknown) > 1 else ''} {', '.join(unknown)} in [{section}] (known: {known})")
    for section, key in (("app", "module"), ("store", "url"), ("log", "level")):
        value = data.get(section, {}).get(key) if isinstance(data.get(section), dict) else None
        if value is not None and (not isinstance(value, str) or not value):
            problems.append(f"[{section}] {key} must be a non-empty string")
    if problems:
        raise ConfigError(f"{path}: " + "; ".join(problems))
    return data


def load_settings(
    *,
    app: str | None = None,
    store: str | None = None,
    cwd: Path | None = None,
    environ: Mapping[str, str] | None = None,
) -> Settings:
    """Merge ``duroxide.toml``, the environment and the flags ``app`` and ``store``."""
    cwd = Path.cwd() if cwd is None else cwd
    environ = os.environ if environ is None else environ
    config_path = find_config(cwd)
    data = read_config(config_path) if config_path is not None else {}
    config_dir = config_path.parent if config_path is not None else None

    app_ref, app_base = data.get("app", {}).get("module"), config_dir or cwd
    for value in (environ.get("DUROXIDE_APP"), app):
        if value:
            app_ref, app_base = value, cwd

    store_url, store_base = data.get("store", {}).get("url"), config_dir
    for value in (environ.get("DUROXIDE_STORE"), store):
        if value:
            store_url, store_base = value, None
    if store_url is None:
        store_url = DEFAULT_STORE

    runtime = dict(data.get("runtime", {}))
    for name, option in _RUNTIME_FIELDS.items():
        raw = environ.get(f"DUROXIDE_{name.upper()}")
        if raw is not None and raw != "":
            runtime[name] = _parse_env(name, raw, option)

    log, log_source = environ.get("DUROXIDE_LOG"), "DUROXIDE_LOG"
    if not log and data.get("log", {}).get("level"):
        log, log_source = data["log"]["level"], f"[log] level in {config_path}"
    settings = Settings(
        app=app_ref,
        app_base_dir=app_base,
        store_url=store_url,
        store_base_dir=store_base,
        runtime=runtime,
        log=log,
        log_source=log_source,
        config_path=config_path,
    )
    settings.runtime_options()  # check the values now, with a message that says where they came from
    return settings


def _parse_env(name: str, raw: str, option: dataclasses.Field) -> Any:
    if option.type in ("str", str):
        return raw
    try:
        return int(raw.strip())
    except ValueError:
        raise ConfigError(f"DUROXIDE_{name.upper()} must be an integer, got {raw!r}") from None

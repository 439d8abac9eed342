"""``DUROXIDE_LOG``: which log records a command shows on stderr.

The syntax is the seed's ``RUST_LOG``: a comma-separated list of directives, each either a
level (``off``, ``error``, ``warn``, ``info``, ``debug``, ``trace``) for the whole ``duroxide``
tree or ``logger=level`` for one logger and its children, e.g.
``warn,duroxide.orchestration=debug,duroxide.activity=info``. A logger name without a dot
that is not ``duroxide`` is taken under ``duroxide`` (``activity=debug``); any other dotted
name (your own ``myapp.billing``) is configured as written and shown too.

Only the CLI calls this; the library itself adds no handlers and leaves levels alone.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from ..errors import ConfigError
from ..records import frozen_dataclass

TRACE = 5
"""Below DEBUG: the engine's step-by-step records."""

ROOT = "duroxide"

LEVELS: dict[str, int] = {
    "off": logging.CRITICAL + 10,
    "error": logging.ERROR,
    "warn": logging.WARNING,
    "warning": logging.WARNING,
    "info": logging.INFO,
    "debug": logging.DEBUG,
    "trace": TRACE,
}

_CONTEXT_FIELDS = (
    "instance_id",
    "execution_id",
    "orchestration_name",
    "orchestration_version",
    "activity_name",
    "activity_id",
    "worker_id",
)

_HANDLER_MARK = "_duroxide_cli_handler"
_touched: dict[str, int] = {}
"""Loggers configure_logging changed, with the level each had before."""


@frozen_dataclass
class LogSpec:
    """A parsed ``DUROXIDE_LOG``: the level of the ``duroxide`` tree and per-logger levels."""

    default: int
    loggers: tuple[tuple[str, int], ...] = ()


def parse_log_spec(spec: str | None, default: str = "warn", source: str = "DUROXIDE_LOG") -> LogSpec:
    """Parse ``spec`` (None or empty: ``default``). Raises ConfigError naming ``source`` and the bad part."""
    base = LEVELS[default]
    loggers: list[tuple[str, int]] = []
    for raw in (spec or "").split(","):
        directive = raw.strip()
        if not directive:
            continue
        if "=" in directive:
            name, _, level_text = directive.partition("=")
            name = name.strip()
            if not name:
                raise ConfigError(f"{source}: {directive!r} has no logger name before '='")
            loggers.append((_logger_name(name), _level(level_text, directive, source)))
        else:
            base = _level(directive, directive, source)
    return LogSpec(base, tuple(loggers))


def configure_logging(
    spec: str | None, default: str = "warn", handler: logging.Handler | None = None, source: str = "DUROXIDE_LOG"
) -> LogSpec:
    """Show the records ``spec`` selects through one stderr handler; returns the parsed spec.

    Calling it again replaces the handler it installed before (tests and ``run --reload``
    configure more than once in one process).
    """
    parsed = parse_log_spec(spec, default, source)
    logging.addLevelName(TRACE, "TRACE")
    handler = handler or logging.StreamHandler()
    handler.setFormatter(ContextFormatter())
    setattr(handler, _HANDLER_MARK, True)
    reset_logging()
    targets = [ROOT] + [name for name, _ in parsed.loggers if not _under_root(name)]
    for name in dict.fromkeys(targets):
        _logger(name).addHandler(handler)
    _logger(ROOT).setLevel(parsed.default)
    for name, level in parsed.loggers:
        _logger(name).setLevel(level)
    return parsed


def reset_logging() -> None:
    """Undo ``configure_logging``: remove its handlers and restore the levels it changed."""
    for name, level in _touched.items():
        logger = logging.getLogger(name)
        for handler in [h for h in logger.handlers if getattr(h, _HANDLER_MARK, False)]:
            logger.removeHandler(handler)
        logger.setLevel(level)
    _touched.clear()


def _logger(name: str) -> logging.Logger:
    logger = logging.getLogger(name)
    _touched.setdefault(name, logger.level)
    return logger


class ContextFormatter(logging.Formatter):
    """``12:00:01.234 INFO  duroxide.activity: message  instance_id=... activity_name=...``"""

    def __init__(self, time_source: Callable[[logging.LogRecord], str] | None = None) -> None:
        super().__init__()
        self._time = time_source or self._clock

    def format(self, record: logging.LogRecord) -> str:
        context = " ".join(
            f"{name}={getattr(record, name)}" for name in _CONTEXT_FIELDS if getattr(record, name, None) is not None
        )
        line = f"{self._time(record)} {record.levelname:<5} {record.name}: {record.getMessage()}"
        if context:
            line += f"  {context}"
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line

    def _clock(self, record: logging.LogRecord) -> str:
        return self.formatTime(record, "%H:%M:%S") + f".{int(record.msecs):03d}"


def _level(text: str, directive: str, source: str) -> int:
    level = LEVELS.get(text.strip().lower())
    if level is None:
        raise ConfigError(
            f"{source}: unknown level {text.strip()!r} in {directive!r}; use off, error, warn, info, debug or trace"
        )
    return level


def _logger_name(name: str) -> str:
    if name == ROOT or "." in name:
        return name
    return f"{ROOT}.{name}"


def _under_root(name: str) -> bool:
    return name == ROOT or name.startswith(ROOT + ".")

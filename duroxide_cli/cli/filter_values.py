"""The values of the instance filters (``filters``): statuses, ages and times, and the
``InstanceFilter`` they make; without typer, for ``fast_reads`` too."""

from __future__ import annotations

import re
import time
from datetime import datetime
from typing import TYPE_CHECKING

from .failures import usage_error

if TYPE_CHECKING:
    from ..providers.base import InstanceFilter, InstanceStatus

STATUSES: tuple[InstanceStatus, ...] = ("Pending", "Running", "Completed", "Failed", "Cancelled")

_AGE = re.compile(r"(\d+)(s|m|h|d)")
_UNIT_MS = {"s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000}


def instance_filter(
    statuses: list[str] | None,
    name: str | None,
    id_prefix: str | None,
    since: str | None,
    until: str | None,
    top_level: bool,
    now_ms: int | None = None,
) -> InstanceFilter:
    """The filter the options describe; a bad status, age or time is a usage error (exit 2)."""
    from ..providers.base import InstanceFilter  # the store's types: not for ``--help``

    now_ms = int(time.time() * 1000) if now_ms is None else now_ms
    return InstanceFilter(
        statuses=tuple(dict.fromkeys(parse_status(s) for text in statuses or () for s in text.split(",") if s.strip())),
        name=name,
        id_prefix=id_prefix or None,
        created_since_ms=None if since is None else parse_time(since, "--since", now_ms),
        created_until_ms=None if until is None else parse_time(until, "--until", now_ms),
        top_level=top_level,
    )


def parse_status(text: str) -> InstanceStatus:
    """A status name, in any case."""
    for status in STATUSES:
        if status.lower() == text.strip().lower():
            return status
    raise usage_error(f"--status must be one of {', '.join(STATUSES)}, got {text.strip()!r}")


def parse_time(text: str, option: str, now_ms: int) -> int:
    """Epoch milliseconds from an age (``2h``: two hours before ``now_ms``) or an ISO-8601 time
    (``2024-05-01``, ``2024-05-01T12:00:00Z``, ``...+02:00``; without an offset, local time)."""
    value = text.strip()
    age = _AGE.fullmatch(value)
    if age:
        return now_ms - int(age.group(1)) * _UNIT_MS[age.group(2)]
    try:
        moment = datetime.fromisoformat(value[:-1] + "+00:00" if value[-1:] in ("Z", "z") else value)
    except ValueError:
        raise usage_error(
            f"{option} {text!r} is neither an age (30s, 15m, 2h, 7d) nor an ISO-8601 time (2024-05-01T12:00:00Z)"
        ) from None
    return int(moment.timestamp() * 1000)  # a naive time is taken as local time

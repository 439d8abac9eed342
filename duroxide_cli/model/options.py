"""RetryPolicy and RuntimeOptions."""

from __future__ import annotations

import os
from dataclasses import field, fields
from typing import Any, Literal

from ..records import frozen_dataclass

Backoff = Literal["fixed", "linear", "exponential"]

MAX_DELAY_MS = 100 * 365 * 24 * 3600 * 1000
"""The longest timer, back-off or timeout: 100 years. Fire times stay well inside what stores and
clocks represent; an orchestration that waits "forever" waits for an event instead."""


def check_delay_ms(value: Any, what: str, minimum: int = 0) -> str | None:
    """Why ``value`` is not a usable delay in ms (an int or float from ``minimum`` to MAX_DELAY_MS), or None."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value or not minimum <= value <= MAX_DELAY_MS:
        return f"{what} must be a number of milliseconds from {minimum} to {MAX_DELAY_MS} (100 years), got {value!r}"
    return None


@frozen_dataclass
class RetryPolicy:
    """How ``schedule_activity_with_retry`` retries a failing activity."""

    max_attempts: int = 3
    """Attempts in all, the first included."""
    backoff: Backoff = "exponential"
    """How the delay grows: ``fixed``, ``linear`` (n x initial) or ``exponential`` (2^(n-1) x initial)."""
    initial_delay_ms: int = 1000
    """The delay before the second attempt."""
    max_delay_ms: int = 60000
    """No delay is longer than this."""
    timeout_ms: int | None = None
    """Bounds one attempt; a timed-out attempt counts as a failure."""
    total_timeout_ms: int | None = None
    """Bounds all attempts together, delays included."""
    non_retryable: tuple[str, ...] = ()
    """Error type names that fail at once."""

    def __post_init__(self) -> None:
        problems = []
        if not isinstance(self.max_attempts, int) or isinstance(self.max_attempts, bool) or self.max_attempts < 1:
            problems.append(f"max_attempts must be an int >= 1, got {self.max_attempts!r}")
        if self.backoff not in ("fixed", "linear", "exponential"):
            problems.append(f"backoff must be 'fixed', 'linear' or 'exponential', got {self.backoff!r}")
        for name in ("initial_delay_ms", "max_delay_ms"):
            value = getattr(self, name)
            problem = check_delay_ms(value, name) if isinstance(value, int) else f"{name} must be an int, got {value!r}"
            if problem:
                problems.append(problem)
        for name in ("timeout_ms", "total_timeout_ms"):
            value = getattr(self, name)
            if value is not None:
                problem = check_delay_ms(value, name, 1) if isinstance(value, int) else f"{name} must be an int or None, got {value!r}"
                if problem:
                    problems.append(problem)
        if problems:
            raise ValueError("invalid RetryPolicy: " + "; ".join(problems))
        object.__setattr__(self, "non_retryable", tuple(self.non_retryable))

    @classmethod
    def coerce(cls, value: RetryPolicy | dict[str, Any]) -> RetryPolicy:
        """Accept a policy or a dict of its fields."""
        if isinstance(value, RetryPolicy):
            return value
        if isinstance(value, dict):
            known = {f.name for f in fields(cls)}
            unknown = sorted(set(value) - known)
            if unknown:
                raise ValueError(f"unknown RetryPolicy keys {unknown}; known keys are {sorted(known)}")
            return cls(**value)
        raise TypeError(f"retry must be a RetryPolicy or a dict, got {type(value).__name__}")

    def delay_before(self, attempt: int) -> int:
        """The delay in ms before ``attempt`` (2, 3, ...)."""
        n = attempt - 1
        if self.backoff == "fixed":
            delay = self.initial_delay_ms
        elif self.backoff == "linear":
            delay = self.initial_delay_ms * n
        else:
            delay = self.initial_delay_ms * (2 ** (n - 1))
        return min(delay, self.max_delay_ms)


def _default_worker_id() -> str:
    import socket  # only when a runtime starts: every `duroxide` command imports this module

    return f"{socket.gethostname()}:{os.getpid()}"


@frozen_dataclass
class RuntimeOptions:
    """How a Runtime runs; every field has a default."""

    orchestration_concurrency: int = 8
    """Instances whose turns run at once."""
    activity_concurrency: int = 16
    """Activities that run at once."""
    poll_interval_ms: int = 50
    """How often other processes' writes are looked for."""
    orchestrator_lock_timeout_ms: int = 30000
    """How long a fetched instance stays locked to this process."""
    worker_lock_timeout_ms: int = 30000
    """How long a fetched activity stays locked; renewed while it runs."""
    max_delivery_attempts: int = 10
    """Fetches of one message before it is set aside as poison."""
    turn_timeout_ms: int = 10000
    """An orchestration that does not yield for this long fails."""
    worker_id: str = field(default_factory=_default_worker_id)
    """Names this process in locks and activity contexts."""
    cache_size: int = 1000
    """Live generators kept between turns; 0 replays every turn from the start."""

    def __post_init__(self) -> None:
        problems = []
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "worker_id":
                if not isinstance(value, str) or not value:
                    problems.append("worker_id must be a non-empty string")
            elif not isinstance(value, int) or isinstance(value, bool) or value < (0 if f.name == "cache_size" else 1):
                problems.append(f"{f.name} must be a positive int, got {value!r}")
        if problems:
            raise ValueError("invalid RuntimeOptions: " + "; ".join(problems))

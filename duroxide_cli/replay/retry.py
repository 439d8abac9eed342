"""A retried activity: attempts of one activity with durable back-off timers and optional timeouts.

One node to the code (so it may sit inside ``all``/``race``), a sequence of primitive nodes to the
history: each attempt is an ``ActivityScheduled`` with its attempt number, each back-off and
timeout a ``TimerCreated``.
"""

from __future__ import annotations

from typing import Any

from ..errors import ActivityError
from ..model.options import RetryPolicy
from .nodes import Activity, Node, Scheduler, Timer


class RetryActivity(Node):
    """Attempts of one activity, with durable back-off timers and optional timeouts."""

    __slots__ = (
        "engine", "name", "input", "policy", "attempt", "deadline_ms", "current", "timeout", "backoff", "limit_text", "last_error"
    )

    def __init__(self, engine: Scheduler, name: str, input: Any, policy: RetryPolicy) -> None:
        super().__init__()
        self.engine = engine
        self.name, self.input, self.policy = name, input, policy
        self.attempt = 0
        self.deadline_ms = engine.now_ms + policy.total_timeout_ms if policy.total_timeout_ms else None
        self.current: Activity | None = None
        self.timeout: Timer | None = None
        self.backoff: Timer | None = None
        self.limit_text = ""
        self.last_error: BaseException | None = None
        self._start_attempt()

    def _start_attempt(self) -> None:
        self.attempt += 1
        self.backoff = None
        self.current = Activity(self.engine, self.name, self.input, self.attempt, retrying=True)
        self.current.parent = self
        limit = self.policy.timeout_ms
        self.limit_text = f"{limit} ms"
        if self.deadline_ms is not None:
            remaining = max(self.deadline_ms - self.engine.now_ms, 0)
            if limit is None or remaining < limit:
                limit = remaining
                self.limit_text = f"the total timeout of {self.policy.total_timeout_ms} ms"
        self.timeout = None
        if limit is not None:
            self.timeout = Timer(self.engine, limit, f"created the timeout timer of attempt {self.attempt}")
            self.timeout.parent = self

    def child_settled(self, child: Node) -> None:
        if self.done:
            return
        if child is self.backoff:
            if self.deadline_ms is not None and self.engine.now_ms >= self.deadline_ms:
                self.settle(error=self.last_error)  # the back-off timer fired late, past the deadline
            else:
                self._start_attempt()
            return
        if child is self.timeout:
            assert self.current is not None
            self.current.drop(self.engine)
            error: BaseException = ActivityError(
                self.name, "TimeoutError", f"attempt {self.attempt} timed out after {self.limit_text}"
            )
        else:
            if self.timeout is not None:
                self.timeout.drop(self.engine)
            if child.error is None:
                self.settle(child.value)
                return
            error = child.error
        self._after_failure(error)

    def _after_failure(self, error: BaseException) -> None:
        self.last_error = error
        policy = self.policy
        error_type = getattr(error, "error_type", type(error).__name__)
        if self.attempt >= policy.max_attempts or error_type in policy.non_retryable:
            self.settle(error=error)
            return
        delay = policy.delay_before(self.attempt + 1)
        if self.deadline_ms is not None and self.engine.now_ms + delay >= self.deadline_ms:
            self.settle(error=error)
            return
        self.backoff = Timer(self.engine, delay, f"created the back-off timer before attempt {self.attempt + 1}")
        self.backoff.parent = self

    def drop(self, engine: Scheduler) -> None:
        for node in (self.current, self.timeout, self.backoff):
            if node is not None:
                node.drop(engine)
        self.done = True


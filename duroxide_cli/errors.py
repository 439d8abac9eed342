"""Every exception duroxide raises on purpose.

    DuroxideError
    ├── ActivityError              an activity raised; carries the original error
    ├── SubOrchestrationError      a child orchestration failed or was cancelled
    ├── NondeterminismError        replayed code diverged from the recorded history
    ├── InstanceAlreadyExistsError a start named an instance id already in use
    ├── InstanceNotFoundError      no instance has that id
    ├── InstanceRunningError       the operation needs a finished instance
    ├── WaitTimeoutError           (also a TimeoutError) waiting gave up
    ├── OrchestrationCancelled     the instance was cancelled
    ├── ProviderError              the store failed; ``retryable`` drives retries
    ├── StoreNotFoundError         a store opened with ``create=False`` does not exist
    └── ConfigError                a bad configuration value, URL or app reference

This module imports nothing from the package. Every error pickles with its fields.
"""

from __future__ import annotations


class DuroxideError(Exception):
    """Base of every error duroxide raises on purpose."""

    def __reduce__(self):  # keep fields across pickling (thread and process pools)
        return (_rebuild, (type(self), self.__dict__, self.args))


def _rebuild(cls, state, args):
    err = cls.__new__(cls)
    Exception.__init__(err, *args)
    err.__dict__.update(state)
    return err


class ActivityError(DuroxideError):
    """An activity failed; the orchestration sees this at its ``yield``."""

    def __init__(self, activity_name: str, error_type: str, message: str, details: str = ""):
        self.activity_name = activity_name
        self.error_type = error_type
        self.message = message
        self.details = details
        super().__init__(f"activity '{activity_name}' failed: {error_type}: {message}")


class SubOrchestrationError(DuroxideError):
    """A sub-orchestration failed, was cancelled, or could not start."""

    def __init__(self, name: str, instance_id: str, error_type: str, message: str, details: str = ""):
        self.name = name
        self.instance_id = instance_id
        self.error_type = error_type
        self.message = message
        self.details = details
        super().__init__(
            f"sub-orchestration '{name}' ({instance_id}) failed: {error_type}: {message}"
        )


class NondeterminismError(DuroxideError):
    """The code produced something other than what the history recorded."""

    def __init__(self, recorded: str, action: str, location: str, hint: str = ""):
        self.recorded = recorded
        self.action = action
        self.location = location
        self.hint = hint
        text = f"nondeterminism at {location}: history recorded {recorded}, but the code {action}"
        if hint:
            text += f" ({hint})"
        super().__init__(text)


class InstanceAlreadyExistsError(DuroxideError):
    """A start named an instance id that is already in use."""

    def __init__(self, instance_id: str):
        self.instance_id = instance_id
        super().__init__(
            f"instance '{instance_id}' already exists; choose another id or delete it first"
        )


class InstanceNotFoundError(DuroxideError):
    """No instance has the given id."""

    def __init__(self, instance_id: str):
        self.instance_id = instance_id
        super().__init__(f"no instance with id '{instance_id}'; check the id with `duroxide list`")


class InstanceRunningError(DuroxideError):
    """The operation needs a finished instance (or ``force=True``)."""

    def __init__(self, instance_id: str, operation: str = "delete"):
        self.instance_id = instance_id
        self.operation = operation
        super().__init__(
            f"instance '{instance_id}' is still running; cancel it first or pass force=True to {operation}"
        )


class WaitTimeoutError(DuroxideError, TimeoutError):
    """Waiting for an instance gave up before it reached a terminal status."""

    def __init__(self, instance_id: str, timeout_ms: int, status: str | None = None):
        self.instance_id = instance_id
        self.timeout_ms = timeout_ms
        self.status = status
        super().__init__(
            f"instance '{instance_id}' did not finish within {timeout_ms} ms (status: {status or 'unknown'})"
        )


class OrchestrationCancelled(DuroxideError):
    """The instance was cancelled; ``reason`` says why."""

    def __init__(self, instance_id: str, reason: str | None = None):
        self.instance_id = instance_id
        self.reason = reason
        super().__init__(f"instance '{instance_id}' was cancelled: {reason or 'no reason given'}")


class ProviderError(DuroxideError):
    """The store failed. ``retryable`` says whether trying again may succeed."""

    def __init__(self, operation: str, message: str, retryable: bool = False):
        self.operation = operation
        self.message = message
        self.retryable = retryable
        super().__init__(f"store error during {operation}: {message}")


class StoreNotFoundError(DuroxideError):
    """The store a reader asked for does not exist (no SQLite file, no PostgreSQL schema), and
    only writers create one. ``where`` names it: the file's absolute path, or the database and
    schema (without a password)."""

    def __init__(self, where: str):
        self.where = where
        super().__init__(f"no store at {where}")


class ConfigError(DuroxideError):
    """A configuration value, store URL or app reference is wrong."""

    def __init__(self, message: str):
        self.message = message
        super().__init__(message)

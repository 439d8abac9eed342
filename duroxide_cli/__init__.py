"""duroxide: durable workflows for Python.

Orchestrations are generator functions that ``yield`` durable tasks; activities are ordinary
functions that do the I/O. Everything public is exported here.
"""

from .client import Client, InstanceInfo, InstancePage, InstanceTree, OrchestrationState
from .errors import (
    ActivityError,
    ConfigError,
    DuroxideError,
    InstanceAlreadyExistsError,
    InstanceNotFoundError,
    InstanceRunningError,
    NondeterminismError,
    OrchestrationCancelled,
    ProviderError,
    SubOrchestrationError,
    WaitTimeoutError,
)
from .history import FailureDetails, HistoryEvent
from .model.context import ActivityContext, OrchestrationContext
from .model.options import RetryPolicy, RuntimeOptions
from .model.registry import Registry
from .model.tasks import RaceResult
from .providers.base import ExecutionInfo, InstanceFilter, Provider, QueueDepths, RuntimeInfo, SystemMetrics
from .providers.sqlite import SqliteProvider
from .providers.url import open_provider
from .runtime import Runtime

__version__ = "0.1.0"


def __getattr__(name: str) -> object:
    """``PostgresProvider`` is imported on first use: asyncpg is not loaded by commands that
    never touch PostgreSQL."""
    if name == "PostgresProvider":
        from .providers.postgres import PostgresProvider

        return PostgresProvider
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "ActivityContext",
    "ActivityError",
    "Client",
    "ConfigError",
    "DuroxideError",
    "ExecutionInfo",
    "FailureDetails",
    "HistoryEvent",
    "InstanceAlreadyExistsError",
    "InstanceFilter",
    "InstanceInfo",
    "InstanceNotFoundError",
    "InstancePage",
    "InstanceRunningError",
    "InstanceTree",
    "NondeterminismError",
    "OrchestrationCancelled",
    "OrchestrationContext",
    "OrchestrationState",
    "PostgresProvider",
    "Provider",
    "ProviderError",
    "QueueDepths",
    "RaceResult",
    "Registry",
    "RetryPolicy",
    "Runtime",
    "RuntimeInfo",
    "RuntimeOptions",
    "SqliteProvider",
    "SubOrchestrationError",
    "SystemMetrics",
    "WaitTimeoutError",
    "open_provider",
]

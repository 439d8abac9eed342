"""duroxide: durable workflows for Python.

Orchestrations are generator functions that ``yield`` durable tasks; activities are ordinary
functions that do the I/O. Everything public is exported here.

Names are imported on first use (PEP 562), so ``import duroxide_cli`` -- and so the start of
every ``duroxide`` command -- costs only what a caller touches.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .lazy import lazy_exports

if TYPE_CHECKING:
    from .client import Client
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
        StoreNotFoundError,
        SubOrchestrationError,
        WaitTimeoutError,
    )
    from .history import FailureDetails, HistoryEvent
    from .model.context import ActivityContext, OrchestrationContext
    from .model.options import RetryPolicy, RuntimeOptions
    from .model.registry import Registry
    from .model.tasks import RaceResult
    from .providers.base import ExecutionInfo, InstanceFilter, Provider, QueueDepths, RuntimeInfo, SystemMetrics
    from .providers.postgres import PostgresProvider
    from .providers.sqlite import SqliteProvider
    from .providers.url import open_provider
    from .runtime import Runtime
    from .states import InstanceInfo, InstancePage, InstanceTree, OrchestrationState

__version__ = "0.1.0"


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
    "StoreNotFoundError",
    "SubOrchestrationError",
    "SystemMetrics",
    "WaitTimeoutError",
    "open_provider",
]

# Where each public name lives. The names are imported on first use (PEP 562), so that
# ``import duroxide_cli`` -- and every ``duroxide`` command, which imports it as the package's
# parent -- does not pay for the runtime, the stores and the replay engine it may not need.
_EXPORTS: dict[str, str] = {
    "ActivityContext": ".model.context",
    "ActivityError": ".errors",
    "Client": ".client",
    "ConfigError": ".errors",
    "DuroxideError": ".errors",
    "ExecutionInfo": ".providers.base",
    "FailureDetails": ".history",
    "HistoryEvent": ".history",
    "InstanceAlreadyExistsError": ".errors",
    "InstanceFilter": ".providers.base",
    "InstanceInfo": ".states",
    "InstanceNotFoundError": ".errors",
    "InstancePage": ".states",
    "InstanceRunningError": ".errors",
    "InstanceTree": ".states",
    "NondeterminismError": ".errors",
    "OrchestrationCancelled": ".errors",
    "OrchestrationContext": ".model.context",
    "OrchestrationState": ".states",
    "PostgresProvider": ".providers.postgres",
    "Provider": ".providers.base",
    "ProviderError": ".errors",
    "QueueDepths": ".providers.base",
    "RaceResult": ".model.tasks",
    "Registry": ".model.registry",
    "RetryPolicy": ".model.options",
    "Runtime": ".runtime",
    "RuntimeInfo": ".providers.base",
    "RuntimeOptions": ".model.options",
    "SqliteProvider": ".providers.sqlite",
    "StoreNotFoundError": ".errors",
    "SubOrchestrationError": ".errors",
    "SystemMetrics": ".providers.base",
    "WaitTimeoutError": ".errors",
    "open_provider": ".providers.url",
}


__getattr__ = lazy_exports(__name__, globals(), _EXPORTS)


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))

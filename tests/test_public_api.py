"""The public surface is exactly what duroxide_cli exports, sorted."""

import duroxide_cli

DOCUMENTED = {
    # programming model
    "Registry", "Runtime", "RuntimeOptions", "RetryPolicy", "Client",
    "OrchestrationContext", "ActivityContext", "RaceResult",
    # stores
    "Provider", "SqliteProvider", "PostgresProvider", "open_provider",
    # results
    "OrchestrationState", "FailureDetails", "HistoryEvent", "InstanceInfo", "ExecutionInfo",
    "InstanceTree", "SystemMetrics", "QueueDepths", "InstanceFilter", "InstancePage", "RuntimeInfo",
    # errors
    "DuroxideError", "ActivityError", "SubOrchestrationError", "NondeterminismError",
    "InstanceAlreadyExistsError", "InstanceNotFoundError", "InstanceRunningError", "WaitTimeoutError",
    "OrchestrationCancelled", "ProviderError", "StoreNotFoundError", "ConfigError",
}


def test_all_is_sorted_and_matches_the_documented_names():
    exported = set(duroxide_cli.__all__)
    assert duroxide_cli.__all__ == sorted(duroxide_cli.__all__)
    assert exported == DOCUMENTED


def test_every_exported_name_exists():
    for name in duroxide_cli.__all__:
        assert getattr(duroxide_cli, name) is not None


def test_errors_pickle_with_their_fields():
    import pickle

    error = duroxide_cli.ActivityError("Charge", "ValueError", "declined", "tb")
    copy = pickle.loads(pickle.dumps(error))
    assert (copy.activity_name, copy.error_type, copy.message, copy.details) == ("Charge", "ValueError", "declined", "tb")
    assert str(copy) == str(error)
    timeout = pickle.loads(pickle.dumps(duroxide_cli.WaitTimeoutError("i", 5, "Running")))
    assert isinstance(timeout, TimeoutError) and timeout.instance_id == "i"
    missing = pickle.loads(pickle.dumps(duroxide_cli.StoreNotFoundError("/tmp/x.db")))
    assert missing.where == "/tmp/x.db" and str(missing) == "no store at /tmp/x.db"

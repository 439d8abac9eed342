"""RetryPolicy and RuntimeOptions: checked when built, all problems in one error."""

from __future__ import annotations

import dataclasses
import os
import socket
import sys

import pytest

from duroxide_cli.model.options import MAX_DELAY_MS, RetryPolicy, RuntimeOptions


def test_retry_policy_defaults():
    policy = RetryPolicy()
    assert (policy.max_attempts, policy.backoff, policy.initial_delay_ms, policy.max_delay_ms) == (
        3,
        "exponential",
        1000,
        60000,
    )
    assert (policy.timeout_ms, policy.total_timeout_ms, policy.non_retryable) == (None, None, ())


@pytest.mark.parametrize(
    ("backoff", "delays"),
    [
        ("fixed", [500, 500, 500, 500]),
        ("linear", [500, 1000, 1500, 2000]),
        ("exponential", [500, 1000, 2000, 4000]),
    ],
)
def test_delay_before_each_attempt(backoff, delays):
    policy = RetryPolicy(max_attempts=5, backoff=backoff, initial_delay_ms=500)
    assert [policy.delay_before(attempt) for attempt in range(2, 6)] == delays


@pytest.mark.parametrize("backoff", ["fixed", "linear", "exponential"])
def test_delays_are_capped_by_max_delay(backoff):
    policy = RetryPolicy(max_attempts=50, backoff=backoff, initial_delay_ms=1000, max_delay_ms=1500)
    assert max(policy.delay_before(attempt) for attempt in range(2, 50)) <= 1500
    assert policy.delay_before(40) == (1000 if backoff == "fixed" else 1500)


def test_zero_initial_delay_retries_at_once():
    assert RetryPolicy(initial_delay_ms=0).delay_before(3) == 0


@pytest.mark.parametrize(
    ("kwargs", "problem"),
    [
        ({"max_attempts": 0}, "max_attempts must be an int >= 1, got 0"),
        ({"max_attempts": "3"}, "max_attempts must be an int >= 1, got '3'"),
        ({"backoff": "random"}, "backoff must be 'fixed', 'linear' or 'exponential', got 'random'"),
        ({"initial_delay_ms": -1}, f"initial_delay_ms must be a number of milliseconds from 0 to {MAX_DELAY_MS} (100 years), got -1"),
        ({"max_delay_ms": 1.5}, "max_delay_ms must be an int, got 1.5"),
        ({"timeout_ms": 0}, f"timeout_ms must be a number of milliseconds from 1 to {MAX_DELAY_MS} (100 years), got 0"),
        ({"total_timeout_ms": -5}, f"total_timeout_ms must be a number of milliseconds from 1 to {MAX_DELAY_MS} (100 years), got -5"),
        ({"timeout_ms": sys.maxsize}, f"timeout_ms must be a number of milliseconds from 1 to {MAX_DELAY_MS} (100 years), got {sys.maxsize}"),
        ({"max_delay_ms": 2**70}, f"max_delay_ms must be a number of milliseconds from 0 to {MAX_DELAY_MS} (100 years), got {2**70}"),
    ],
)
def test_invalid_retry_policy_says_what_is_wrong(kwargs, problem):
    with pytest.raises(ValueError) as info:
        RetryPolicy(**kwargs)
    assert str(info.value) == f"invalid RetryPolicy: {problem}"


def test_every_retry_policy_problem_is_reported_at_once():
    with pytest.raises(ValueError) as info:
        RetryPolicy(max_attempts=0, backoff="soon", timeout_ms=-1)
    message = str(info.value)
    assert message.count(";") == 2
    assert "max_attempts" in message and "backoff" in message and "timeout_ms" in message


def test_non_retryable_becomes_a_tuple():
    policy = RetryPolicy(non_retryable=["CardDeclined", "KeyError"])
    assert policy.non_retryable == ("CardDeclined", "KeyError")
    hash(policy)  # frozen and hashable, so it may sit in a frozen task


def test_retry_policy_is_immutable():
    with pytest.raises(dataclasses.FrozenInstanceError):
        RetryPolicy().max_attempts = 9  # type: ignore[misc]


def test_coerce_accepts_a_policy_as_it_is():
    policy = RetryPolicy(max_attempts=7)
    assert RetryPolicy.coerce(policy) is policy


def test_coerce_turns_a_dict_into_a_policy():
    policy = RetryPolicy.coerce({"max_attempts": 5, "backoff": "linear", "non_retryable": ["KeyError"]})
    assert policy == RetryPolicy(max_attempts=5, backoff="linear", non_retryable=("KeyError",))


def test_coerce_rejects_unknown_keys_and_lists_the_known_ones():
    with pytest.raises(ValueError) as info:
        RetryPolicy.coerce({"attempts": 5, "max_attempts": 2})
    assert str(info.value).startswith(
        "unknown RetryPolicy keys ['attempts']; known keys are ['backoff', 'initial_delay_ms'"
    )


def test_coerce_validates_dict_values():
    with pytest.raises(ValueError, match="max_attempts must be an int >= 1"):
        RetryPolicy.coerce({"max_attempts": -1})


@pytest.mark.parametrize("value", [3, None, [("max_attempts", 3)]])
def test_coerce_rejects_other_types(value):
    with pytest.raises(TypeError, match=f"retry must be a RetryPolicy or a dict, got {type(value).__name__}"):
        RetryPolicy.coerce(value)


def test_runtime_options_defaults():
    options = RuntimeOptions()
    assert options.max_delivery_attempts == 10
    assert options.worker_lock_timeout_ms == 30000
    assert options.turn_timeout_ms == 10000
    assert options.worker_id == f"{socket.gethostname()}:{os.getpid()}"


def test_runtime_options_cache_size_zero_turns_the_cache_off():
    assert RuntimeOptions(cache_size=0).cache_size == 0


@pytest.mark.parametrize(
    ("kwargs", "problem"),
    [
        ({"orchestration_concurrency": 0}, "orchestration_concurrency must be a positive int, got 0"),
        ({"activity_concurrency": True}, "activity_concurrency must be a positive int, got True"),
        ({"poll_interval_ms": 2.5}, "poll_interval_ms must be a positive int, got 2.5"),
        ({"cache_size": -1}, "cache_size must be a positive int, got -1"),
        ({"worker_id": ""}, "worker_id must be a non-empty string"),
    ],
)
def test_invalid_runtime_options_say_what_is_wrong(kwargs, problem):
    with pytest.raises(ValueError) as info:
        RuntimeOptions(**kwargs)
    assert str(info.value) == f"invalid RuntimeOptions: {problem}"

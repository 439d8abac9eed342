"""The errors the replay engine raises carry their fields, read well and survive pickling."""

from __future__ import annotations

import pickle

import pytest

from duroxide_cli.errors import ActivityError, DuroxideError, NondeterminismError, SubOrchestrationError

ERRORS = [
    ActivityError("Charge", "CardDeclined", "no funds", "Traceback ..."),
    SubOrchestrationError("Payment", "order-1::1::4", "ActivityError", "activity 'Charge' failed", "tb"),
    NondeterminismError("ActivityScheduled 'A' (event 2)", "scheduled activity 'B'", "app.py:12", "hint"),
]


@pytest.mark.parametrize("error", ERRORS, ids=lambda e: type(e).__name__)
def test_error_pickles_with_its_fields_and_message(error):
    back = pickle.loads(pickle.dumps(error))
    assert type(back) is type(error)
    assert vars(back) == vars(error)
    assert str(back) == str(error)
    assert isinstance(back, DuroxideError)


def test_nondeterminism_message_names_recorded_event_action_and_location_on_one_line():
    error = ERRORS[2]
    assert str(error) == (
        "nondeterminism at app.py:12: history recorded ActivityScheduled 'A' (event 2), but the code scheduled activity 'B' (hint)"
    )


def test_sub_orchestration_error_message_includes_the_childs_error():
    assert (
        str(ERRORS[1]) == "sub-orchestration 'Payment' (order-1::1::4) failed: ActivityError: activity 'Charge' failed"
    )

"""The orchestrations of order processing.

``ProcessOrder`` validates an order, asks for approval when it is large (an ``Approval``
event raced against a timer), reserves every line item at once (fan-out), charges the card
with retries, ships through the ``ShipOrder`` sub-orchestration and, if a step fails after
something was done, undoes the finished steps in reverse order (a saga) before failing. A
cancel (``duroxide cancel``) is compensated the same way: the pending step raises
``OrchestrationCancelled``, the finished steps are undone, and the order ends Cancelled.
``InventoryMonitor`` runs forever, one short execution per check (continue-as-new).

Orchestrations are generators: every ``yield`` is a durable step recorded in the history, and
the code is replayed against that history after a restart. So the code must make the same
decisions on replay: it reads only its input and the results of earlier steps.
"""

from __future__ import annotations

from duroxide_cli import ActivityError, OrchestrationCancelled, Registry, RetryPolicy, SubOrchestrationError

registry = Registry()

APPROVAL_LIMIT = 1000
"""Orders of this total or more need a manager's approval."""

DEFAULT_APPROVAL_TIMEOUT_MS = 24 * 3600 * 1000

PAYMENT_RETRY = RetryPolicy(
    max_attempts=4, backoff="exponential", initial_delay_ms=200, max_delay_ms=5000, non_retryable=("PaymentDeclined",)
)


class OrderFailed(Exception):
    """The order could not be completed; what was done has been undone."""


@registry.orchestration("ProcessOrder")
def process_order(ctx, order):
    """Validate, approve, reserve, charge, ship -- or compensate and fail (or, on a cancel, end cancelled)."""
    ctx.set_custom_status({"stage": "validating"})
    validated = yield ctx.schedule_activity("ValidateOrder", order)
    order_id, email = validated["order_id"], validated["customer"]["email"]

    if validated["total"] >= APPROVAL_LIMIT:
        decision = yield from await_approval(ctx, validated, order.get("approval_timeout_ms", DEFAULT_APPROVAL_TIMEOUT_MS))
        if not decision["approved"]:
            yield ctx.schedule_activity("NotifyCustomer", {"email": email, "text": f"order {order_id} was not approved"})
            return {"order_id": order_id, "status": "rejected", "reason": decision["reason"]}

    undo = []  # (compensating activity, its input), in the order the steps were done
    try:
        ctx.set_custom_status({"stage": "reserving inventory"})
        results = yield ctx.all(
            [
                ctx.schedule_activity("ReserveInventory", {"order_id": order_id, "sku": i["sku"], "quantity": i["quantity"]})
                for i in validated["items"]
            ],
            return_exceptions=True,
        )
        undo += [("ReleaseInventory", r) for r in results if not isinstance(r, Exception)]
        failures = [r for r in results if isinstance(r, Exception)]
        if failures:
            raise failures[0]

        ctx.set_custom_status({"stage": "charging payment"})
        payment = order.get("payment", {})
        charge = {
            "order_id": order_id,
            "card": payment.get("card", ""),
            "amount": validated["total"],
            "simulate_failures": payment.get("simulate_failures", 0),
        }
        paid = yield ctx.schedule_activity_with_retry("ChargePayment", charge, PAYMENT_RETRY)
        undo.append(("RefundPayment", paid))

        ctx.set_custom_status({"stage": "shipping"})
        shipping = order.get("shipping", {})
        shipped = yield ctx.schedule_sub_orchestration(
            "ShipOrder",
            {
                "order_id": order_id,
                "address": shipping.get("address"),
                "items": validated["items"],
                "pickup_delay_ms": shipping.get("pickup_delay_ms", 1000),
            },
        )
    except (ActivityError, SubOrchestrationError, OrchestrationCancelled) as error:
        # a cancel lands on the step in progress (its work is cancelled too); the finished ones are undone
        ctx.set_custom_status({"stage": "compensating", "error": str(error)})
        for activity, data in reversed(undo):
            yield ctx.schedule_activity(activity, data)
        yield ctx.schedule_activity("NotifyCustomer", {"email": email, "text": f"order {order_id} failed: {error}"})
        if isinstance(error, OrchestrationCancelled):
            raise error  # the order ends Cancelled, with the reason it was given
        undone = ", ".join(activity for activity, _ in reversed(undo)) or "nothing to undo"
        raise OrderFailed(f"order {order_id} failed: {error} (compensated: {undone})") from None

    ctx.set_custom_status({"stage": "done"})
    yield ctx.schedule_activity(
        "NotifyCustomer", {"email": email, "text": f"order {order_id} shipped, tracking {shipped['tracking_number']}"}
    )
    return {
        "order_id": order_id,
        "status": "completed",
        "total": validated["total"],
        "payment_id": paid["payment_id"],
        "payment_attempts": paid["attempt"],
        "reservations": [r["reservation_id"] for r in results],
        "tracking_number": shipped["tracking_number"],
        "carrier": shipped["carrier"],
    }


def await_approval(ctx, order, timeout_ms):
    """Ask for approval and wait for an ``Approval`` event ({"approved": bool, "reason": str})
    or the timeout, whichever comes first. A helper generator, used with ``yield from``."""
    ctx.set_custom_status({"stage": "awaiting approval", "total": order["total"], "limit": APPROVAL_LIMIT})
    yield ctx.schedule_activity("RequestApproval", order)
    winner = yield ctx.race(ctx.wait_for_event("Approval"), ctx.schedule_timer(timeout_ms))
    if winner.index == 1:
        return {"approved": False, "reason": f"no approval within {timeout_ms} ms"}
    decision = winner.value if isinstance(winner.value, dict) else {"approved": bool(winner.value)}
    approved = bool(decision.get("approved"))
    return {"approved": approved, "reason": decision.get("reason") or ("approved" if approved else "rejected by a manager")}


@registry.orchestration("ShipOrder")
def ship_order(ctx, shipment):
    """Buy a label, wait for the carrier's pickup window (a durable timer), confirm pickup."""
    tracking_number = yield ctx.new_guid()
    label = yield ctx.schedule_activity("CreateShipment", {**shipment, "tracking_number": tracking_number})
    yield ctx.schedule_timer(shipment.get("pickup_delay_ms", 1000))
    yield ctx.schedule_activity("ConfirmPickup", label)
    return {"tracking_number": tracking_number, "carrier": label["carrier"], "label_id": label["label_id"]}


@registry.orchestration("InventoryMonitor")
def inventory_monitor(ctx, state):
    """Check stock levels, reorder what runs low, sleep, and start over as a fresh execution
    (continue-as-new keeps the history short however long it runs). Stops after
    ``max_checks`` checks when that is given."""
    state = dict(state or {})
    checks = state.get("checks", 0) + 1
    skus = state.get("skus", ["WIDGET-1", "GADGET-7", "CABLE-3", "SPROCKET-9"])
    levels = yield ctx.schedule_activity("CheckStock", skus)
    low = sorted(sku for sku, units in levels.items() if units < state.get("threshold", 10))
    if low:
        yield ctx.schedule_activity("ReorderStock", {"skus": low})
    ctx.set_custom_status({"checks": checks, "low": low})
    if state.get("max_checks") and checks >= state["max_checks"]:
        return {"checks": checks, "last_low": low}
    yield ctx.schedule_timer(state.get("interval_ms", 60_000))
    yield ctx.continue_as_new({**state, "checks": checks})

"""The example app, run by a real runtime on an in-memory SQLite store."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from duroxide_cli import Client, Runtime, RuntimeOptions
from duroxide_cli.providers.url import open_provider
from duroxide_cli.replay.check import check_history, orchestration_for
from workflows_example.app import app

EXAMPLE = Path(__file__).parents[1]


def sample(name: str = "order.json", **changes) -> dict:
    order = json.loads((EXAMPLE / name).read_text())
    order.update(changes)
    return order


@pytest.fixture
async def client():
    provider = await open_provider("sqlite://:memory:")
    runtime = Runtime(provider, registry=app, options=RuntimeOptions(poll_interval_ms=10))
    await runtime.start()
    try:
        yield Client(provider)
    finally:
        await runtime.shutdown(timeout_ms=2000)
        await provider.close()


async def run(client: Client, instance_id: str, name: str, input) -> object:
    await client.start_orchestration(instance_id, name, input)
    return await client.wait_for_orchestration(instance_id, timeout_ms=20_000)


async def activity_names(client: Client, instance_id: str) -> list[str]:
    return [e.body.name for e in await client.read_history(instance_id) if e.kind == "ActivityScheduled"]


async def test_the_sample_order_completes_after_one_payment_retry(client: Client):
    state = await run(client, "o-1", "ProcessOrder", sample())
    assert state.status == "Completed", state.error
    assert state.output["status"] == "completed" and state.output["total"] == 100.75
    assert state.output["payment_attempts"] == 2
    assert len(state.output["reservations"]) == 3 and state.output["tracking_number"]
    names = await activity_names(client, "o-1")
    assert names.count("ChargePayment") == 2 and names.count("ReserveInventory") == 3
    assert "RequestApproval" not in names  # small orders are approved automatically


async def test_a_large_order_waits_for_approval(client: Client):
    await client.start_orchestration("o-2", "ProcessOrder", sample("samples/large_order.json"))
    await client.raise_event("o-2", "Approval", {"approved": True, "reason": "regular customer"})
    state = await client.wait_for_orchestration("o-2", timeout_ms=20_000)
    assert state.status == "Completed" and state.output["status"] == "completed"
    assert "RequestApproval" in await activity_names(client, "o-2")


async def test_a_large_order_is_rejected_when_approval_times_out(client: Client):
    state = await run(client, "o-3", "ProcessOrder", sample("samples/large_order.json", approval_timeout_ms=100))
    assert state.output == {"order_id": "B-2002", "status": "rejected", "reason": "no approval within 100 ms"}
    assert "ChargePayment" not in await activity_names(client, "o-3")


async def test_a_manager_can_reject_a_large_order(client: Client):
    await client.start_orchestration("o-4", "ProcessOrder", sample("samples/large_order.json"))
    await client.raise_event("o-4", "Approval", {"approved": False})
    state = await client.wait_for_orchestration("o-4", timeout_ms=20_000)
    assert state.output["status"] == "rejected" and state.output["reason"] == "rejected by a manager"


async def test_a_declined_card_releases_the_reservations_and_fails_the_order(client: Client):
    state = await run(client, "o-5", "ProcessOrder", sample("samples/declined_card.json"))
    assert state.status == "Failed"
    assert state.failure.error_type == "OrderFailed" and "declined" in state.error
    names = await activity_names(client, "o-5")
    assert names.count("ChargePayment") == 1  # PaymentDeclined is not retried
    assert names.count("ReleaseInventory") == 2 and "RefundPayment" not in names


async def test_an_out_of_stock_item_releases_the_others(client: Client):
    order = sample()
    order["items"].append({"sku": "UNOBTAINIUM", "quantity": 1, "unit_price": 1.0})
    state = await run(client, "o-6", "ProcessOrder", order)
    assert state.status == "Failed" and "OutOfStock" in state.error
    names = await activity_names(client, "o-6")
    assert names.count("ReleaseInventory") == 3 and "ChargePayment" not in names


async def test_a_shipping_failure_refunds_and_releases_in_reverse_order(client: Client):
    order = sample()
    order["shipping"] = {"address": "", "pickup_delay_ms": 10}
    state = await run(client, "o-7", "ProcessOrder", order)
    assert state.status == "Failed" and "ShipOrder" in state.error
    names = await activity_names(client, "o-7")
    compensations = [n for n in names if n in ("RefundPayment", "ReleaseInventory")]
    assert compensations == ["RefundPayment", "ReleaseInventory", "ReleaseInventory", "ReleaseInventory"]


async def test_a_cancelled_order_refunds_releases_and_cancels_its_shipment(client: Client):
    order = sample()
    order["shipping"]["pickup_delay_ms"] = 60_000
    await client.start_orchestration("o-10", "ProcessOrder", order)
    for _ in range(400):
        state = await client.get_status("o-10")
        if (state.custom_status or {}).get("stage") == "shipping":
            break
        await asyncio.sleep(0.025)
    await client.cancel_instance("o-10", "customer changed their mind")
    state = await client.wait_for_orchestration("o-10", timeout_ms=20_000)
    assert state.status == "Cancelled" and state.error == "customer changed their mind"
    assert state.failure.error_type == "OrchestrationCancelled"
    names = await activity_names(client, "o-10")
    compensations = [n for n in names if n in ("RefundPayment", "ReleaseInventory")]
    assert compensations == ["RefundPayment", "ReleaseInventory", "ReleaseInventory", "ReleaseInventory"]
    assert names[-1] == "NotifyCustomer"
    (shipment,) = (await client.get_instance_tree("o-10")).children
    assert shipment.state.status == "Cancelled"


async def test_a_terminated_order_compensates_nothing(client: Client):
    order = sample()
    order["shipping"]["pickup_delay_ms"] = 60_000
    await client.start_orchestration("o-11", "ProcessOrder", order)
    for _ in range(400):
        if ((await client.get_status("o-11")).custom_status or {}).get("stage") == "shipping":
            break
        await asyncio.sleep(0.025)
    await client.terminate_instance("o-11", "runaway")
    state = await client.wait_for_orchestration("o-11", timeout_ms=20_000)
    assert state.status == "Cancelled" and state.failure.error_type == "Terminated"
    assert "RefundPayment" not in await activity_names(client, "o-11")


async def test_an_invalid_order_fails_without_compensation(client: Client):
    state = await run(client, "o-8", "ProcessOrder", {"order_id": "bad", "customer": {}, "items": []})
    assert state.status == "Failed" and "InvalidOrder" in state.error
    assert await activity_names(client, "o-8") == ["ValidateOrder"]


async def test_the_inventory_monitor_continues_as_new_and_reorders_low_stock(client: Client):
    state = await run(client, "monitor", "InventoryMonitor", {"interval_ms": 10, "max_checks": 3, "threshold": 10})
    assert state.status == "Completed" and state.execution_id == 3
    assert state.output == {"checks": 3, "last_low": ["SPROCKET-9"]}
    assert "ReorderStock" in await activity_names(client, "monitor")


async def test_a_finished_order_replays_consistently_against_the_current_code(client: Client):
    await run(client, "o-9", "ProcessOrder", sample())
    events = await client.read_history("o-9")
    _, _, fn = orchestration_for(app, events)
    report = check_history(fn, events, instance_id="o-9")
    assert report.consistent and report.replayed_outcome == "Completed"

"""The activities of order processing: the I/O, simulated.

Activities are ordinary functions (``async def``, or a plain ``def`` that runs in a thread
pool). They may fail, be retried and run more than once, so each one should be safe to repeat;
their results are recorded in the orchestration's history.
"""

from __future__ import annotations

import asyncio
import threading
import time

from duroxide_cli import Registry

registry = Registry()

LATENCY_S = 0.01
"""Every simulated call takes this long."""

_stock_lock = threading.Lock()
STOCK: dict[str, int] = {"WIDGET-1": 500, "GADGET-7": 120, "CABLE-3": 2000, "SPROCKET-9": 8}
"""Units on hand per SKU: an in-memory stand-in for a warehouse system."""

DECLINED_CARDS = {"4000 0000 0000 0002"}


class InvalidOrder(Exception):
    """The order cannot be processed as submitted."""


class OutOfStock(Exception):
    """Not enough units of a SKU."""


class PaymentDeclined(Exception):
    """The card issuer refused the charge; retrying will not help."""


class PaymentGatewayTimeout(Exception):
    """A transient gateway failure; retrying usually helps."""


@registry.activity("ValidateOrder")
def validate_order(ctx, order):
    """Check the order's shape and compute its total (a plain def: runs in a thread pool)."""
    problems = []
    if not order.get("order_id"):
        problems.append("it has no order_id")
    if not order.get("customer", {}).get("email"):
        problems.append("the customer has no email")
    items = order.get("items") or []
    if not items:
        problems.append("it has no items")
    for index, item in enumerate(items):
        if not item.get("sku") or item.get("quantity", 0) <= 0 or item.get("unit_price", -1) < 0:
            problems.append(f"item {index} needs a sku, a positive quantity and a unit_price")
    if problems:
        raise InvalidOrder("; ".join(problems))
    time.sleep(LATENCY_S)
    total = round(sum(item["quantity"] * item["unit_price"] for item in items), 2)
    return {
        "order_id": order["order_id"],
        "customer": order["customer"],
        "items": [{"sku": i["sku"], "quantity": i["quantity"], "unit_price": i["unit_price"]} for i in items],
        "total": total,
    }


@registry.activity("RequestApproval")
async def request_approval(ctx, order):
    """Ask a manager to approve a large order (they answer with an Approval event)."""
    await asyncio.sleep(LATENCY_S)
    ctx.trace_info(f"approval requested for {order['order_id']} ({order['total']})")
    return {"requested": True, "instance_id": ctx.instance_id}


@registry.activity("ReserveInventory")
async def reserve_inventory(ctx, request):
    """Hold units of one SKU for an order."""
    await asyncio.sleep(LATENCY_S)
    sku, quantity = request["sku"], request["quantity"]
    with _stock_lock:
        on_hand = STOCK.get(sku, 0)
        if on_hand < quantity:
            raise OutOfStock(f"{sku}: {quantity} wanted, {on_hand} on hand")
        STOCK[sku] = on_hand - quantity
    return {"reservation_id": f"res-{request['order_id']}-{sku}", "sku": sku, "quantity": quantity}


@registry.activity("ReleaseInventory")
async def release_inventory(ctx, reservation):
    """Compensation: give reserved units back."""
    await asyncio.sleep(LATENCY_S)
    with _stock_lock:
        STOCK[reservation["sku"]] = STOCK.get(reservation["sku"], 0) + reservation["quantity"]
    return {"released": reservation["reservation_id"]}


@registry.activity("ChargePayment")
async def charge_payment(ctx, payment):
    """Charge the card. ``simulate_failures`` makes the first attempts time out."""
    await asyncio.sleep(LATENCY_S)
    if ctx.attempt <= payment.get("simulate_failures", 0):
        raise PaymentGatewayTimeout(f"the payment gateway timed out (attempt {ctx.attempt})")
    if payment["card"] in DECLINED_CARDS:
        raise PaymentDeclined(f"card ending {payment['card'][-4:]} was declined")
    return {"payment_id": f"pay-{payment['order_id']}", "amount": payment["amount"], "attempt": ctx.attempt}


@registry.activity("RefundPayment")
async def refund_payment(ctx, payment):
    """Compensation: refund a charge."""
    await asyncio.sleep(LATENCY_S)
    return {"refunded": payment["payment_id"], "amount": payment["amount"]}


@registry.activity("CreateShipment")
async def create_shipment(ctx, shipment):
    """Buy a shipping label."""
    await asyncio.sleep(LATENCY_S)
    if not shipment.get("address"):
        raise ValueError(f"order {shipment['order_id']} has no shipping address")
    return {"label_id": f"lbl-{shipment['tracking_number'][:8]}", "carrier": "ACME Freight"}


@registry.activity("ConfirmPickup")
async def confirm_pickup(ctx, label):
    """The carrier scanned the parcel."""
    await asyncio.sleep(LATENCY_S)
    return {"label_id": label["label_id"], "picked_up": True}


@registry.activity("NotifyCustomer")
async def notify_customer(ctx, message):
    """Send the customer an email (logged here)."""
    await asyncio.sleep(LATENCY_S)
    ctx.trace_info(f"to {message['email']}: {message['text']}")
    return {"sent_to": message["email"]}


@registry.activity("CheckStock")
async def check_stock(ctx, skus):
    """Units on hand for each SKU."""
    await asyncio.sleep(LATENCY_S)
    with _stock_lock:
        return {sku: STOCK.get(sku, 0) for sku in skus}


@registry.activity("ReorderStock")
async def reorder_stock(ctx, request):
    """Place a purchase order with the supplier."""
    await asyncio.sleep(LATENCY_S)
    return {"purchase_order": f"po-{'-'.join(request['skus'])}", "skus": request["skus"]}

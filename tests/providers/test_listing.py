"""Listing instances by filter, counting them, and paging through them by cursor."""

from __future__ import annotations

import asyncio

import pytest

from duroxide_cli.history import OrchestrationCompleted, OrchestrationStarted
from duroxide_cli.providers.base import InstanceFilter, InstanceUpdate

from .builders import create, fetch_one, start_message, turn


async def _finish(provider, instance_id: str) -> None:
    work = await fetch_one(provider, instance_id)
    update = InstanceUpdate("Completed", "1.0.0", output="done")
    started = OrchestrationStarted("Flow", "1.0.0")
    await provider.commit_turns([turn(work, started, OrchestrationCompleted("done"), update=update)])


async def _ids(provider, filter: InstanceFilter) -> list[str]:
    return [r.instance_id for r in await provider.list_instances(filter=filter)]


async def _page_through(provider, filter: InstanceFilter | None, limit: int) -> list[list[str]]:
    pages, cursor = [], None
    while True:
        page = await provider.list_instances_page(filter, limit, cursor)
        pages.append([r.instance_id for r in page.records])
        if page.next_cursor is None:
            return pages
        cursor = page.next_cursor


async def test_a_filter_combines_statuses_name_prefix_and_parentage(provider):
    await create(provider, "order-1", name="Order")
    await _finish(provider, "order-1")
    await create(provider, "order-2", name="Order")
    await create(provider, "refund-1", name="Refund")
    await provider.create_instance(start_message("order-2::1::3", name="Ship", parent_instance_id="order-2"))
    assert await _ids(provider, InstanceFilter(statuses=("Completed", "Pending"), name="Order")) == ["order-2", "order-1"]
    assert await _ids(provider, InstanceFilter(statuses=("Completed",))) == ["order-1"]
    assert await _ids(provider, InstanceFilter(id_prefix="order-")) == ["order-2::1::3", "order-2", "order-1"]
    assert await _ids(provider, InstanceFilter(id_prefix="order-", top_level=True)) == ["order-2", "order-1"]
    assert await _ids(provider, InstanceFilter(id_prefix="ORDER")) == []
    assert await _ids(provider, InstanceFilter()) == ["order-2::1::3", "refund-1", "order-2", "order-1"]
    assert [r.instance_id for r in await provider.list_instances(status="Pending", filter=InstanceFilter(name="Order"))] == ["order-2"]


async def test_an_id_prefix_is_taken_literally(provider):
    for instance_id in ("a%b-1", "axb-1", "a_b-1"):
        await create(provider, instance_id)
    assert await _ids(provider, InstanceFilter(id_prefix="a%")) == ["a%b-1"]
    assert await _ids(provider, InstanceFilter(id_prefix="a_")) == ["a_b-1"]


async def test_creation_time_bounds_are_since_inclusive_and_until_exclusive(provider):
    await create(provider, "old")
    await asyncio.sleep(0.01)
    await create(provider, "new")
    old, new = (await provider.get_instance("old")), (await provider.get_instance("new"))
    assert old.created_at_ms < new.created_at_ms
    assert await _ids(provider, InstanceFilter(created_since_ms=new.created_at_ms)) == ["new"]
    assert await _ids(provider, InstanceFilter(created_until_ms=new.created_at_ms)) == ["old"]
    both = InstanceFilter(created_since_ms=old.created_at_ms, created_until_ms=new.created_at_ms + 1)
    assert await _ids(provider, both) == ["new", "old"]


async def test_count_matches_the_listing_without_a_limit(provider):
    for n in range(5):
        await create(provider, f"i-{n}", name="Even" if n % 2 == 0 else "Odd")
    assert await provider.count_instances() == 5
    assert await provider.count_instances(InstanceFilter(name="Even")) == 3
    assert await provider.count_instances(InstanceFilter(name="Even", id_prefix="i-4")) == 1
    assert await provider.count_instances(InstanceFilter(statuses=("Failed",))) == 0


async def test_pages_cover_every_match_once_in_order(provider):
    for n in range(7):
        await create(provider, f"i-{n}")
    pages = await _page_through(provider, None, 3)
    assert pages == [["i-6", "i-5", "i-4"], ["i-3", "i-2", "i-1"], ["i-0"]]
    exact = await _page_through(provider, None, 7)
    assert exact == [["i-6", "i-5", "i-4", "i-3", "i-2", "i-1", "i-0"]]


async def test_instances_created_while_paging_do_not_shift_the_next_page(provider):
    for n in range(6):
        await create(provider, f"i-{n}")
    first = await provider.list_instances_page(None, 2, None)
    assert [r.instance_id for r in first.records] == ["i-5", "i-4"]
    for n in range(6, 9):
        await create(provider, f"i-{n}")
    second = await provider.list_instances_page(None, 2, first.next_cursor)
    assert [r.instance_id for r in second.records] == ["i-3", "i-2"]
    third = await provider.list_instances_page(None, 10, second.next_cursor)
    assert [r.instance_id for r in third.records] == ["i-1", "i-0"]
    assert third.next_cursor is None


async def test_a_filtered_page_has_no_cursor_when_nothing_more_matches(provider):
    await create(provider, "keep-1", name="Keep")
    await create(provider, "drop-1", name="Drop")
    page = await provider.list_instances_page(InstanceFilter(name="Keep"), 1, None)
    assert [r.instance_id for r in page.records] == ["keep-1"] and page.next_cursor is None
    empty = await provider.list_instances_page(InstanceFilter(name="Nothing"), 5, None)
    assert empty.records == [] and empty.next_cursor is None


@pytest.mark.parametrize("cursor", ["", "not a cursor", "W10", "eyJhIjogMX0"])
async def test_a_cursor_the_store_did_not_write_is_a_value_error(provider, cursor):
    with pytest.raises(ValueError, match="cursor"):
        await provider.list_instances_page(None, 5, cursor)


def test_a_filter_refuses_an_unknown_status():
    with pytest.raises(ValueError, match="unknown status 'Done'"):
        InstanceFilter(statuses=("Completed", "Done"))  # type: ignore[arg-type]

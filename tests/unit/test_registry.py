"""Registry: definitions are checked when registered; the highest version serves new instances."""

from __future__ import annotations

import pytest

from duroxide_cli.model.registry import DEFAULT_VERSION, Registry, takes_input, version_key


def good(ctx, input):
    yield ctx.schedule_timer(1)


def good_v2(ctx, input):
    yield ctx.schedule_timer(2)


def test_async_generator_is_rejected_saying_it_breaks_replay():
    async def bad(ctx):
        yield 1

    with pytest.raises(TypeError, match="orchestration 'Bad' cannot be registered: it is an async generator") as info:
        Registry().register_orchestration("Bad", bad)
    assert "cannot be replayed" in str(info.value)


def test_coroutine_function_is_rejected():
    async def bad(ctx):
        return 1

    with pytest.raises(TypeError, match="it is a coroutine function"):
        Registry().register_orchestration("Bad", bad)


def test_plain_function_is_rejected_saying_it_must_yield():
    def bad(ctx):
        return 1

    with pytest.raises(TypeError, match="it is not a generator function; an orchestration must `yield`"):
        Registry().register_orchestration("Bad", bad)


def test_non_callable_is_rejected():
    with pytest.raises(TypeError, match="it is not callable"):
        Registry().register_orchestration("Bad", "not a function")


@pytest.mark.parametrize("params", [0, 3])
def test_wrong_number_of_parameters_is_rejected(params):
    namespace: dict = {}
    exec(f"def bad({', '.join(f'p{i}' for i in range(params))}):\n    yield", namespace)
    with pytest.raises(
        TypeError, match=f"it takes {params} positional parameters; it must take \\(ctx\\) or \\(ctx, input\\)"
    ):
        Registry().register_orchestration("Bad", namespace["bad"])


def test_duplicate_orchestration_version_is_rejected():
    registry = Registry()
    registry.register_orchestration("Order", good)
    with pytest.raises(TypeError, match="orchestration 'Order' version 1.0.0 is already registered"):
        registry.register_orchestration("Order", good_v2)


def test_registering_the_same_function_twice_is_harmless():
    registry = Registry()
    registry.register_orchestration("Order", good)
    registry.register_orchestration("Order", good)
    assert registry.orchestration_versions("Order") == ["1.0.0"]


@pytest.mark.parametrize(("name", "version"), [("", "1.0.0"), (None, "1.0.0"), ("Order", ""), ("Order", 1)])
def test_empty_names_and_versions_are_rejected(name, version):
    with pytest.raises(TypeError, match="must be a non-empty string"):
        Registry().register_orchestration_versioned(name, version, good)


def test_highest_version_is_chosen_for_new_instances():
    registry = Registry()
    registry.register_orchestration_versioned("Order", "1.0.0", good)
    registry.register_orchestration_versioned("Order", "2.0.0", good_v2)
    assert registry.get_orchestration("Order") == ("2.0.0", good_v2)
    assert registry.latest_version("Order") == "2.0.0"


def test_versions_are_ordered_numerically_not_as_text():
    registry = Registry()
    for version, fn in [("1.10.0", good_v2), ("1.9.0", good), ("1.2.0", good)]:
        registry.register_orchestration_versioned("Order", version, fn)
    assert registry.get_orchestration("Order") == ("1.10.0", good_v2)
    assert registry.orchestration_versions("Order") == ["1.2.0", "1.9.0", "1.10.0"]


@pytest.mark.parametrize(("lower", "higher"), [("9", "10"), ("1.0", "1.0.1"), ("2.0.0", "10.0.0"), ("1.2", "1.10")])
def test_version_key_orders_numbers_by_value(lower, higher):
    assert version_key(lower) < version_key(higher)


def test_named_version_is_used_and_a_missing_one_is_none():
    registry = Registry()
    registry.register_orchestration_versioned("Order", "1.0.0", good)
    registry.register_orchestration_versioned("Order", "2.0.0", good_v2)
    assert registry.get_orchestration("Order", "1.0.0") == ("1.0.0", good)
    assert registry.get_orchestration("Order", "3.0.0") is None
    assert registry.get_orchestration("Unknown") is None
    assert registry.latest_version("Unknown") is None


def test_decorators_register_and_return_the_function_unchanged():
    app = Registry()

    @app.orchestration
    def plain(ctx):
        yield ctx.schedule_timer(1)

    @app.orchestration("Named", version="3.1.0")
    def named(ctx, input):
        yield ctx.schedule_timer(1)

    @app.activity
    def charge(ctx, order):
        return order

    @app.activity("Ship")
    async def ship(ctx, order):
        return order

    assert app.get_orchestration("plain") == (DEFAULT_VERSION, plain)
    assert app.get_orchestration("Named") == ("3.1.0", named)
    assert app.get_activity("charge") is charge and app.get_activity("Ship") is ship
    assert app.orchestration_names == ["Named", "plain"] and app.activity_names == ["Ship", "charge"]

    other = Registry()
    other.orchestration("Again")(plain)
    assert other.get_orchestration("Again") == (DEFAULT_VERSION, plain)


def test_activity_that_is_a_generator_is_rejected():
    def gen(ctx):
        yield 1

    async def agen(ctx):
        yield 1

    for fn in (gen, agen):
        with pytest.raises(TypeError, match="it is a generator; an activity returns its result"):
            Registry().register_activity("A", fn)


def test_duplicate_activity_is_rejected():
    registry = Registry()
    registry.register_activity("Charge", lambda ctx, x: x)
    with pytest.raises(
        TypeError, match="activity 'Charge' cannot be registered: an activity of that name is already registered"
    ):
        registry.register_activity("Charge", lambda ctx, x: x)


def test_activity_problems_are_reported_together():
    with pytest.raises(TypeError) as info:
        Registry().register_activity("", 42)
    assert (
        str(info.value)
        == "activity '' cannot be registered: the name must be a non-empty string, got ''; it is not callable"
    )


def test_merge_adds_everything_and_still_checks_duplicates():
    first, second = Registry(), Registry()
    first.register_orchestration("A", good)
    second.register_orchestration_versioned("A", "2.0.0", good_v2)
    second.register_activity("X", lambda ctx: 1)
    first.merge(second)
    assert first.orchestration_versions("A") == ["1.0.0", "2.0.0"] and first.activity_names == ["X"]

    clash = Registry()
    clash.register_orchestration("A", good_v2)
    with pytest.raises(TypeError, match="already registered"):
        first.merge(clash)


def test_takes_input_follows_the_second_parameter():
    def with_input(ctx, input):
        yield

    def without(ctx):
        yield

    def star(ctx, *args):
        yield

    assert takes_input(with_input) and takes_input(star)
    assert not takes_input(without)

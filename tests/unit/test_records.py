"""``@frozen_dataclass`` makes the class ``@dataclass(frozen=True, slots=True)`` makes."""

from __future__ import annotations

import copy
import dataclasses
import inspect
import pickle
from typing import Any

import pytest

from duroxide_cli import history, messages, states
from duroxide_cli.model import options
from duroxide_cli.providers import values
from duroxide_cli.records import frozen_dataclass


def shapes(decorate: Any) -> dict[str, type]:
    """The same class definitions, made by ``decorate``."""

    @decorate
    class Empty:
        pass

    @decorate
    class Point:
        """A point."""

        x: int
        """Across."""
        y: int = 0

        @property
        def norm(self) -> int:
            return abs(self.x) + abs(self.y)

        @classmethod
        def origin(cls) -> Point:
            return cls(0)

    @decorate
    class Undocumented:
        name: str
        data: Any = None
        tags: list[str] = dataclasses.field(default_factory=list)

    @decorate
    class Checked:
        """Refuses a negative count after init."""

        count: int
        label: str | None = None

        def __post_init__(self) -> None:
            if self.count < 0:
                raise ValueError("negative")

    return {cls.__name__: cls for cls in (Empty, Point, Undocumented, Checked)}


MADE = shapes(frozen_dataclass)
REFERENCE = shapes(dataclasses.dataclass(frozen=True, slots=True))
SAMPLES = {"Empty": ((), ()), "Point": ((3,), (3, 4)), "Undocumented": (("a",), ("a", ("k", 1), ())), "Checked": ((1,), (2, "x"))}


def outcome(action: Any) -> Any:
    try:
        return ("ok", action())
    except Exception as error:  # noqa: BLE001 - the exception is the behaviour compared
        return (type(error), str(error))


def described(cls: type) -> dict[str, Any]:
    fields = [
        (f.name, f.type, f.default, f.default_factory, f.init, f.repr, f.hash, f.compare, f.kw_only, f.metadata, f._field_type)  # type: ignore[attr-defined]
        for f in dataclasses.fields(cls)
    ]
    return {
        "fields": fields,
        "dict": sorted(cls.__dict__),
        "doc": cls.__doc__,
        "signature": str(inspect.signature(cls)),
        "match_args": cls.__match_args__,  # type: ignore[attr-defined]
        "slots": cls.__slots__,  # type: ignore[attr-defined]
        "params": repr(cls.__dataclass_params__),  # type: ignore[attr-defined]
        "methods": [(getattr(cls, name).__qualname__, getattr(cls, name).__module__) for name in ("__init__", "__repr__", "__eq__", "__hash__", "__setattr__")],
        "init_annotations": cls.__init__.__annotations__,
        "init_signature": str(inspect.signature(cls.__init__)),
    }


@pytest.mark.parametrize("name", list(SAMPLES))
def test_the_class_is_described_as_dataclasses_describes_it_before_and_after_its_first_instance(name):
    made, reference = shapes(frozen_dataclass)[name], REFERENCE[name]
    assert described(made) == described(reference)
    made(*SAMPLES[name][0])  # the first instance compiles the real __init__
    assert described(made) == described(reference)
    assert outcome(lambda: made(*SAMPLES[name][0], extra=1)) == outcome(lambda: reference(*SAMPLES[name][0], extra=1))


@pytest.mark.parametrize("name", list(SAMPLES))
def test_instances_behave_as_dataclasses_instances(name):
    made, reference = MADE[name], REFERENCE[name]
    for args in SAMPLES[name]:
        a, b = made(*args), reference(*args)
        assert repr(a) == repr(b) and a == made(*args) and outcome(lambda a=a: hash(a)) == outcome(lambda b=b: hash(b))
        assert (a == b) is False and a != b  # another class, even of the same name and fields
        assert dataclasses.asdict(a) == dataclasses.asdict(b) and dataclasses.astuple(a) == dataclasses.astuple(b)
        assert copy.copy(a) == a and copy.deepcopy(a) == a  # pickling: the package records, below
        assert a.__getstate__() == b.__getstate__()
        for target in (a, b):
            assert not hasattr(target, "__dict__")
        results = []
        for obj in (a, b):
            first = dataclasses.fields(obj)[0].name if dataclasses.fields(obj) else "x"
            results.append(
                [
                    outcome(lambda obj=obj, first=first: setattr(obj, first, 9)),
                    outcome(lambda obj=obj, first=first: delattr(obj, first)),
                    outcome(lambda obj=obj: setattr(obj, "not_a_field", 1)),
                    outcome(lambda obj=obj: dataclasses.replace(obj)),
                ]
            )
        assert results[0][:3] == results[1][:3]
        assert repr(results[0][3]) == repr(results[1][3])
    assert outcome(lambda: made())[0] == outcome(lambda: reference())[0]


def test_post_init_and_default_factories_run_as_in_dataclasses():
    assert outcome(lambda: MADE["Checked"](-1)) == outcome(lambda: REFERENCE["Checked"](-1)) == (ValueError, "negative")
    first, second = MADE["Undocumented"]("a"), MADE["Undocumented"]("b")
    assert first.tags == [] and first.tags is not second.tags


def test_a_class_that_contains_itself_shows_dots():
    made = MADE["Undocumented"]("loop", [])
    made.data.append(made)
    assert repr(made).endswith(".Undocumented(name='loop', data=[...], tags=[])")


def test_a_class_dataclasses_would_build_differently_is_left_to_dataclasses():
    @frozen_dataclass
    class WithBase(Exception):
        code: int = 1

    @frozen_dataclass
    class OwnRepr:
        x: int

        def __repr__(self) -> str:
            return "mine"

    assert repr(OwnRepr(1)) == "mine" and WithBase().code == 1 and dataclasses.is_dataclass(WithBase)
    with pytest.raises(TypeError, match="non-default argument 'y' follows default argument"):

        @frozen_dataclass
        class BadOrder:
            x: int = 0
            y: int


@pytest.mark.parametrize("module", [history, messages, states, values, options], ids=lambda m: m.__name__)
def test_the_package_records_pickle_match_and_stay_frozen(module):
    records = [value for value in vars(module).values() if isinstance(value, type) and dataclasses.is_dataclass(value)]
    assert records
    for cls in records:
        assert cls.__dataclass_params__.frozen and "__slots__" in cls.__dict__, cls  # type: ignore[attr-defined]
    event = history.HistoryEvent(3, 1000, history.ActivityCompleted(2, ("r", 1)))
    assert pickle.loads(pickle.dumps(event)) == event and hash(copy.deepcopy(event)) == hash(event)
    match event.body:
        case history.ActivityCompleted(source, result):
            assert (source, result) == (2, ("r", 1))
        case _:
            raise AssertionError(event)
    with pytest.raises(dataclasses.FrozenInstanceError):
        event.body.result = None  # type: ignore[misc]

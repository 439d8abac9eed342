"""``@frozen_dataclass``: the class ``@dataclass(frozen=True, slots=True)`` makes, built for less.

Every ``duroxide`` command, however short, imports the frozen dataclasses of the history, the
store's values and the states, about fifty of them. ``dataclasses`` compiles six methods for each class
(0.4-0.6 ms a class on this project's machine, about 20 ms in all, nearly all of it in
``compile``); this decorator compiles ``__init__`` alone, as ``dataclasses`` writes it, and
makes the other five from closures over the field names (``operator.attrgetter`` reads the
fields as fast as the compiled tuples do). The class is the same: its fields
(``dataclasses.fields``, ``replace``, ``asdict``, ``is_dataclass``), ``__init__`` (defaults,
default factories, ``__post_init__``), ``repr``, equality, hash, frozen-ness (the same
``FrozenInstanceError``), ``__match_args__``, ``__slots__``, pickling and docstring.
``tests/unit/test_records.py`` checks each of them against ``dataclasses``' own class.

A class this module does not build exactly as ``dataclasses`` would -- one with a base class,
a ``ClassVar``, ``InitVar`` or ``KW_ONLY`` annotation, a ``field()`` option other than a default
or a default factory, a method that ``dataclasses`` would keep or refuse to overwrite -- is
handed to ``dataclasses`` itself.
"""

from __future__ import annotations

import _thread
import abc
import dataclasses
import functools
import inspect
import operator
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

_T = TypeVar("_T")

_MISSING: Any = dataclasses.MISSING

_OWN = frozenset(
    ("__init__", "__repr__", "__eq__", "__hash__", "__setattr__", "__delattr__", "__match_args__", "__slots__", "__getstate__", "__setstate__")
)
"""Methods and attributes the decorator makes; a class that defines one goes to ``dataclasses``."""


@dataclasses.dataclass(frozen=True, slots=True)
class _Reference:
    """A class as ``dataclasses`` makes it, for the parts every frozen, slotted class shares."""


_PARAMS = _Reference.__dataclass_params__  # type: ignore[attr-defined]
_GETSTATE = _Reference.__getstate__
_SETSTATE = _Reference.__setstate__  # type: ignore[attr-defined]


class _Factory:
    """What ``__init__`` defaults to for a field with a default factory (shown as ``<factory>``)."""

    def __repr__(self) -> str:
        return "<factory>"


_HAS_DEFAULT_FACTORY = _Factory()


def _recursive_repr(user_function: Callable[[Any], str]) -> Callable[[Any], str]:
    """A ``__repr__`` that shows ``...`` where an object contains itself (as ``dataclasses``' does)."""
    repr_running: set[tuple[int, int]] = set()

    @functools.wraps(user_function)
    def wrapper(self: Any) -> str:
        key = id(self), _thread.get_ident()
        if key in repr_running:
            return "..."
        repr_running.add(key)
        try:
            result = user_function(self)
        finally:
            repr_running.discard(key)
        return result

    return wrapper


def _plain(cls: type) -> bool:
    """Whether ``cls`` is one this module builds exactly as ``dataclasses`` would."""
    if type(cls) is not type or cls.__bases__ != (object,) or _OWN.intersection(cls.__dict__):
        return False
    annotations = cls.__dict__.get("__annotations__", {})
    seen_default = False
    for name, annotation in annotations.items():
        if name == "self" or not isinstance(annotation, str):
            return False
        if any(word in annotation for word in ("ClassVar", "InitVar", "KW_ONLY")):
            return False
        default = cls.__dict__.get(name, _MISSING)
        if isinstance(default, dataclasses.Field):
            plain_options = default.init and default.repr and default.compare and default.hash is None
            if not plain_options or default.kw_only is not _MISSING or default.metadata:
                return False
            has_default = default.default is not _MISSING or default.default_factory is not _MISSING
        else:
            has_default = default is not _MISSING
        if seen_default and not has_default:
            return False  # dataclasses' own TypeError says which field
        seen_default = seen_default or has_default
    return True


def _init_source(names: list[str], defaults: dict[str, str], post_init: bool, closure: list[str]) -> str:
    """The ``__init__`` of a class with fields ``names``, as the one function ``dataclasses`` writes,
    inside a function that takes what it refers to (``closure``) and returns it."""
    params = "".join(f", {name}:_type_{name}{defaults.get(name, '')}" for name in names)
    lines = [
        f"  __dataclass_builtins_object__.__setattr__(self,{name!r},"
        + (f"_dflt_{name}() if {name} is _HAS_DEFAULT_FACTORY else {name})" if defaults.get(name) == "=_HAS_DEFAULT_FACTORY" else f"{name})")
        for name in names
    ]
    if post_init:
        lines.append("  self.__post_init__()")
    body = "\n".join(lines or ["  pass"])
    return f"def __create_fn__({', '.join(closure)}):\n def __init__(self{params}) -> _return_type:\n{body}\n return __init__"


def _methods(owner: type, names: tuple[str, ...]) -> dict[str, Callable[..., Any]]:
    """``__repr__``, ``__eq__``, ``__hash__``, ``__setattr__`` and ``__delattr__`` of a class with
    fields ``names``: what ``dataclasses`` compiles for each class, as closures over the names."""
    if len(names) > 1:
        values: Callable[[Any], tuple[Any, ...]] = operator.attrgetter(*names)
    elif names:
        get = operator.attrgetter(names[0])

        def values(obj: Any) -> tuple[Any, ...]:
            return (get(obj),)

    else:

        def values(obj: Any) -> tuple[Any, ...]:
            return ()

    def __repr__(self: Any) -> str:
        return self.__class__.__qualname__ + "(" + ", ".join([f"{name}={getattr(self, name)!r}" for name in names]) + ")"

    def __eq__(self: Any, other: Any) -> Any:
        if other.__class__ is self.__class__:
            return values(self) == values(other)
        return NotImplemented

    def __hash__(self: Any) -> int:
        return hash(values(self))

    def __setattr__(self: Any, name: str, value: Any) -> None:
        if type(self) is owner or name in names:
            raise dataclasses.FrozenInstanceError(f"cannot assign to field {name!r}")
        super(owner, self).__setattr__(name, value)  # type: ignore[arg-type]  # mypy: a nested __setattr__

    def __delattr__(self: Any, name: str) -> None:
        if type(self) is owner or name in names:
            raise dataclasses.FrozenInstanceError(f"cannot delete field {name!r}")
        super(owner, self).__delattr__(name)  # type: ignore[arg-type]

    return {"__repr__": _recursive_repr(__repr__), "__eq__": __eq__, "__setattr__": __setattr__, "__delattr__": __delattr__, "__hash__": __hash__}


def _build(cls: type) -> type:
    doc = cls.__doc__
    cls.__doc__ = doc or "-"  # dataclasses would sign an undocumented class before it has an __init__
    cls = dataclasses.dataclass(init=False, repr=False, eq=False)(cls)  # the fields and __match_args__
    cls.__doc__ = doc
    fields = list(cls.__dataclass_fields__.values())  # type: ignore[attr-defined]
    names = [field.name for field in fields]
    closure: dict[str, Any] = {"__dataclass_builtins_object__": object, "_HAS_DEFAULT_FACTORY": _HAS_DEFAULT_FACTORY, "_return_type": None}
    defaults: dict[str, str] = {}
    for field in fields:
        closure[f"_type_{field.name}"] = field.type
        if field.default_factory is not _MISSING:
            closure[f"_dflt_{field.name}"] = field.default_factory
            defaults[field.name] = "=_HAS_DEFAULT_FACTORY"
        elif field.default is not _MISSING:
            closure[f"_dflt_{field.name}"] = field.default
            defaults[field.name] = f"=_dflt_{field.name}"
    text = _init_source(names, defaults, hasattr(cls, "__post_init__"), list(closure))
    for name, method in _methods(cls, tuple(names)).items():
        method.__qualname__ = f"{cls.__qualname__}.{name}"
        method.__module__ = cls.__module__
        setattr(cls, name, method)
    cls.__dataclass_params__ = _PARAMS  # type: ignore[attr-defined]
    signature = _init_signature(fields)
    if not doc:
        cls.__doc__ = cls.__name__ + str(signature.replace(parameters=list(signature.parameters.values())[1:])).replace(" -> None", "")
    slotted = _with_slots(cls, names)
    slotted.__init__ = _first_init(slotted, text, closure, {f.name: f.type for f in fields}, signature)  # type: ignore[misc]
    return slotted


def _init_signature(fields: list[dataclasses.Field[Any]]) -> inspect.Signature:
    """The signature of the ``__init__`` ``dataclasses`` would write for ``fields``."""
    kind = inspect.Parameter.POSITIONAL_OR_KEYWORD
    parameters = [inspect.Parameter("self", kind)]
    for field in fields:
        default = field.default if field.default_factory is _MISSING else _HAS_DEFAULT_FACTORY
        parameters.append(inspect.Parameter(field.name, kind, default=inspect.Parameter.empty if default is _MISSING else default, annotation=field.type))
    return inspect.Signature(parameters, return_annotation=None)


def _first_init(cls: type, text: str, closure: dict[str, Any], annotations: dict[str, Any], signature: inspect.Signature) -> Callable[..., None]:
    """An ``__init__`` that compiles the real one (``text``) on the class's first instance and
    puts it in its place: a command imports some fifty of these classes and makes a handful."""

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        code = compile(text, "<string>", "exec", dont_inherit=True)  # not this module's ``annotations`` future
        namespace: dict[str, Any] = {}
        module = sys.modules.get(cls.__module__)
        exec(code, vars(module) if module is not None else {}, namespace)
        init = namespace["__create_fn__"](**closure)
        init.__qualname__ = f"{cls.__qualname__}.__init__"
        cls.__init__ = init  # type: ignore[misc]
        init(self, *args, **kwargs)

    __init__.__qualname__ = f"{cls.__qualname__}.__init__"
    __init__.__module__ = cls.__module__
    __init__.__signature__ = signature  # type: ignore[attr-defined]
    __init__.__annotations__ = {**annotations, "return": None}
    return __init__


def _with_slots(cls: type, names: list[str]) -> type:
    """``cls`` made anew with ``__slots__`` for its fields, as ``dataclasses`` does."""
    namespace = dict(cls.__dict__)
    namespace["__slots__"] = tuple(names)
    for name in names:
        namespace.pop(name, None)
    namespace.pop("__dict__", None)
    namespace.pop("__weakref__", None)
    qualname = getattr(cls, "__qualname__", None)
    slotted = type(cls)(cls.__name__, cls.__bases__, namespace)
    if qualname is not None:
        slotted.__qualname__ = qualname
    slotted.__getstate__ = _GETSTATE  # type: ignore[method-assign, assignment]
    slotted.__setstate__ = _SETSTATE  # type: ignore[attr-defined]
    abc.update_abstractmethods(slotted)
    return slotted


if TYPE_CHECKING:
    from typing import dataclass_transform

    @dataclass_transform(frozen_default=True, field_specifiers=(dataclasses.field, dataclasses.Field))
    def frozen_dataclass(cls: type[_T]) -> type[_T]: ...

else:

    def frozen_dataclass(cls):
        """``@dataclass(frozen=True, slots=True)``: the same class, built for less at import."""
        return _build(cls) if _plain(cls) else dataclasses.dataclass(frozen=True, slots=True)(cls)

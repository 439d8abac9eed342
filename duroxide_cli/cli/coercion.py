"""Plain command-line values (unset, a flag, a string, a whole number, a list of strings)
without pydantic.

Recent typer versions turn every parameter's value into its annotated type through a pydantic
``TypeAdapter``; importing pydantic and building the adapters costs about 80 ms on this
project's machine, more than the rest of ``duroxide status ID`` together. Almost every value
our commands receive is already of its type (a ``str`` for a ``str``) or a plain decimal
number or an enum's member, and most options are not given at all, so ``plain_values`` gives the parameters a
coercion that returns those values as they are and hands anything else (an out-of-range
number, ``1_000``, an enum's value, a path) to typer's own coercion, built on first use, so that
results and error messages stay typer's.

Typer versions without this machinery (no ``typer._coercion``) are left alone.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import EnumMeta
from typing import Any

try:
    from typer._coercion import RuntimeParam, build_runtime_param
    from typer._param_types import coerce_cli_choice
except ImportError:  # pragma: no cover - typer versions that coerce through click types
    RuntimeParam = None  # type: ignore[assignment, misc]


def plain_values(params: Iterable[Any]) -> None:
    """Give each parameter the plain coercion, unless it has a parser, is a file, clamps its
    number or already has a coercion."""
    if RuntimeParam is None:
        return
    for param in params:
        descriptor = getattr(param, "type_descriptor", None)
        if descriptor is None or getattr(param, "_runtime_param", False) is not None:
            continue
        info = descriptor.parameter_info
        if info.parser is not None or descriptor.file_annotation is not None or getattr(info, "clamp", False):
            continue
        param._runtime_param = _PlainValue(info, descriptor.annotation, descriptor)


if RuntimeParam is not None:

    @dataclass(frozen=True)
    class _PlainValue(RuntimeParam):  # type: ignore[misc, valid-type]
        """Values already of the type pass as they are; the rest go to typer's coercion."""

        descriptor: Any = None
        _fallback: list[Any] = field(default_factory=list, compare=False, repr=False)

        def _coerce_value(self, value: Any, param: Any, ctx: Any) -> Any:
            plain = self._plain(value, ctx)
            if plain is not _NOT_PLAIN:
                return plain
            if not self._fallback:
                self._fallback.append(build_runtime_param(self.descriptor))
            return self._fallback[0]._coerce_value(value, param=param, ctx=ctx)

        def _plain(self, value: Any, ctx: Any) -> Any:
            if self.annotation is str or self.annotation is bool:
                return value if type(value) is self.annotation else _NOT_PLAIN
            if self.annotation is int:
                number = _whole_number(value)
                info = self.parameter_info
                if number is None or (info.min is not None and number < info.min) or (info.max is not None and number > info.max):
                    return _NOT_PLAIN
                return number
            if self.annotation == list[str] and isinstance(value, (list, tuple)) and all(type(item) is str for item in value):
                return list(value)
            if isinstance(self.annotation, EnumMeta) and isinstance(value, (str, self.annotation)):
                try:  # the same choice typer's coercion makes; its error comes from the fallback
                    return coerce_cli_choice(value, choices=tuple(self.annotation), case_sensitive=self.parameter_info.case_sensitive, ctx=ctx)
                except ValueError:
                    return _NOT_PLAIN
            return _NOT_PLAIN


_NOT_PLAIN = object()


def _whole_number(value: Any) -> int | None:
    if type(value) is int:
        return value
    if type(value) is str:
        digits = value[1:] if value[:1] == "-" else value
        if digits.isascii() and digits.isdigit():
            return int(value)
    return None

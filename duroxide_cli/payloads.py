"""Payloads always pass through JSON, so a live turn and a replayed one see identical values."""

from __future__ import annotations

import json
import math
from typing import Any

_ID_MAX = 256


def normalize(value: Any, what: str) -> Any:
    """Return ``value`` as JSON would give it back (lists, str keys).

    Raises ``TypeError`` naming the path of the first value JSON cannot encode.
    """
    _check(value, what, set())
    return json.loads(json.dumps(value))


def dumps(value: Any) -> str:
    """Compact JSON text of an already normalised value."""
    return json.dumps(value, separators=(",", ":"), allow_nan=False)


def _check(value: Any, path: str, seen: set[int]) -> None:
    if value is None or isinstance(value, (bool, int, str)):
        return
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            raise TypeError(f"{path} is {value!r}, which JSON cannot encode; use a finite number or null")
        return
    if isinstance(value, (list, tuple, dict)):
        if id(value) in seen:
            raise TypeError(f"{path} contains itself (a cycle); JSON cannot encode it")
        seen.add(id(value))
        if isinstance(value, dict):
            for key, item in value.items():
                if not isinstance(key, (str, int, float, bool)) and key is not None:
                    raise TypeError(f"{path} has a key of type {type(key).__name__}; JSON keys must be strings")
                _check(item, f"{path}[{key!r}]", seen)
        else:
            for index, item in enumerate(value):
                _check(item, f"{path}[{index}]", seen)
        seen.discard(id(value))
        return
    raise TypeError(
        f"{path} is {a_type_name(value)}, which JSON cannot encode; pass dicts, lists, str, numbers, bool or None"
    )


def a_type_name(value: Any) -> str:
    """The value's type name with its article, for messages: ``an object``, ``a set``."""
    name = type(value).__name__
    return f"{'an' if name[:1].lower() in 'aeiou' else 'a'} {name}"


def check_instance_id(instance_id: Any, what: str = "instance id") -> str:
    """Ids are non-empty strings of at most 256 characters."""
    if not isinstance(instance_id, str) or not instance_id:
        raise ValueError(f"{what} must be a non-empty string, got {instance_id!r}")
    if len(instance_id) > _ID_MAX:
        raise ValueError(f"{what} is {len(instance_id)} characters long; the limit is {_ID_MAX}")
    return instance_id

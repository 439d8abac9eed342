"""Payloads always pass through JSON, so a live turn and a replayed one see identical values."""

from __future__ import annotations

import json
import math
import re
from typing import Any

_ID_MAX = 256
MAX_DEPTH = 256
"""How deeply lists and dicts may nest in a payload (deeper is a ``TypeError``, not a ``RecursionError``)."""
_INT_FAST = 2**63
"""Integers within this bound go through ``normalize`` untouched (JSON turns past a few thousand
digits into an error, which the slow path reports)."""
_SURROGATE = re.compile("[\ud800-\udfff]")


def normalize(value: Any, what: str) -> Any:
    """Return ``value`` as JSON would give it back (lists, str keys).

    Raises ``TypeError`` naming the path of the first value JSON cannot encode, or of the first
    string UTF-8 cannot encode (a lone surrogate: undecodable bytes passed through
    ``os.fsdecode`` or ``errors="surrogateescape"``).
    """
    kind = type(value)
    if value is None or kind is bool or (kind is int and -_INT_FAST < value < _INT_FAST):  # JSON gives these back as they are
        return value
    if kind is str:
        _check_text(value, what)
        return value
    _check(value, what, set(), 0)
    return json.loads(json.dumps(value))


_COMPACT = json.JSONEncoder(separators=(",", ":"), allow_nan=False)
"""Made once: ``json.dumps`` with options builds a new encoder at every call."""


def dumps(value: Any) -> str:
    """Compact JSON text of an already normalised value."""
    return _COMPACT.encode(value)


def _check(value: Any, path: str, seen: set[int], depth: int) -> None:
    if isinstance(value, str):
        _check_text(value, path)
        return
    if value is None or isinstance(value, (bool, int)):
        return
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            raise TypeError(f"{path} is {value!r}, which JSON cannot encode; use a finite number or null")
        return
    if isinstance(value, (list, tuple, dict)):
        if id(value) in seen:
            raise TypeError(f"{path} contains itself (a cycle); JSON cannot encode it")
        if depth >= MAX_DEPTH:
            root = path.split("[", 1)[0]
            raise TypeError(f"{root} nests lists and dicts more than {MAX_DEPTH} deep; JSON this deep cannot be read back everywhere")
        seen.add(id(value))
        if isinstance(value, dict):
            for key, item in value.items():
                if not isinstance(key, (str, int, float, bool)) and key is not None:
                    raise TypeError(f"{path} has a key of type {type(key).__name__}; JSON keys must be strings")
                if isinstance(key, str):
                    _check_text(key, f"a key of {path}")
                _check(item, f"{path}[{key!r}]", seen, depth + 1)
        else:
            for index, item in enumerate(value):
                _check(item, f"{path}[{index}]", seen, depth + 1)
        seen.discard(id(value))
        return
    raise TypeError(
        f"{path} is {a_type_name(value)}, which JSON cannot encode; pass dicts, lists, str, numbers, bool or None"
    )


def _check_text(text: str, path: str) -> None:
    problem = unencodable(text)
    if problem:
        raise TypeError(f"{path} {problem}")


def unencodable(text: str) -> str | None:
    """Why ``text`` cannot be stored, or None: it holds a NUL character (PostgreSQL text and
    jsonb refuse one, and one in a batched statement would fail every call in the batch), or a
    lone surrogate (UTF-8 cannot encode one)."""
    if "\x00" in text:
        return (
            f"holds a NUL character (\\x00 at index {text.index(chr(0))}), which cannot be stored; "
            "remove it, or encode binary data first (e.g. as base64)"
        )
    if text.isascii():
        return None
    found = _SURROGATE.search(text)
    if found is None:
        return None
    return (
        f"holds a lone surrogate ({ascii(found.group())[1:-1]} at index {found.start()}), which UTF-8 cannot encode: "
        "undecodable bytes (os.fsdecode, errors='surrogateescape'); decode them with errors='replace' "
        "or 'backslashreplace' first"
    )


def a_type_name(value: Any) -> str:
    """The value's type name with its article, for messages: ``an object``, ``a set``."""
    name = type(value).__name__
    return f"{'an' if name[:1].lower() in 'aeiou' else 'a'} {name}"


def check_instance_id(instance_id: Any, what: str = "instance id") -> str:
    """Ids are non-empty strings of at most 256 characters that can be stored (no NUL, no lone surrogate)."""
    if not isinstance(instance_id, str) or not instance_id:
        raise ValueError(f"{what} must be a non-empty string, got {instance_id!r}")
    if len(instance_id) > _ID_MAX:
        raise ValueError(f"{what} is {len(instance_id)} characters long; the limit is {_ID_MAX}")
    problem = unencodable(instance_id)
    if problem:
        raise ValueError(f"{what} {ascii(instance_id)} {problem}")
    return instance_id


def check_text(text: Any, what: str) -> str:
    """A name or reason that will be stored: a non-empty string UTF-8 can encode."""
    if not isinstance(text, str) or not text:
        raise ValueError(f"{what} must be a non-empty string, got {text!r}")
    problem = unencodable(text)
    if problem:
        raise ValueError(f"{what} {ascii(text)} {problem}")
    return text

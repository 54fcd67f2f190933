"""Values and keys of AO-Core messages.

A message is a plain ``dict`` from normalized keys (lowercase ``str``) to
values: ``str``/``bytes`` (binaries), ``int``, ``float``, ``bool``, ``None``
(upstream's ``undefined``), :class:`Atom`, lists and nested messages. Messages
are never mutated once built: handlers return new dicts.

Upstream: hb_ao:normalize_key/1, hb_ao:normalize_keys/1.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeAlias

from hyperbeam.errors import CodecError
from hyperbeam.message.ids import human_id

Message: TypeAlias = dict[str, Any]
Value: TypeAlias = Any


@dataclass(frozen=True, slots=True)
class Atom:
    """A symbolic value, as upstream's Erlang atoms (``unset``, ``ok``...).

    ``true``/``false`` are Python bools and ``undefined``/``null`` is ``None``.
    """

    name: str

    def __str__(self) -> str:
        return self.name


UNSET = Atom("unset")


def is_message(value: object) -> bool:
    return isinstance(value, dict)


def as_text(value: object) -> str:
    """A value read as text: a binary decoded as UTF-8 (bad bytes replaced)."""
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def as_int(value: object, name: str) -> int:
    """A value read as an integer (``12``, ``"12"``, ``b"12"``); a
    :class:`~hyperbeam.errors.CodecError` (400) names ``name`` otherwise."""
    try:
        return int(as_text(value)) if isinstance(value, str | bytes) else int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        raise CodecError(f"{name} must be an integer, not {value!r}") from None


def normalize_key(key: object) -> str:
    """Bring a key to its normal form: IDs as they are, other text lowercased.

    Integers become their decimal text, atoms their name, and lists of parts
    are joined with ``/``. Upstream: hb_ao:normalize_key/2.
    """
    if isinstance(key, str):
        lowered = key.lower()
        if lowered == key:
            return key
        return key if _is_id_sized(key) else lowered
    if isinstance(key, bytes):
        if len(key) == 32:
            return human_id(key)
        return normalize_key(key.decode("utf-8", "surrogateescape"))
    if isinstance(key, bool):
        return "true" if key else "false"
    if isinstance(key, int):
        return str(key)
    if isinstance(key, Atom):
        return key.name
    if isinstance(key, list | tuple):
        return "/".join(normalize_key(part) for part in key)
    raise TypeError(f"cannot use {type(key).__name__} as a message key")


def _is_id_sized(key: str) -> bool:
    """Upstream's ``?IS_ID`` on the key's bytes: 32, 42 or 43 of them."""
    if key.isascii():
        return len(key) in (32, 42, 43)
    try:
        return len(key.encode("utf-8", "surrogateescape")) in (32, 42, 43)
    except UnicodeEncodeError:
        # A lone surrogate: no binary, so no ID (the codecs refuse the key).
        # Found by tests/property/test_fuzz_structured.py: UnicodeEncodeError.
        return False


def list_to_message(values: list[Any] | tuple[Any, ...]) -> Message:
    """A list as a message numbered from 1. Upstream: hb_ao:normalize_keys/1."""
    return {str(i): v for i, v in enumerate(values, start=1)}


def normalize_keys(msg: Any) -> Any:
    """Normalize the top-level keys of a message; lists become numbered maps."""
    if isinstance(msg, list | tuple):
        return list_to_message(msg)
    if isinstance(msg, dict):
        if all(type(k) is str and (k == k.lower() or _is_id_sized(k)) for k in msg):
            return msg
        return {normalize_key(k): v for k, v in msg.items()}
    return msg

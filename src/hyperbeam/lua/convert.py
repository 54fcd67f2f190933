"""Messages to Lua values and back, as upstream's dev_lua encodes them.

To Lua: a message is a table (string keys; its private keys left out), a
list (or a message whose keys are exactly ``"1".."n"``) is a sequence
``1..n``, a binary (``str`` or ``bytes``) is a Lua string, integers stay
integers and floats floats, ``True``/``False`` are booleans, an atom is the
string of its name, ``None`` is left out.

Back: a table whose keys are exactly ``1..n``, as integers or as their
decimal text, is a list, and so is the empty table (as upstream decodes
it); any other table is a message whose keys are normalized as every
message key is (lower case, 43-character IDs kept as they are: ``Target``
is ``target``, as the store would make it anyway; integers become their
decimal text). A Lua string is ``str`` when it is UTF-8, else ``bytes``.
Lua functions, threads and userdata have no message form and are left out.

Upstream: dev_lua:encode/1, decode/1.
"""

from __future__ import annotations

from typing import Any

import lupa.lua53 as lua
from lupa.lua53 import lua_type

from hyperbeam.ao.path import As
from hyperbeam.errors import HyperbeamError
from hyperbeam.message.model import Atom, normalize_key
from hyperbeam.message.private import is_private

#: How deep a message may nest on its way into or out of Lua.
MAX_DEPTH = 64
_LUA_INT = (-(2**63), 2**63 - 1)


class ConversionError(HyperbeamError):
    status = 422


def to_lua(runtime: lua.LuaRuntime, value: Any, depth: int = 0) -> Any:
    """``value`` as a Lua value of ``runtime``."""
    kind = type(value)
    if kind is str:
        return value.encode("utf-8")
    if kind is bytes or kind is bool or kind is float:
        return value
    if kind is int:
        if not _LUA_INT[0] <= value <= _LUA_INT[1]:
            return str(value).encode()  # past Lua's integers: its decimal text
        return value
    if depth > MAX_DEPTH:
        raise ConversionError(f"a message nested deeper than {MAX_DEPTH} cannot go to Lua")
    if isinstance(value, dict):
        if value and _numbered(value):
            return runtime.table_from(
                [to_lua(runtime, value[str(i)], depth + 1) for i in range(1, len(value) + 1)]
            )
        table = {}
        for k, v in value.items():
            if v is None or (type(k) is str and k[:4].lower() == "priv" and is_private(k)):
                continue
            table[k.encode("utf-8") if type(k) is str else _key(k)] = to_lua(runtime, v, depth + 1)
        return runtime.table_from(table)
    if isinstance(value, list | tuple):
        return runtime.table_from([to_lua(runtime, v, depth + 1) for v in value])
    if isinstance(value, str | bytes | bool | float | int):  # their subclasses
        return to_lua(runtime, _plain(value), depth)
    if isinstance(value, Atom):
        return value.name.encode("utf-8")
    if isinstance(value, As):  # upstream's {as, Device, Message}, as ao.resolve takes it
        return runtime.table_from(
            [b"as", value.device.encode(), to_lua(runtime, value.msg, depth + 1)]
        )
    if isinstance(value, bytearray | memoryview):
        return bytes(value)
    if value is None:
        return None
    raise ConversionError(f"a {type(value).__name__} has no Lua form")


def _plain(value: Any) -> Any:
    """A value of a subclass of a basic type as that type."""
    if isinstance(value, bool):
        return bool(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    return str(value) if isinstance(value, str) else bytes(value)


def _key(key: Any) -> bytes:
    if isinstance(key, bytes):
        return key
    return str(key).encode("utf-8")


def from_lua(value: Any, depth: int = 0) -> Any:
    """A Lua value (as lupa gives it) as a message value; ``None`` for what
    has no message form."""
    kind = type(value)
    if kind is bytes:
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            return value
    if value is None or kind is bool or kind is int or kind is float:
        return value
    if lua_type(value) != "table":
        return None  # a function, thread or userdata
    if depth > MAX_DEPTH:
        raise ConversionError(f"a Lua table nested deeper than {MAX_DEPTH} is no message")
    items = list(value.items())
    if not items:
        return []  # the empty table, as upstream decodes it
    indexed = [(_index(k), v) for k, v in items]
    if {k for k, _ in indexed} == set(range(1, len(indexed) + 1)):
        ordered = sorted(indexed, key=lambda kv: kv[0])
        return [v for v in (from_lua(v, depth + 1) for _, v in ordered) if v is not None]
    out: dict[str, Any] = {}
    for k, v in items:
        converted = from_lua(v, depth + 1)
        if converted is not None:
            out[_text_key(k)] = converted
    return out


def _numbered(msg: dict[Any, Any]) -> bool:
    """Whether a message's keys are exactly ``"1".."n"``. Upstream:
    hb_util:is_ordered_list/1."""
    keys = {int(k) for k in msg if isinstance(k, str) and k.isdigit()}
    return len(keys) == len(msg) and keys == set(range(1, len(msg) + 1))


def _index(key: Any) -> Any:
    """A table key as a list index when it is one (``1`` or ``"1"``)."""
    if type(key) is int:
        return key
    if isinstance(key, bytes) and key.isdigit() and not key.startswith(b"0"):
        return int(key)
    return key


def _text_key(key: Any) -> str:
    if type(key) is bytes:
        text = key.decode("utf-8", "surrogateescape")
        return text if text == text.lower() else normalize_key(text)
    if isinstance(key, float) and key.is_integer():
        return str(int(key))
    return normalize_key(str(key))

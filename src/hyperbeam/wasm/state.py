"""Reading and writing the WASM devices' slice of a state message.

The devices keep their live objects (the instance, its import resolver)
under the private map, at ``priv/<prefix>/<name>``, and their public outputs
under ``results/<prefix>/<name>``; ``prefix`` is the stack's
``output-prefix`` (empty outside a stack). These helpers walk such paths in
plain dicts, as upstream's ``hb_private:get/set`` and deep ``hb_ao:set`` do.
"""

from __future__ import annotations

from typing import Any

from hyperbeam.ao import resolve as ao
from hyperbeam.message.model import Message, normalize_key
from hyperbeam.message.private import private_of, with_private

NOT_FOUND = ao.NOT_FOUND


def parts(*segments: Any) -> list[str]:
    """Path segments, ``a/b`` split and empty ones dropped."""
    out: list[str] = []
    for segment in segments:
        out += [normalize_key(p) for p in str(segment).split("/") if p]
    return out


def walk(msg: Any, path: list[str]) -> Any:
    """The value at ``path`` in nested dicts (keys compared normalized), or
    ``NOT_FOUND``."""
    value = msg
    for part in path:
        if not isinstance(value, dict):
            return NOT_FOUND
        if part in value:
            value = value[part]
            continue
        match = next((k for k in value if normalize_key(k) == part), None)
        if match is None:
            return NOT_FOUND
        value = value[match]
    return value


def lookup(msg: Message, path: str, opts: Any) -> Any:
    """``path`` in ``msg``: walked directly, else resolved through AO-Core
    (for links and computed keys)."""
    found = walk(msg, parts(path))
    if found != NOT_FOUND:
        return found
    return ao.get(path, msg, {**opts, "hashpath": "ignore"})


def put(msg: Message, path: list[str], value: Any) -> Message:
    """A copy of ``msg`` with ``value`` at ``path`` (maps on the way are copied)."""
    if not path:
        return value if isinstance(value, dict) else msg
    head, rest = path[0], path[1:]
    current = msg.get(head)
    inner = put(current if isinstance(current, dict) else {}, rest, value) if rest else value
    return {**msg, head: inner}


def private_get(msg: Any, prefix: Any, name: str) -> Any:
    """``priv/<prefix>/<name>``. Upstream: hb_private:get/3."""
    return walk(private_of(msg), parts(prefix, name))


def private_set(msg: Message, prefix: Any, values: dict[str, Any]) -> Message:
    """``msg`` with each of ``values`` at ``priv/<prefix>/<name>``.
    Upstream: hb_private:set/3."""
    priv = private_of(msg)
    for name, value in values.items():
        priv = put(priv, parts(prefix, name), value)
    return with_private(msg, priv)

"""``message@1.0``: the identity device, and the default of every message.

Any key not reserved here answers the value stored under it, looked up
case-insensitively; private keys (``priv*``) are never answered.

Upstream: dev_message.erl.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hyperbeam.ao.device import Device, Result, key
from hyperbeam.message.model import UNSET, Message, normalize_key, normalize_keys
from hyperbeam.message.private import is_private, private_of, with_private

#: Keys this device reserves; ``set`` never writes them into a message.
DEVICE_KEYS = ("id", "commitments", "committers", "keys", "path", "set", "remove", "verify")


def deep_merge(base: Message, new: Message) -> Message:
    """Merge ``new`` into ``base``, recursing where both hold messages."""
    out = dict(base)
    for k, v in new.items():
        old = out.get(k)
        out[k] = deep_merge(old, v) if isinstance(old, dict) and isinstance(v, dict) else v
    return out


def public_keys(msg: Any) -> list[str]:
    msg = normalize_keys(msg)
    if not isinstance(msg, dict):
        raise TypeError(f"a {type(msg).__name__} has no keys")
    return [k for k in msg if not is_private(k)]


class MessageDevice(Device):
    """The identity device."""

    name = "message@1.0"

    def info(self, msg: Any, opts: Mapping[str, Any]) -> dict[str, Any]:
        return {"default": self.get}

    def get(self, name: Any, msg: Message, req: Any = None, opts: Any = None) -> Result:
        """Any other key: its value, matched case-insensitively."""
        if name is None or is_private(name):
            return "error", "not_found"
        if name in msg:
            return "ok", msg[name]
        wanted = normalize_key(name)
        for k, v in msg.items():
            if normalize_key(k) == wanted:
                return "ok", v
        return "error", "not_found"

    @key("keys")
    def keys(self, msg: Message) -> Result:
        return "ok", public_keys(msg)

    @key("set")
    def set(self, msg: Message, req: Message) -> Result:
        """Merge the request's keys into the message (``unset`` removes a key)."""
        new_keys = [
            k
            for k in public_keys(req)
            if k not in DEVICE_KEYS and k != "set-mode" and req.get(k) is not None
        ]
        to_unset = {k for k in msg if req.get(k) is UNSET}
        base = {k: v for k, v in msg.items() if k not in to_unset}
        new_values = {k: req[k] for k in new_keys if req[k] is not UNSET}
        if req.get("set-mode") == "explicit":
            merged = {**base, **new_values}
        else:
            merged = deep_merge(base, new_values)
        return "ok", with_private(merged, private_of(msg))

    @key("set_path")
    def set_path(self, msg: Message, req: Message) -> Result:
        """Set ``path`` itself, which ``set`` cannot (it names the key to run)."""
        return "ok", {**msg, "path": req.get("value")}

    @key("remove")
    def remove(self, msg: Message, req: Message) -> Result:
        if "item" in req:
            items = [req["item"]]
        else:
            raw = req.get("items", [])
            items = list(normalize_keys(raw).values()) if isinstance(raw, dict) else list(raw)
        drop = {normalize_key(i) for i in items} | set(items)
        return "ok", {k: v for k, v in msg.items() if k not in drop}

    @key("id")
    def id(self, msg: Message, req: Message) -> Result:
        """The message's ID (unsigned: the hmac of its content)."""
        from hyperbeam.message.id import message_id

        return "ok", message_id(msg)

    @key("committers")
    def committers(self, msg: Message) -> Result:
        commitments = msg.get("commitments", {})
        if not isinstance(commitments, dict):
            return "ok", []
        found = [
            c["committer"] for c in commitments.values() if isinstance(c, dict) and "committer" in c
        ]
        return "ok", found

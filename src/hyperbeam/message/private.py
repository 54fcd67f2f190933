"""Private keys: ``priv`` and every key starting with it.

They are never exposed, encoded or listed. Upstream: hb_private.
"""

from __future__ import annotations

from typing import Any

from hyperbeam.message.model import Message, normalize_key


def is_private(key: object) -> bool:
    if type(key) is str:
        if key.startswith("priv"):
            return True
        if key[:4].lower() != "priv":  # most keys: no need to normalize
            return False
    return normalize_key(key).startswith("priv")


def private_of(msg: Any) -> Message:
    """The private map of a message (empty when it has none)."""
    if isinstance(msg, dict):
        priv = msg.get("priv", {})
        return priv if isinstance(priv, dict) else {}
    return {}


def with_private(msg: Message, priv: Message) -> Message:
    """A copy of ``msg`` with ``priv`` as its private map (keeping the wire a
    :class:`hyperbeam.message.wire.Bound` message has). Upstream: set_priv/2."""
    if not priv and "priv" not in msg:
        return msg
    new = {**msg, "priv": priv}
    derive = getattr(msg, "derive", None)
    return new if derive is None else derive(new)


def strip_private(msg: Message) -> Message:
    """``msg`` without any private key. Upstream: hb_private:reset/1."""
    if not any(is_private(k) for k in msg):
        return msg
    return {k: v for k, v in msg.items() if not is_private(k)}

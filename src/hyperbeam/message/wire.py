"""A message and the wire it arrived in.

A rich message decoded from a received signed message keeps its
:class:`~hyperbeam.codecs.received.Wire` in its private map, so that
verifying it, listing what it commits to, storing it and sending it again
all work on the bytes that arrived instead of a new encoding.

Messages are never mutated, but they are copied with changes
(``{**msg, "k": v}``), and the private map goes along. So a binding
remembers the values the wire decoded to, and holds only while the message
still has the same values under every committed key (and the same
commitments), of the same types: change any of them and the message no
longer has a wire (it is then encoded as any other message). Values are
compared by identity first, so the common case costs a few pointer checks.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hyperbeam.codecs.received import Path, Wire
from hyperbeam.codecs.structured import Tabm, to_message
from hyperbeam.message.model import Message

_MISSING = object()


@dataclass(frozen=True, slots=True, eq=False)
class Binding:
    """A wire and the values of the message it was bound to."""

    wire: Wire
    values: tuple[tuple[str, object], ...]


def bind(msg: Message, wire: Wire) -> Message:
    """Give ``msg`` (a message being built: not yet seen by anyone else)
    its wire; returns ``msg``."""
    keys = (*wire.committed, "commitments")
    binding = Binding(wire, tuple((key, msg.get(key, _MISSING)) for key in keys))
    priv = msg.get("priv")
    msg["priv"] = {**priv, "wire": binding} if isinstance(priv, dict) else {"wire": binding}
    return msg


def wire_of(msg: Any) -> Wire | None:
    """The wire ``msg`` still matches, or ``None``."""
    if not isinstance(msg, dict):
        return None
    priv = msg.get("priv")
    binding = priv.get("wire") if isinstance(priv, dict) else None
    if not isinstance(binding, Binding):
        return None
    for key, value in binding.values:
        now = msg.get(key, _MISSING)
        if now is not value and (type(now) is not type(value) or now != value):
            return None
    return binding.wire


def to_rich(tabm: Tabm, wires: list[tuple[Path, Wire]]) -> Message:
    """The rich message of a decoded TABM, each signed message in it bound
    to its wire (``wires`` as :func:`hyperbeam.codecs.received.decode` gives them)."""
    rich = to_message(tabm)
    for path, wire in wires:
        target: Any = rich
        for key in path:
            target = target.get(key) if isinstance(target, dict) else None
        if isinstance(target, dict):
            bind(target, wire)
    return rich

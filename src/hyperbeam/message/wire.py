"""A message and the wire it arrived in (or was signed in).

A rich message decoded from a received signed message, or signed by this
node, is a :class:`Bound` message: a ``dict`` (equal to the same plain
dict) that also holds its :class:`~hyperbeam.codecs.received.Wire`. So
verifying it, listing what it commits to, storing it and sending it again
all work on those bytes instead of a new encoding.

Messages are never mutated, but they are copied with changes. A plain copy
(``{**msg, "k": v}``) is a plain ``dict``: it has no wire and is encoded as
any other message. :func:`derive` makes a copy that keeps the wire. A
binding remembers the values the wire decoded to and holds only while the
message still has the same values under every committed key (and the same
commitments), of the same types; the wire stands for the whole message
(:func:`exact_wire`) only while no other key was added. Values are compared
by identity first, so the common case costs a few pointer checks.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hyperbeam.codecs.received import Path, Wire
from hyperbeam.codecs.structured import Tabm, to_message
from hyperbeam.message.model import Message
from hyperbeam.message.private import is_private

_MISSING = object()


@dataclass(frozen=True, slots=True, eq=False)
class Binding:
    """A wire and the values of the message it was bound to."""

    wire: Wire
    values: tuple[tuple[str, object], ...]
    #: The keys of the message the wire covers.
    keys: frozenset[str]

    def holds(self, msg: Message) -> bool:
        """Whether ``msg`` still has the values the wire decoded to."""
        for key, value in self.values:
            now = msg.get(key, _MISSING)
            if now is not value and (type(now) is not type(value) or now != value):
                return False
        return True

    def exact(self, msg: Message, extra: frozenset[str] = frozenset()) -> bool:
        """Whether ``msg`` is the message of the wire, with no other keys
        than ``extra`` added."""
        return self.holds(msg) and all(k in self.keys or k in extra or is_private(k) for k in msg)

    def kept_tabm(self, msg: Message) -> Tabm | None:
        """The TABM the wire decoded to, when ``msg`` is exactly its
        message (read by :func:`hyperbeam.codecs.structured.from_message`)."""
        return dict(self.wire.tabm) if self.wire.tabm and self.exact(msg) else None


class Bound(dict[str, Any]):
    """A message with its binding; equal to the plain dict of its keys."""

    __slots__ = ("binding",)

    def __init__(self, items: Message, binding: Binding) -> None:
        super().__init__(items)
        self.binding = binding

    def derive(self, new: Message) -> Bound:
        """``new`` (made from this message) with this message's binding."""
        return Bound(new, self.binding)


def bind(msg: Message, wire: Wire) -> Bound:
    """``msg`` as the message of ``wire``."""
    keys = (*wire.committed, "commitments")
    covered = frozenset(keys)
    binding = Binding(
        wire,
        tuple((key, msg.get(key, _MISSING)) for key in keys),
        # (A nested message may carry keys its signature does not cover: it is
        # then not exactly the wire's message.)
        frozenset(k for k in msg if k in covered),
    )
    return Bound(msg, binding)


def derive(msg: Any, new: Message) -> Message:
    """``new`` (a message made from ``msg``, sharing its values) keeping
    ``msg``'s wire, which holds as long as the committed values are the same."""
    if isinstance(msg, Bound):
        return msg.derive(new)
    return new


def as_signed(msg: Any) -> Any:
    """``msg`` with its committed keys set back to the values its wire
    signed (a request's ``path``, say, after routing rewrote it), so that it
    verifies again; a message with no wire as it is."""
    if not isinstance(msg, Bound):
        return msg
    original = dict(msg)
    for key, value in msg.binding.values:
        if value is _MISSING:
            original.pop(key, None)
        else:
            original[key] = value
    return msg.derive(original)


def wire_of(msg: Any) -> Wire | None:
    """The wire ``msg`` still matches (its committed values unchanged), or ``None``."""
    if isinstance(msg, Bound) and msg.binding.holds(msg):
        return msg.binding.wire
    return None


def exact_wire(msg: Any, extra: frozenset[str] = frozenset()) -> Wire | None:
    """The wire ``msg`` is exactly the message of (no keys added but
    ``extra``), or ``None``: what can be stored or sent as the wire."""
    if isinstance(msg, Bound) and msg.binding.exact(msg, extra):
        return msg.binding.wire
    return None


def to_rich(tabm: Tabm, wires: list[tuple[Path, Wire]]) -> Message:
    """The rich message of a decoded TABM, each signed message in it bound
    to its wire (``wires`` as :func:`hyperbeam.codecs.received.decode` gives them).
    The deepest are bound first, so that a message's binding sees its
    nested messages as they will stay."""
    rich = to_message(tabm)
    for path, wire in sorted(wires, key=lambda entry: -len(entry[0])):
        if not path:
            rich = bind(rich, wire)
            continue
        parent: Any = rich
        for key in path[:-1]:
            parent = parent.get(key) if isinstance(parent, dict) else None
        target = parent.get(path[-1]) if isinstance(parent, dict) else None
        if isinstance(target, dict):
            parent[path[-1]] = bind(target, wire)  # still being built: no one else has it
    return rich

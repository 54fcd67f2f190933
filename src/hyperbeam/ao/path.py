"""Request paths and hashpaths.

A hashpath is a rolling Merkle list of the messages applied to reach a
message. It has two parts, ``<base>/<last-request-id>``; each step hashes the
two previous parts into a new base:

    Msg1.HashPath = Msg1.ID
    Msg3.HashPath = Alg(Msg1.HashPath parts) ++ "/" ++ Msg2.ID

Upstream: hb_path.
"""

from __future__ import annotations

import re
from collections import UserString
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from hyperbeam.message.ids import accumulate, human_id, native_id, sha256, sha256_chain
from hyperbeam.message.model import Message, normalize_key, normalize_keys
from hyperbeam.message.private import private_of

#: Keys that belong to AO-Core itself rather than to a message's content.
AO_CORE_KEYS = ("path", "hashpath", "priv")


@dataclass(frozen=True, slots=True)
class As:
    """Resolve ``msg`` with ``device`` set on it (upstream ``{as, Dev, Msg}``)."""

    device: str
    msg: Any


@dataclass(frozen=True, slots=True)
class Subresolve:
    """A list of messages to resolve first (upstream ``{resolve, Msgs}``)."""

    messages: list[Any]


def term_to_path_parts(path: Any) -> list[Any] | None:
    """Split any path term into its parts; ``None`` when there is no path.

    Upstream: hb_path:term_to_path_parts/2.
    """
    if path is None or path == [] or path == "" or path == b"":
        return None
    if path in ("/", b"/"):
        return []
    if isinstance(path, bytes):
        path = path.decode("utf-8", "surrogateescape")
    if isinstance(path, str):
        if "/" not in path:
            return [path]
        return [part for part in path.split("/") if part]
    if isinstance(path, list | tuple):
        out: list[Any] = []
        for part in path:
            sub = term_to_path_parts(part)
            if sub:
                out.extend(sub)
        return out
    if isinstance(path, bool):
        return [normalize_key(path)]
    if isinstance(path, int):
        return [str(path)]
    if isinstance(path, As):
        return [As(normalize_key(path.device), path.msg)]
    if isinstance(path, dict | Subresolve):
        return [path]
    return [normalize_key(path)]


def request_parts(msg: Any) -> list[Any] | None:
    """The parts of a message's request ``path``. Upstream: from_message(request, _)."""
    if not isinstance(msg, dict):
        return None
    for key in ("path", "Path"):
        if key in msg:
            return term_to_path_parts(msg[key])
    return None


def to_binary(path: Any) -> str:
    """Any path term as ``a/b/c``. Upstream: hb_path:to_binary/1."""
    parts = term_to_path_parts(path) or []
    return "/".join(str(p) if not isinstance(p, str) else p for p in parts)


def pop_request(msg: Message | list[Any] | None) -> tuple[Any, Any] | None:
    """The next request part and what remains after it; ``None`` when nothing does.

    For a message the remainder is the message with the rest of its path, or
    ``None`` after the last part. For a list of parts it is the rest of the
    list (``[]`` after the last part). Upstream: hb_path:pop_request/2.
    """
    if msg is None:
        return None
    if isinstance(msg, list):
        return (msg[0], msg[1:]) if msg else None
    parts = request_parts(msg)
    if not parts:
        return None
    head, rest = parts[0], parts[1:]
    return head, ({**msg, "path": rest} if rest else None)


def tl(msg: Message | list[Any]) -> Any:
    """A request without its first part: a message, or a list of parts.

    ``None`` when no part would remain. Upstream: hb_path:tl/2.
    """
    if isinstance(msg, list):
        rest = tl({"path": msg})
        return rest["path"] if isinstance(rest, dict) else None
    popped = pop_request(msg)
    return None if popped is None else popped[1]


def push_request(msg: Message, path: Any) -> Message:
    """Put ``path`` in front of the message's remaining request path."""
    return {**msg, "path": (term_to_path_parts(path) or []) + (request_parts(msg) or [])}


def queue_request(msg: Message, path: Any) -> Message:
    """Put ``path`` at the back of the message's remaining request path."""
    return {**msg, "path": (request_parts(msg) or []) + (term_to_path_parts(path) or [])}


def matches(key1: Any, key2: Any) -> bool:
    """Do two keys (or paths of keys) name the same thing? Upstream: matches/2."""
    return normalize_key(key1).lower() == normalize_key(key2).lower()


def normalize(path: Any) -> str:
    """A path as text with exactly one leading ``/``. Upstream: hb_path:normalize/1."""
    text = path.decode() if isinstance(path, bytes) else str(path)
    return text if text.startswith("/") else "/" + text


def regex_matches(path: Any, pattern: Any) -> bool:
    """Does ``pattern`` (a regular expression) occur in ``path``?

    Both are normalized to start with ``/``; a pattern that does not compile
    matches nothing. Upstream: hb_path:regex_matches/2.
    """
    text = normalize(normalize_key(path))
    try:
        return re.search(normalize(normalize_key(pattern)), text) is not None
    except re.error:
        return False


def hd(msg: Message) -> Any:
    """The first key of a request. Upstream: hb_path:hd/2."""
    popped = pop_request(msg)
    if popped is None:
        return None
    head = popped[0]
    parts = term_to_path_parts(head)
    return parts[0] if parts else head


# --- hashpaths --------------------------------------------------------------

IdFunction = Callable[[Message], str]
HashpathAlg = Callable[[bytes, bytes], bytes]


def hashpath_alg(msg: Message) -> HashpathAlg:
    """The chaining function a message asks for. Default: ``sha-256-chain``."""
    alg = msg.get("hashpath-alg") if isinstance(msg, dict) else None
    if alg == "accumulate-256":
        return accumulate
    return sha256_chain


class LazyHashpath(UserString):
    """A hashpath computed the first time it is read.

    Taking an unsigned message's ID means encoding all of it, and most
    hashpaths (every step of a computation has one) are never read. It holds
    what it needs: the hashpath of the base (itself maybe lazy) or, when the
    base has none, the base itself, and the request's ID. A chain of lazy
    hashpaths longer than :data:`MAX_LAZY_DEPTH` is computed at once, so
    that it never holds more than that many steps of a computation alive.
    It reads as text (``str(h)``, ``==`` with a ``str``, ``.split``...).
    """

    def __init__(self, base: Any, msg2: Any, alg: HashpathAlg, id_of: IdFunction) -> None:
        # (UserString.__init__ would set ``data``: it is computed instead.)
        self._base: Any = base
        self._msg2: Any = msg2  # its ID, or the request to take it of
        self._alg = alg
        self._id_of = id_of
        self._value: str | None = None
        self.depth: int = base.depth + 1 if isinstance(base, LazyHashpath) else 1
        if self.depth > MAX_LAZY_DEPTH:
            self.data  # noqa: B018 - computing it now drops the chain

    @property
    def data(self) -> str:  # type: ignore[override]  # (computed, never assigned)
        if self._value is None:
            base, msg2 = self._base, self._msg2
            base_text = str(base) if isinstance(base, str | UserString) else self._id_of(base)
            msg2_id = msg2 if isinstance(msg2, str) else _request_id(msg2, self._id_of)
            self._value = chain_hashpath(base_text, msg2_id, self._alg)
            self._base = self._msg2 = None  # nothing is held once it is known
            self.depth = 0
        return self._value


#: The longest chain of lazy hashpaths (see :class:`LazyHashpath`).
MAX_LAZY_DEPTH = 32


def base_hashpath(msg: Any, id_of: IdFunction) -> str:
    """The hashpath of a message itself: its private hashpath, else its ID."""
    if isinstance(msg, str | bytes):
        data = msg.encode() if isinstance(msg, str) else msg
        return human_id(sha256(data))
    msg = normalize_keys(msg)
    hashpath = private_of(msg).get("hashpath")
    if hashpath is not None:
        return str(hashpath)
    return id_of(msg)


def hashpath(msg1: Message, msg2: Any, id_of: IdFunction) -> str:
    """The hashpath of the result of applying ``msg2`` to ``msg1``.

    ``id_of`` gives a message's ID including all its commitments (upstream's
    ``dev_message:id(Msg, #{commitments => all})``).
    Upstream: hb_path:hashpath/3,4.
    """
    return lazy_hashpath(msg1, msg2, id_of).data


def lazy_hashpath(msg1: Message, msg2: Any, id_of: IdFunction) -> LazyHashpath:
    """:func:`hashpath`, computed when first read (see :class:`LazyHashpath`):
    the IDs of the base and of the request are taken only then."""
    if isinstance(msg1, str | bytes):
        base: Any = base_hashpath(msg1, id_of)
    else:
        normal = normalize_keys(msg1)
        found = private_of(normal).get("hashpath")
        base = found if found is not None else normal
    request = msg2 if isinstance(msg2, dict) else str(msg2)
    return LazyHashpath(base, request, hashpath_alg(msg1), id_of)


def _request_id(msg2: Any, id_of: IdFunction) -> str:
    if isinstance(msg2, dict):
        content = {k: v for k, v in msg2.items() if k not in AO_CORE_KEYS}
        parts = request_parts(msg2)
        use_key = not content and parts is not None
        return to_binary(parts[0]) if use_key and parts else id_of(msg2)
    return str(msg2)


def chain_hashpath(msg1_hashpath: str, msg2_id: str, alg: HashpathAlg = sha256_chain) -> str:
    """Add one step to a hashpath. Upstream: hb_path:hashpath/4."""
    parts = term_to_path_parts(msg1_hashpath) or []
    if len(parts) <= 1:
        return f"{msg1_hashpath}/{msg2_id}"
    if len(parts) != 2:
        raise ValueError(f"hashpath has {len(parts)} parts: {msg1_hashpath!r}")
    prev1, prev2 = parts
    prev2_bytes = native_id(prev2) if len(prev2) == 43 else prev2.encode()
    new_base = alg(native_id(prev1), prev2_bytes)
    return f"{human_id(new_base)}/{msg2_id}"


def verify_hashpath(messages: list[Message], id_of: IdFunction) -> bool:
    """Check that each third message's hashpath follows from the two before it."""
    for msg1, msg2, msg3 in zip(messages, messages[1:], messages[2:], strict=False):
        if hashpath(msg1, msg2, id_of) != base_hashpath(msg3, id_of):
            return False
    return True

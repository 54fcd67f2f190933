"""Message IDs as upstream computes them.

A message without (relevant) commitments is identified by the hmac-sha256
(key ``ao``) of its RFC 9421 signature base in ``httpsig@1.0`` form. A
message with one relevant commitment is identified by that commitment's ID;
with several, by the sha256 of their sorted IDs joined with ``", "``.

Which commitments are relevant is chosen as a ``message@1.0`` request does,
with ``committers`` and ``commitments`` (see :func:`commitment_ids`). By
default every commitment counts.

Upstream: dev_message:id/3, with_relevant_commitments/3,
commitment_ids_from_request/3, commitment_ids_from_committers/2,
calculate_ids/3; dev_codec_httpsig:id/3 and reset_hmac/1.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable, Mapping, Sequence
from typing import Any, TypeAlias

from hyperbeam.codecs.httpsig import hmac_id
from hyperbeam.codecs.structured import from_message, sort_keys, to_bytes
from hyperbeam.errors import CodecError
from hyperbeam.message.ids import human_id, is_id, sha256
from hyperbeam.message.model import Atom, Message
from hyperbeam.message.private import is_private

#: How a request names commitments or committers: ``"all"``, ``"none"``, one
#: ID or address, or a list of them (a numbered message is read as a list).
Selector: TypeAlias = str | bytes | Atom | Sequence[str | bytes] | Mapping[str, Any] | None


class CommittersNotFound(CodecError):
    """A request names committers or commitments the message does not have.
    Upstream throws ``{verify, {requested_committers_not_found, ...}}``."""

    status = 400


def message_id(msg: Message, committers: Selector = "none", commitments: Selector = None) -> str:
    """The 43-character ID of ``msg``.

    ``committers`` and ``commitments`` select the commitments that count, as
    in :func:`commitment_ids`; the defaults count all of them.
    Upstream: dev_message:id/3.
    """
    ids = commitment_ids(msg, committers, commitments)
    if not ids:
        return unsigned_id(msg)
    humans = [_human(cid) for cid in ids]
    if len(humans) == 1:
        return humans[0]
    line = ", ".join(sort_keys(set(humans))).encode("ascii")
    return human_id(sha256(line))


def unsigned_id(msg: Message) -> str:
    """The ID of ``msg`` ignoring its commitments: the hmac of its content.

    Upstream: dev_message:id(Msg, #{<<"committers">> => []}, Opts),
    which reaches dev_codec_httpsig:id/3 and reset_hmac/1.
    """
    if not isinstance(msg, dict):
        raise CodecError(f"cannot take the ID of a {type(msg).__name__}")
    # Private keys never count (and their live objects cannot be fingerprinted).
    body = {k: v for k, v in msg.items() if k != "commitments" and not is_private(k)}
    if "signature-input" in body:
        # A signature-input the message carries itself is not ours to use:
        # upstream relabels it (dev_codec_httpsig:find_id/1).
        body["x-signature-input"] = body.pop("signature-input")
    key = _fingerprint(body)
    if key is not None:
        with _MEMO_LOCK:
            found = _MEMO.get(key)
            if found is not None:
                _MEMO.move_to_end(key)
                return found
    result = hmac_id(from_message(body))
    if key is not None:
        with _MEMO_LOCK:
            _MEMO[key] = result
            if len(_MEMO) > _MEMO_SIZE:
                _MEMO.popitem(last=False)
    return result


#: Recent unsigned IDs, keyed by the content they were computed from (with
#: types, so that ``1``, ``1.0`` and ``True`` stay apart): an hmac ID needs a
#: full encoding of the message, and the same messages are identified again
#: and again (a process on every schedule request, hashpaths, the cache).
_MEMO: OrderedDict[Hashable, str] = OrderedDict()
_MEMO_LOCK = threading.Lock()
_MEMO_SIZE = 4096
#: Messages holding larger binaries are not remembered (nor kept alive).
_MEMO_MAX_BINARY = 4096


def _fingerprint(value: Any) -> Hashable | None:
    """A hashable copy of a message's content, or ``None`` if it holds
    something too large or not hashable."""
    kind = type(value)
    if kind is dict:
        parts = []
        for k, v in value.items():
            inner = _fingerprint(v)
            if inner is None:
                return None
            parts.append((k, inner))
        return (dict, tuple(parts))
    if kind is list or kind is tuple:
        items = []
        for v in value:
            inner = _fingerprint(v)
            if inner is None:
                return None
            items.append(inner)
        return (kind, tuple(items))
    if kind is str or kind is bytes:
        return (kind, value) if len(value) <= _MEMO_MAX_BINARY else None
    if kind is float:
        return (kind, repr(value))  # 0.0 and -0.0 are equal, but encode apart
    if kind is int or kind is bool or value is None:
        return (kind, value)
    return None


def commitment_ids(
    msg: Message, committers: Selector = "none", commitments: Selector = None
) -> list[str]:
    """The IDs of the commitments of ``msg`` that a request selects.

    ``committers`` is ``"none"`` (the default), ``"all"`` (every commitment
    with a ``committer``), one address or a list of them; ``commitments`` is
    ``"all"``, ``"none"``, one commitment ID or a list of them, and defaults
    to ``"all"`` when ``committers`` is ``"none"`` and to ``"none"``
    otherwise. The result is the committers' commitments, then the named
    ones, without repeats. A committer without a commitment, or a named
    commitment the message lacks, raises :class:`CommittersNotFound`.
    Upstream: dev_message:commitment_ids_from_request/3.
    """
    found = commitments_of(msg)
    req_committers = _selector(committers if committers is not None else "none")
    default = "all" if req_committers == "none" else "none"
    if _is_commitments_map(commitments):
        # A signed request's own commitments, not a selection of them.
        commitments = None
    req_commitments = _selector(commitments if commitments is not None else default)
    from_committers: list[str] = []
    if req_committers == "all":
        from_committers = _ids_of_committers(committers_of(msg), found)
    elif req_committers != "none":
        names = [req_committers] if isinstance(req_committers, str) else req_committers
        from_committers = _ids_of_committers(names, found)
    from_ids: list[str] = []
    if req_commitments == "all":
        from_ids = list(found)
    elif req_commitments != "none":
        names = [req_commitments] if isinstance(req_commitments, str) else req_commitments
        missing = [name for name in names if name not in found]
        if missing:
            raise CommittersNotFound(f"the message has no commitments {missing}")
        from_ids = names
    return list(dict.fromkeys([*from_committers, *from_ids]))


def _is_commitments_map(value: object) -> bool:
    """A map of commitment messages (as a signed request carries), which
    selects nothing: a selector is a name, an ID or a list of them."""
    return (
        isinstance(value, Mapping)
        and bool(value)
        and all(isinstance(v, Mapping) for v in value.values())
    )


def commitments_of(msg: Any) -> dict[str, Any]:
    """The ``commitments`` of a message (empty when it has none)."""
    if not isinstance(msg, dict):
        raise CodecError(f"a {type(msg).__name__} has no commitments")
    found = msg.get("commitments", {})
    if not isinstance(found, dict):
        raise CodecError("commitments must be a message")
    return found


def committers_of(msg: Any) -> list[str]:
    """The ``committer`` of each commitment that has one, in commitment-ID
    order. Upstream: dev_message:committers/3."""
    found = commitments_of(msg)
    out: list[str] = []
    for cid in sort_keys(found):
        commitment = found[cid]
        if isinstance(commitment, dict) and commitment.get("committer") is not None:
            out.append(_text(commitment["committer"]))
    return out


def _ids_of_committers(names: Sequence[str], found: Mapping[str, Any]) -> list[str]:
    """Upstream: dev_message:commitment_ids_from_committers/2."""
    out: list[str] = []
    missing: list[str] = []
    for name in names:
        ids = [
            cid
            for cid in sort_keys(found)
            if isinstance(found[cid], dict)
            and found[cid].get("committer") is not None
            and _text(found[cid]["committer"]) == name
        ]
        if not ids:
            missing.append(name)
        out += ids
    if missing:
        raise CommittersNotFound(f"no commitments by the committers {missing}")
    return out


def _selector(value: Selector) -> str | list[str]:
    """``"all"``/``"none"`` (any case), one name, or a list of names."""
    if isinstance(value, Atom):
        value = value.name
    if isinstance(value, str | bytes):
        text = _text(value)
        return text.lower() if text.lower() in ("all", "none") else text
    if isinstance(value, Mapping):
        try:
            ordered = sorted(value.items(), key=lambda pair: int(pair[0]))
        except ValueError:
            raise CodecError(f"cannot read {value!r} as a list of names") from None
        return [_text(v) for _, v in ordered]
    if isinstance(value, Sequence):
        return [_text(v) for v in value]
    raise CodecError(f"cannot read {value!r} as commitments or committers")


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bytes | bytearray):
        return to_bytes(value).decode("utf-8", "surrogateescape")
    raise CodecError(f"{value!r} is not a name")


def _human(key: Any) -> str:
    if isinstance(key, bytes) and len(key) == 32:
        return human_id(key)
    if isinstance(key, str) and is_id(key):
        return key
    raise CodecError(f"commitment key {key!r} is not an ID")

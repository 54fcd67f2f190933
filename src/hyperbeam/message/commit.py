"""Commitments: signing messages, verifying them, and the message formats.

A *commitment* is an entry of a message's ``commitments`` map, keyed by its
ID: a signature (``rsa-pss-sha512``, with a ``committer`` address) or an
hmac (``hmac-sha256``) over the message, made by a *commitment device* such
as ``httpsig@1.0``. This module is the API over them -- commit, verify, list
committers, keep only what is committed -- and converts messages between
formats through the TABM (see :func:`convert`).

Formats are :class:`Codec` entries in a small registry: ``structured@1.0``
(rich messages), ``tabm`` and ``httpsig@1.0`` are built in; ``flat@1.0``,
``json@1.0`` and ``ans104@1.0`` come from ``hyperbeam.codecs.flat`` /
``json`` / ``ans104``, loaded on first use (a module may define its own
``CODEC``; otherwise an adapter over its functions is used); others can be
added with :func:`register_codec`. As upstream, flat@1.0 and json@1.0 sign
with httpsig@1.0, and structured@1.0 does too.

Upstream: hb_message (convert/3, id/2, commit/3, verify/2, signers/1,
committed/3, with_only_committed/2, with_only_committers/2, commitment/3,
with_commitments/3, without_commitments/3, match/3, minimize/2,
normalize/1, find_target/3) and dev_message (commit/3, verify/3,
committed/3, exec_for_commitment/5).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, TypeAlias

from hyperbeam.codecs import httpsig, received
from hyperbeam.codecs.structured import (
    Tabm,
    filter_default_keys,
    from_message,
    is_id_sized,
    normalize_key,
    to_bytes,
    to_message,
)
from hyperbeam.crypto.wallet import Wallet
from hyperbeam.errors import CodecError
from hyperbeam.message.id import (
    CommittersNotFound,
    Selector,
    commitment_ids,
    commitments_of,
    committers_of,
    message_id,
)
from hyperbeam.message.model import Message
from hyperbeam.message.private import is_private, private_of
from hyperbeam.message.wire import bind, derive, exact_wire, wire_of

DEFAULT_DEVICE = "httpsig@1.0"
MatchMode: TypeAlias = Literal["strict", "only_present", "primary"]

# --- the codec registry ----------------------------------------------------------


@dataclass(frozen=True)
class Codec:
    """A message format: how to reach a TABM from it and back, and, for
    commitment devices, how to commit, verify and list committed keys.

    ``to_tabm`` is upstream's ``Codec:from/1`` and ``from_tabm`` its
    ``Codec:to/1``. ``commit(tabm, wallet)`` returns the TABM with a new
    commitment; ``verify(tabm, commitment_id)`` and
    ``committed(tabm, commitment_id)`` read one commitment of a TABM.
    """

    name: str
    to_tabm: Callable[[Any], Any]
    from_tabm: Callable[[Any], Any]
    commit: Callable[[Tabm, Wallet], Tabm] | None = None
    verify: Callable[[Tabm, str], bool] | None = None
    committed: Callable[[Tabm, str], list[str]] | None = None


def _passing_binaries(convert: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """Upstream codecs return a bare binary unchanged (``from(Bin) -> Bin``)."""

    def wrapped(value: Any) -> Any:
        if isinstance(value, str | bytes):
            return value
        return convert(value)

    return wrapped


def _identity(value: Any) -> Any:
    return value


_CODECS: dict[str, Codec] = {
    # upstream: dev_codec_structured relays commit/verify/committed to httpsig
    "structured@1.0": Codec(
        "structured@1.0",
        _passing_binaries(from_message),
        _passing_binaries(to_message),
        commit=httpsig.commit,
        verify=httpsig.verify_commitment,
        committed=httpsig.committed_keys,
    ),
    "httpsig@1.0": Codec(
        "httpsig@1.0",
        _passing_binaries(httpsig.from_httpsig),
        _passing_binaries(httpsig.to_httpsig),
        commit=httpsig.commit,
        verify=httpsig.verify_commitment,
        committed=httpsig.committed_keys,
    ),
    "tabm": Codec("tabm", _identity, _identity),
}


def _httpsig_commitments(name: str, to_tabm: Any, from_tabm: Any) -> Codec:
    """A codec whose commit/verify/committed are httpsig@1.0's, as upstream's
    dev_codec_flat and dev_codec_json relay them."""
    return Codec(
        name,
        to_tabm,
        from_tabm,
        commit=httpsig.commit,
        verify=httpsig.verify_commitment,
        committed=httpsig.committed_keys,
    )


def _flat_codec(module: Any) -> Codec:
    return _httpsig_commitments("flat@1.0", module.from_flat, module.to_flat)


def _json_codec(module: Any) -> Codec:
    return _httpsig_commitments("json@1.0", module.from_json, module.to_json)


def _ans104_codec(module: Any) -> Codec:
    """hyperbeam.codecs.ans104 signs and reads rich messages; the registry
    works on TABMs."""

    def commit_tabm(tabm: Tabm, wallet: Wallet) -> Tabm:
        signed: Tabm = from_message(module.commit(tabm, wallet))
        return signed

    return Codec(
        "ans104@1.0",
        module.from_item,
        module.to_item,
        commit=commit_tabm,
        verify=module.verify_commitment,
        committed=module.committed_keys,
    )


#: Codecs other modules implement, loaded on first use if they exist: the
#: module's own ``CODEC`` if it has one, else an adapter over its functions.
_OPTIONAL: dict[str, tuple[str, Callable[[Any], Codec]]] = {
    "flat@1.0": ("hyperbeam.codecs.flat", _flat_codec),
    "json@1.0": ("hyperbeam.codecs.json", _json_codec),
    "ans104@1.0": ("hyperbeam.codecs.ans104", _ans104_codec),
}


def register_codec(codec: Codec) -> None:
    """Make ``codec`` available to :func:`convert`, :func:`commit` and
    :func:`verify` under its name."""
    _CODECS[codec.name] = codec


def get_codec(name: str) -> Codec:
    """The codec called ``name``. Upstream: hb_message:get_codec/2."""
    found = _CODECS.get(name)
    if found is None and name in _OPTIONAL:
        found = _load_optional(name)
    if found is None:
        raise CodecError(f"no message codec {name!r}")
    return found


def available_codecs() -> list[str]:
    """The names of every codec that can be used now."""
    for name in _OPTIONAL:
        if name not in _CODECS:
            _load_optional(name)
    return sorted(_CODECS)


def _load_optional(name: str) -> Codec | None:
    module_name, adapter = _OPTIONAL[name]
    try:
        module = importlib.import_module(module_name)
    except ImportError:
        return None
    codec = getattr(module, "CODEC", None)
    if not isinstance(codec, Codec):
        try:
            codec = adapter(module)
        except AttributeError:
            return None
    _CODECS[name] = codec
    return codec


# --- conversion ------------------------------------------------------------------


def convert(msg: Any, to_format: str, from_format: str = "structured@1.0") -> Any:
    """Convert ``msg`` from one format to another through a TABM.

    The private map (``priv``) of a message stays with it: it is set aside
    before the conversion and merged back into the result when that is a
    map. Bare binaries pass through unchanged. Upstream: hb_message:convert/4.
    """
    old_priv = private_of(msg)
    source = msg
    if isinstance(msg, dict) and from_format != "structured@1.0":
        # (structured@1.0 leaves private keys out itself, and a copy would
        # lose the wire a bound message keeps: see message.wire.)
        source = {k: v for k, v in msg.items() if k != "priv"}
    tabm = get_codec(from_format).to_tabm(source)
    out = tabm if to_format == "tabm" else get_codec(to_format).from_tabm(tabm)
    return _restore_priv(out, old_priv)


def _restore_priv(msg: Any, old_priv: Message) -> Any:
    """Upstream: hb_message:restore_priv/2."""
    if not old_priv or not isinstance(msg, dict):
        return msg
    return {**msg, "priv": _deep_merge(private_of(msg), old_priv)}


def _deep_merge(base: Message, new: Message) -> Message:
    out = dict(base)
    for key, value in new.items():
        old = out.get(key)
        if isinstance(old, dict) and isinstance(value, dict):
            out[key] = _deep_merge(old, value)
        else:
            out[key] = value
    return out


def _to_tabm(msg: Message) -> Tabm:
    """A message (rich or TABM) as a TABM, keeping its private map."""
    if not isinstance(msg, dict):
        raise CodecError(f"a {type(msg).__name__} is not a message")
    tabm: Tabm = convert(msg, "tabm")
    return tabm


def _to_rich(tabm: Tabm) -> Message:
    rich: Message = convert(tabm, "structured@1.0", "tabm")
    return rich


# --- IDs -------------------------------------------------------------------------

IdScope: TypeAlias = Literal["uncommitted", "unsigned", "none", "all", "signed"]


def id(msg: Message, committers: IdScope | Sequence[str] = "uncommitted") -> str:
    """The ID of ``msg`` as ``hb_message:id/2`` reads its second argument.

    ``"uncommitted"`` (the default) and ``"unsigned"`` count every
    commitment (upstream passes ``committers: "none"``, which means the
    default, all); ``"none"`` counts none (the hmac of the content);
    ``"all"`` counts the signed commitments of every committer; ``"signed"``
    those of :func:`signers`; a list, those of the committers it names.
    Upstream: hb_message:id/3.
    """
    selector: Selector
    if committers in ("uncommitted", "unsigned"):
        selector = "none"
    elif committers == "none":
        selector = []
    elif committers == "all":
        selector = "all"
    elif committers == "signed":
        selector = signers(msg)
    else:
        selector = list(committers)
    return message_id(msg, selector)


# --- committing and verifying --------------------------------------------------------


def commit(msg: Message, wallet: Wallet, device: str = DEFAULT_DEVICE) -> Message:
    """``msg`` signed by ``wallet`` with the commitment device ``device``,
    as a rich message (its private map kept).
    Upstream: hb_message:commit/3 and dev_message:commit/3."""
    return commit_tabm(msg, wallet, device)[0]


def commit_tabm(msg: Message, wallet: Wallet, device: str = DEFAULT_DEVICE) -> tuple[Message, Tabm]:
    """:func:`commit`, also giving the signed message as a TABM (as the
    codec made it), for a caller that would convert it straight back."""
    codec = get_codec(device)
    if codec.commit is None:
        raise CodecError(f"{device} cannot commit to messages")
    if codec.commit is httpsig.commit:
        # Signed over the encoding it will be sent and stored in (encode once).
        tabm, http = httpsig.commit_encoded(_to_tabm(msg), wallet)
        signed = _restore_priv(_to_rich(tabm), private_of(msg))
        for key, value in msg.items():
            if exact_wire(value) is not None and key in signed:
                signed[key] = value  # the nested signed message itself, with its wire
        wire = received.signed_wire(tabm, http)
        return (signed if wire is None else bind(signed, wire)), tabm
    tabm = codec.commit(_to_tabm(msg), wallet)
    signed = _restore_priv(_to_rich(tabm), private_of(msg))
    return signed, tabm


def verify(
    msg: Message,
    committers: Selector | Literal["signers"] = "all",
    *,
    commitments: Selector = None,
) -> bool:
    """Whether the selected commitments of ``msg`` all hold.

    ``committers`` is ``"all"`` (every signed commitment: the default),
    ``"signers"`` (those of :func:`signers`), ``"none"``, an address or a
    list of addresses; ``commitments`` may also name commitment IDs, or
    ``"all"`` for every commitment including hmacs (see
    :func:`hyperbeam.message.id.commitment_ids`). With nothing selected the
    answer is True, as upstream's. Requested committers or commitments the
    message does not have make the answer False.
    Upstream: hb_message:verify/2 and dev_message:verify/3.
    """
    selector: Selector = signers(msg) if committers == "signers" else committers
    if isinstance(selector, str) and is_id_sized(selector):
        selector = [selector]
    try:
        ids = commitment_ids(msg, selector, commitments)
    except CommittersNotFound:
        return False
    if not ids:
        return True
    wire = wire_of(msg)
    if wire is not None and all(cid in wire.ids for cid in ids):
        return wire.verify() is None  # on the bytes that arrived
    tabm = _to_tabm(msg)
    found = commitments_of(tabm)
    return all(_verify_one(tabm, cid, found[cid]) for cid in ids)


def _verify_one(tabm: Tabm, commitment_id: str, commitment: Any) -> bool:
    """Upstream: dev_message:exec_for_commitment/5 with ``verify``."""
    codec = get_codec(_device_of(commitment))
    if codec.verify is None:
        raise CodecError(f"{codec.name} cannot verify commitments")
    return codec.verify(tabm, commitment_id)


def _device_of(commitment: Any) -> str:
    if not isinstance(commitment, dict):
        raise CodecError("a commitment must be a message")
    device = commitment.get("commitment-device", DEFAULT_DEVICE)
    return to_bytes(device).decode("utf-8", "surrogateescape")


def committers(msg: Message) -> list[str]:
    """Every ``committer`` of ``msg``'s commitments. Upstream:
    dev_message:committers/3."""
    return committers_of(msg)


def signers(msg: Message) -> list[str]:
    """The committers with ordinary (ID-shaped) addresses.
    Upstream: hb_message:signers/1."""
    return [c for c in committers_of(msg) if is_id_sized(c)]


def committed(msg: Message, commitments: Selector = "all") -> list[str]:
    """The keys of ``msg`` that every selected commitment covers (by default
    all of them, hmacs included).
    Upstream: hb_message:committed/3 and dev_message:committed/3."""
    ids = commitment_ids(msg, None, commitments)
    if not ids:
        return []
    wire = wire_of(msg)
    if wire is not None and all(cid in wire.ids for cid in ids):
        return list(wire.committed)
    tabm = _to_tabm(msg)
    found = commitments_of(tabm)
    per_commitment: list[list[str]] = []
    for cid in ids:
        codec = get_codec(_device_of(found[cid]))
        if codec.committed is None:
            raise CodecError(f"{codec.name} cannot list committed keys")
        per_commitment.append(codec.committed(tabm, cid))
    everything = list(dict.fromkeys(key for keys in per_commitment for key in keys))
    return [key for key in everything if all(key in keys for keys in per_commitment)]


def with_only_committed(msg: Message) -> Message:
    """``msg`` with only its committed keys (and its ``commitments``). A
    message without commitments is returned as it is: check that it is
    committed and verifies before trusting the result.
    Upstream: hb_message:with_only_committed/2."""
    if not isinstance(msg, dict) or "commitments" not in msg:
        return msg
    if wire_of(msg) is not None:
        # Its hmac covers its signed components only: it still holds.
        keep = {*committed(msg), "commitments", "priv"}
        return derive(msg, {k: v for k, v in msg.items() if k in keep})
    keep = {*committed(msg), "commitments"}
    kept = {k: v for k, v in msg.items() if k in keep or normalize_key(k) in keep}
    if all(k in kept or k == "body-keys" for k in msg):
        return kept  # the hmac never covers body-keys: it still holds
    return refresh_hmac(kept)


def refresh_hmac(msg: Message) -> Message:
    """``msg`` with its hmac commitment (if it has one) recomputed for the
    keys it has now: an hmac commitment covers every key, so it is stale once
    keys are dropped. Upstream: dev_codec_httpsig:reset_hmac/1."""
    if not _has_hmac(msg):
        return msg
    rebuilt: Message = _restore_priv(_to_rich(httpsig.reset_hmac(_to_tabm(msg))), private_of(msg))
    return rebuilt


def _has_hmac(msg: Message) -> bool:
    found = msg.get("commitments")
    return isinstance(found, dict) and any(
        isinstance(c, dict) and to_bytes(c.get("alg", b"")) == httpsig.HTTP_HMAC_ALG
        for c in found.values()
    )


def with_only_committers(msg: Message, committers: Iterable[str]) -> Message:
    """``msg`` with only the commitments of the given committers (hmacs,
    which have none, are dropped). Upstream: hb_message:with_only_committers/2."""
    if not isinstance(msg, dict):
        raise CodecError(f"a {type(msg).__name__} has no commitments")
    wanted = set(committers)
    kept = {
        cid: commitment
        for cid, commitment in commitments_of(msg).items()
        if isinstance(commitment, dict)
        and commitment.get("committer") is not None
        and to_bytes(commitment["committer"]).decode("utf-8", "surrogateescape") in wanted
    }
    return {**msg, "commitments": kept}


def uncommitted(msg: Any) -> Any:
    """``msg`` without its commitments. Upstream: hb_message:uncommitted/1."""
    if isinstance(msg, dict):
        return {k: v for k, v in msg.items() if k != "commitments"}
    return msg


# --- finding commitments -------------------------------------------------------------


def commitments(msg: Message, spec: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The commitments of ``msg`` that match ``spec`` (all when None), by ID.
    A commitment matches when it has every key of ``spec`` with the same
    value. Upstream: hb_message:with_commitments/3."""
    found = commitments_of(msg)
    if spec is None:
        return dict(found)
    return {cid: comm for cid, comm in found.items() if match(spec, comm, "primary")}


def commitment(spec: Mapping[str, Any] | str, msg: Message) -> tuple[str, Any] | None:
    """The one commitment matching ``spec`` (or made by the committer named),
    or None when there is none or more than one.
    Upstream: hb_message:commitment/3."""
    wanted = {"committer": spec} if isinstance(spec, str) else spec
    if not isinstance(msg, dict) or "commitments" not in msg:
        return None
    found = commitments(msg, wanted)
    if len(found) != 1:
        return None
    return next(iter(found.items()))


def with_commitments(spec: Mapping[str, Any], msg: Message) -> Message:
    """``msg`` keeping only the commitments that match ``spec``.
    Upstream: hb_message:with_commitments/3."""
    if not isinstance(msg, dict) or "commitments" not in msg:
        return msg
    return {**msg, "commitments": commitments(msg, spec)}


def without_commitments(spec: Mapping[str, Any], msg: Message) -> Message:
    """``msg`` without the commitments that match ``spec``.
    Upstream: hb_message:without_commitments/3."""
    if not isinstance(msg, dict) or "commitments" not in msg:
        return msg
    matching = commitments(msg, spec)
    kept = {cid: c for cid, c in commitments_of(msg).items() if cid not in matching}
    return {**msg, "commitments": kept}


# --- matching --------------------------------------------------------------------

_REGEN_KEYS = ("unsigned_id", "content-digest")
_CODEC_KEYS = ("content-type", "body-keys", "inline-body-key")
_MISSING = object()


def match(a: Any, b: Any, mode: MatchMode = "strict") -> bool:
    """Whether two messages hold the same values, nested messages included.

    Keys are normalized; keys that can be regenerated, private keys, keys
    holding an Arweave transaction default and the keys codecs add
    (``content-type``, ``body-keys``, ``inline-body-key``) are ignored.
    Binaries match as bytes (``"a"`` matches ``b"a"``), lists match the
    numbered messages they stand for, and numbers match by value. In
    ``strict`` mode both messages must have the same keys; in
    ``only_present`` mode only keys present in both are compared; in
    ``primary`` mode every key of ``a`` must be in ``b`` with the same value.
    Nested messages are always compared strictly. Upstream: hb_message:match/3.
    """
    first = minimize(_normalize(a), _CODEC_KEYS)
    second = minimize(_normalize(b), _CODEC_KEYS)
    if not isinstance(first, dict) or not isinstance(second, dict):
        return _same_value(first, second)
    if mode == "strict" and sorted(first) != sorted(second):
        return False
    for key in first:
        left = _as_map(first.get(key, _MISSING))
        right = _as_map(second.get(key, _MISSING))
        if left is _MISSING or right is _MISSING:
            if mode == "only_present":
                continue
            return False
        if isinstance(left, dict) and isinstance(right, dict):
            if not match(left, right):
                return False
        elif not _same_value(left, right):
            return False
    return True


def minimize(msg: Any, extra_keys: Iterable[str] = ()) -> Any:
    """``msg`` without regenerable keys (``unsigned_id``,
    ``content-digest``), private keys and ``extra_keys`` (at the top level
    only). Upstream: hb_message:minimize/2."""
    if not isinstance(msg, dict):
        return msg
    dropped = {*_REGEN_KEYS, *(normalize_key(k) for k in extra_keys)}
    return {
        k: minimize(v)
        for k, v in msg.items()
        if normalize_key(k) not in dropped and not is_private(k)
    }


def _normalize(msg: Any) -> Any:
    """Upstream: hb_message:normalize/1 over hb_ao:normalize_keys/1."""
    msg = _as_map(msg)
    if not isinstance(msg, dict):
        return msg
    return filter_default_keys({normalize_key(k): v for k, v in msg.items()})


def _as_map(value: Any) -> Any:
    """Lists as the numbered messages upstream's normalize_keys/1 makes of them."""
    if isinstance(value, list | tuple):
        return {str(i): v for i, v in enumerate(value, start=1)}
    return value


def _same_value(a: Any, b: Any) -> bool:
    """Erlang's ``==`` over our values: binaries as bytes, numbers by value,
    booleans and atoms only equal to themselves."""
    if isinstance(a, str | bytes) and isinstance(b, str | bytes):
        return to_bytes(a) == to_bytes(b)
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return a == b
    if type(a) is not type(b):
        return False
    return bool(a == b)


# --- targets -----------------------------------------------------------------------


def find_target(base: Message, req: Mapping[str, Any]) -> Any:
    """The message an operation applies to: ``base`` when the request's
    ``target`` is ``self`` or absent, else the request's value under the key
    ``target`` names, falling back to its ``body``.
    Upstream: hb_message:find_target/3."""
    target = req.get("target", "self")
    if target == "self" or target == b"self":
        return base
    key = normalize_key(target)
    return req.get(key, req.get("body"))

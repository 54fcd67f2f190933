"""``lookup@1.0``: a message (or binary) of the node's store, by ID.

``read`` answers the message stored under the request's ``target`` (an ID,
a commitment ID or a ``data/...`` path). With ``accept:
application/aos-2`` it answers the message as the JSON "struct" of the aos
process interface instead: ``{"body": <JSON>, "content-type":
"application/aos-2"}``.

The JSON struct (:func:`message_to_json_struct`) is upstream's
dev_json_iface:message_to_json_struct/1; it lives here until that device is
ported.

Upstream: dev_lookup.erl (read/3).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from hyperbeam import cache
from hyperbeam.ao.device import Device, Result, key
from hyperbeam.codecs.structured import Tabm, to_bytes
from hyperbeam.message import commit
from hyperbeam.message.ids import b64url_encode, human_id, is_human_id
from hyperbeam.message.model import Message
from hyperbeam.message.private import strip_private
from hyperbeam.store.base import Store

AOS2 = "application/aos-2"

#: Keys that are fields of the JSON struct rather than tags.
_STRUCT_FIELDS = frozenset({"id", "anchor", "owner", "data", "target", "signature", "commitments"})


class LookupDevice(Device):
    name = "lookup@1.0"

    @key("read")
    def read(self, msg: Message, req: Message, opts: Mapping[str, Any]) -> Result:
        """The message at the request's ``target``, honouring ``accept``."""
        status, found = read_target(req, opts)
        if status != "ok":
            return status, found
        if found is None:
            return "error", "not_found"
        return "ok", render_for(found, req)


def read_target(req: Mapping[str, Any], opts: Mapping[str, Any]) -> Result:
    """The message or binary the cache holds at the request's ``target``:
    ``("ok", value)``, ``("ok", None)`` when there is none, or an error."""
    target = req.get("target")
    if not isinstance(target, str | bytes) or not target:
        return "error", {"status": 400, "body": "the request needs a target"}
    store = node_store(opts)
    if store is None:
        return "error", {"status": 503, "body": "this node has no store"}
    try:
        return "ok", cache.read(target, store)
    except cache.CacheError as exc:
        return "error", {"status": exc.status, "body": exc.reason}


def node_store(opts: Mapping[str, Any]) -> Store | None:
    """The node's store from the resolver options, if it has one."""
    store = opts.get("store")
    return store if isinstance(store, Store) else None


def render_for(found: Message | bytes, req: Mapping[str, Any]) -> Any:
    """``found`` as the request's ``accept`` asks: the aos-2 JSON struct, or as it is."""
    accept = req.get("accept")
    if isinstance(accept, bytes):
        accept = accept.decode("utf-8", "replace")
    if accept == AOS2 and isinstance(found, dict):
        return {
            "body": json.dumps(message_to_json_struct(found), separators=(",", ":")),
            "content-type": AOS2,
        }
    return found


def message_to_json_struct(msg: Message) -> dict[str, Any]:
    """The JSON struct the aos process interface reads: ``Id``, ``Anchor``,
    ``Owner`` (the signer's address), ``From`` (``from-process`` or the
    owner), ``Tags`` (the other keys, header-cased, as ``{name, value}``),
    ``Target``, ``Data`` and ``Signature``.
    Upstream: dev_json_iface:message_to_json_struct/1 (``owner_as_address``)."""
    tabm: Tabm = commit.convert(strip_private(msg), "tabm")
    fields = {k: v for k, v in tabm.items() if k != "commitments"}
    signers = commit.signers(msg) if "commitments" in msg else []
    owner = signers[0] if signers else ""
    from_process = _text(fields.get("from-process", owner))
    target = _text(fields.get("target", b""))
    raw_sig = fields.get("signature", b"")
    signature = to_bytes(raw_sig) if _is_bin(raw_sig) else b""
    return {
        "Id": commit.id(msg, "all"),
        "Anchor": _json_value(fields.get("anchor", "")),
        "Owner": owner,
        "From": _as_id(from_process),
        "Tags": _tags(tabm),
        "Target": _as_id(target),
        "Data": _json_value(fields.get("data", "")),
        "Signature": _signature(signature),
    }


def _tags(tabm: Tabm) -> list[dict[str, Any]]:
    """Upstream: prepare_tags/1 -- an ANS-104 commitment's ``original-tags``
    when there is one, else every other key, header-cased."""
    ans104 = _ans104_original_tags(tabm)
    if ans104 is not None:
        return ans104
    return [
        {"name": _header_case(k), "value": _json_value(v)}
        for k, v in tabm.items()
        if k not in _STRUCT_FIELDS
    ]


def _ans104_original_tags(tabm: Tabm) -> list[dict[str, Any]] | None:
    found = tabm.get("commitments")
    if not isinstance(found, dict):
        return None
    matching = [
        c
        for c in found.values()
        if isinstance(c, dict) and _text(c.get("commitment-device", b"")) == "ans104@1.0"
    ]
    if len(matching) != 1 or not isinstance(matching[0].get("original-tags"), dict):
        return None
    numbered = matching[0]["original-tags"]
    ordered = sorted(numbered.items(), key=lambda kv: int(kv[0]) if kv[0].isdigit() else 0)
    return [_json_value(tag) for _, tag in ordered]


def _header_case(name: str) -> str:
    """``content-type`` as ``Content-Type``. Upstream: header_case_string/1."""
    return "-".join(word[:1].upper() + word[1:] for word in name.split("-") if word)


def _signature(raw: bytes) -> str:
    """Upstream: a 512-byte (RSA) signature base64url-encoded, others as they are."""
    if len(raw) == 512:
        return b64url_encode(raw)
    return raw.decode("utf-8", "surrogateescape")


def _as_id(value: str) -> str:
    """Upstream: safe_to_id/1 -- an ID in its human form, other text as it is."""
    if is_human_id(value):
        return value
    raw = value.encode("utf-8", "surrogateescape")
    if len(raw) == 32:
        return human_id(raw)
    return value


def _is_bin(value: Any) -> bool:
    return isinstance(value, str | bytes)


def _text(value: Any) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", "surrogateescape")
    return value if isinstance(value, str) else str(value)


def _json_value(value: Any) -> Any:
    """A TABM value for JSON: binaries as text, nested TABMs as objects."""
    if isinstance(value, bytes):
        return value.decode("utf-8", "surrogateescape")
    if isinstance(value, dict):
        return {k: _json_value(v) for k, v in value.items()}
    return value

"""The JSON "struct" of a message that the aos process interface reads.

Upstream: dev_json_iface:message_to_json_struct/1 (``owner_as_address``).
"""

from __future__ import annotations

from typing import Any

from hyperbeam.codecs.structured import Tabm, to_bytes
from hyperbeam.message import commit
from hyperbeam.message.ids import b64url_encode, human_id, is_human_id
from hyperbeam.message.model import Message
from hyperbeam.message.private import strip_private

#: Keys that are fields of the JSON struct rather than tags.
_STRUCT_FIELDS = frozenset({"id", "anchor", "owner", "data", "target", "signature", "commitments"})


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

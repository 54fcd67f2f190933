"""The ``httpsig@1.0`` codec: TABMs to and from HTTP messages, and the
RFC 9421 signature base and hmac that give a message its ID.

An HTTP message here is a dict from lower-case header names to ``bytes``;
its body, if any, is under ``"body"``. A TABM's binaries of at most 4096
bytes become headers; nested messages and larger binaries become the parts of
a ``multipart/form-data`` body whose boundary is derived from the parts
themselves, so the encoding is deterministic.

Known limitation: upstream lists the headers of a nested message's body part
in Erlang map order, which is the sorted key order only for maps of at most
32 keys (and likewise for the ``ao-ids`` dictionary). This module always
sorts, so IDs of messages with a nested part of more than 32 keys, or more
than 32 ID-shaped keys, may differ from upstream's.

Signing (:func:`commit`) adds an RFC 9421 ``rsa-pss-sha512`` commitment
over every field of the encoded message; :func:`verify_commitment` checks
``rsa-pss-sha512`` and ``hmac-sha256`` commitments, including those rebuilt
from the ``signature``/``signature-input`` headers of a message received
over HTTP; :func:`committed_keys` lists the keys a commitment covers.

Upstream: dev_codec_httpsig_conv (to/1, from/1 and helpers) and
dev_codec_httpsig (add_content_digest/1, hmac/1, reset_hmac/1,
normalize_component_identifiers/1, signature_base/3, commit/3, verify/3,
verify_auth/3, committed/3, public_keys/1 and helpers).
"""

from __future__ import annotations

import hashlib
import hmac as hmac_mod
import re
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, TypeAlias

from hyperbeam.codecs import rfc9421, sf
from hyperbeam.codecs.structured import (
    Tabm,
    from_message,
    implicit_keys,
    is_id_sized,
    key_bytes,
    normalize_key,
    normalize_keys,
    sort_keys,
    to_bytes,
)
from hyperbeam.crypto.wallet import Wallet, address_of
from hyperbeam.crypto.wallet import verify as rsa_verify
from hyperbeam.errors import CodecError
from hyperbeam.message.ids import b64url_decode, b64url_encode, human_id, sha256

HttpMessage: TypeAlias = dict[str, bytes]

MAX_HEADER_LENGTH = 4096
CRLF = b"\r\n"
HMAC_KEY = b"ao"
HMAC_ALG = "hmac-sha256"
HTTP_HMAC_ALG = HMAC_ALG.encode("ascii")
HTTPSIG_DEVICE = b"httpsig@1.0"

DERIVED_COMPONENTS = frozenset(
    {
        "method",
        "target-uri",
        "authority",
        "scheme",
        "request-target",
        "path",
        "query",
        "query-param",
        "status",
    }
)
SIGNATURE_PARAMS = frozenset({"created", "expired", "nonce", "alg", "keyid", "tag"})
#: Fields that describe the connection or frame the body (RFC 9110 section
#: 7.6.1, and ``content-length``): a key of one of these names cannot travel
#: as a header, so a wire-safe encoding puts it in the body.
TRANSPORT_FIELDS = frozenset(
    {"connection", "content-length", "transfer-encoding", "keep-alive", "upgrade", "te"}
)
_SIG_KEYS = ("commitments", "signature", "signature-input", "priv")


# --- TABM -> HTTP ------------------------------------------------------------------


def to_httpsig(tabm: Tabm, *, wire_safe: bool = False) -> HttpMessage:
    """Encode a TABM as an HTTP message. Upstream: dev_codec_httpsig_conv:to/1.

    With ``wire_safe``, a top-level key that is not a valid header name or
    names a field of the connection (:data:`TRANSPORT_FIELDS`), or a value
    that a header cannot carry unchanged (line breaks, control bytes, edge
    whitespace), goes into the multipart body instead, so the message can
    be sent as a real HTTP response; and a ``body-keys`` longer than a header
    may be (4 KiB; a schedule page names thousands of parts) is left out.
    The decoded message is the same; only the encoding (and so the hmac over
    it) differs from upstream's, which would emit a broken header.

    The result keeps ``body-keys`` and, when there is a body, adds
    ``content-digest`` next to it. If the TABM carries an hmac commitment with
    signature data, its ``signature``/``signature-input`` (and any
    ``hashpath*`` keys of its commitments) are added as headers.
    """
    if not isinstance(tabm, dict):
        raise CodecError(f"cannot encode {type(tabm).__name__} as httpsig")
    grouped = _group_ids(tabm)
    stripped = {k: v for k, v in grouped.items() if k not in _SIG_KEYS}
    inline_headers, inline = inline_key(tabm)
    encoded = _do_to(stripped, inline_headers, inline, wire_safe)
    found = find_commitment({"alg": HTTP_HMAC_ALG}, tabm)
    if found is not None:
        commitment = found[1]
        if "signature" in commitment and "signature-input" in commitment:
            for comm in _commitments_of(tabm).values():
                if isinstance(comm, dict):
                    for key, value in comm.items():
                        if key.startswith("hashpath"):
                            encoded[key] = to_bytes(value)
            encoded["signature"] = to_bytes(commitment["signature"])
            encoded["signature-input"] = to_bytes(commitment["signature-input"])
    return encoded


def inline_key(msg: Mapping[str, Any]) -> tuple[HttpMessage, str]:
    """The key whose value is the message's inline body, and any header needed
    to remember it. Upstream: dev_codec_httpsig_conv:inline_key/1."""
    explicit = msg.get("inline-body-key")
    if explicit is not None and explicit is not False:
        return {}, to_bytes(explicit).decode("utf-8", "surrogateescape")
    if "body" in msg:
        return {}, "body"
    if "data" in msg:
        return {"inline-body-key": b"data"}, "data"
    return {}, "body"


def _group_ids(tabm: Tabm) -> Tabm:
    """Move ID-shaped keys holding binaries into one ``ao-ids`` dictionary, so
    their case survives HTTP. Upstream: dev_codec_httpsig_conv:group_ids/1."""
    ids = sort_keys(k for k, v in tabm.items() if is_id_sized(k) and isinstance(v, bytes))
    if not ids:
        return tabm
    out = {k: v for k, v in tabm.items() if k not in ids}
    out["ao-ids"] = sf.serialize_dictionary((key_bytes(k), sf.string_item(tabm[k])) for k in ids)
    return out


def _do_to(tabm: Tabm, headers: HttpMessage, inline: str, wire_safe: bool) -> HttpMessage:
    out: HttpMessage = dict(headers)
    body_map: Tabm = {}
    for key, value in tabm.items():
        if key == "body":
            body_map["body"] = value
        elif key == inline:
            body_map[inline] = value
        elif isinstance(value, dict):
            body_map[normalize_key(key)] = value
        elif isinstance(value, bytes | str):
            raw = to_bytes(value)
            fits = not wire_safe or (
                _is_header_name(key)
                and _is_header_value(raw)
                and normalize_key(key) not in TRANSPORT_FIELDS
            )
            if len(raw) <= MAX_HEADER_LENGTH and fits:
                out[normalize_key(key)] = raw
            else:
                body_map[normalize_key(key)] = raw
        else:
            raise CodecError(f"TABM key {key!r} holds a {type(value).__name__}")
    grouped = group_maps(body_map)
    if not grouped:
        return out
    only = grouped.get(inline)
    if len(grouped) == 1 and isinstance(only, bytes | str):
        out["body"] = to_bytes(only)
    else:
        parts: list[tuple[str, bytes]] = []
        for key in sort_keys(grouped):
            value = grouped[key]
            if isinstance(value, dict) and len(value) == 1 and "body" in value:
                parts.append((key, encode_body_part(f"{key}/body", value, "body")))
            else:
                parts.append((key, encode_body_part(key, value, inline)))
        boundary = boundary_from_parts(part for _, part in parts)
        delimited = CRLF.join(b"--" + boundary + CRLF + part for _, part in parts)
        body_keys = encode_body_keys(key for key, _ in parts)
        # The parts name themselves: decoders (ours and upstream's) rebuild
        # body-keys from them, and no signature covers it. A long one would
        # only break clients' header limits (Node's fetch: 16 KiB in all).
        if not wire_safe or len(body_keys) <= MAX_HEADER_LENGTH:
            out["body-keys"] = body_keys
        out["content-type"] = b'multipart/form-data; boundary="' + boundary + b'"'
        out["body"] = delimited + CRLF + b"--" + boundary + b"--"
    if out.get("body"):
        out["content-digest"] = content_digest(out["body"])
    return out


_TOKEN_BYTES = b"!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyz"
_BAD_VALUE = re.compile(rb"[\x00-\x08\x0a-\x1f\x7f]")


def _is_header_name(key: str) -> bool:
    raw = key_bytes(key)
    return bool(raw) and not raw.translate(None, _TOKEN_BYTES)


def _is_header_value(raw: bytes) -> bool:
    if raw[:1] in (b" ", b"\t") or raw[-1:] in (b" ", b"\t"):
        return False
    return _BAD_VALUE.search(raw) is None


def group_maps(body: Tabm, parent: str = "", top: Tabm | None = None) -> Tabm:
    """Flatten nested messages into parts named by their paths; binaries too
    large for a part's headers get a part of their own.
    Upstream: dev_codec_httpsig_conv:group_maps/3."""
    new_top: Tabm = dict(top) if top else {}
    flattened: Tabm = {}
    for key, value in body.items():
        norm = normalize_key(key)
        flat_key = norm if not parent else f"{parent}/{norm}"
        if isinstance(value, dict):
            new_top = group_maps(value, flat_key, new_top)
        elif len(to_bytes(value)) > MAX_HEADER_LENGTH:
            new_top[flat_key] = value
        else:
            flattened[norm] = value
    if not flattened:
        return new_top
    if not parent:
        return {**new_top, **flattened}
    return {**new_top, parent: flattened}


def encode_body_part(name: str, part: Any, inline: str) -> bytes:
    """One part of the multipart body, led by its Content-Disposition.
    Upstream: dev_codec_httpsig_conv:encode_body_part/3."""
    quoted = b'"' + key_bytes(name) + b'"'
    disposition = b"inline" if name == inline else b"form-data;name=" + quoted
    if isinstance(part, dict):
        return encode_http_msg({**part, "content-disposition": disposition})
    return b"content-disposition: " + disposition + CRLF + CRLF + to_bytes(part)


def encode_http_msg(msg: Mapping[str, Any]) -> bytes:
    """Headers (``name: value``, sorted, CRLF-separated), then a blank line and
    the body if there is one. Upstream: dev_codec_httpsig_conv:encode_http_msg/1."""
    lines = [key_bytes(k) + b": " + to_bytes(msg[k]) for k in sort_keys(msg) if k != "body"]
    headers = CRLF.join(lines)
    body = to_bytes(msg.get("body", b""))
    if not body:
        return headers
    return headers + CRLF + CRLF + body


def boundary_from_parts(parts: Iterable[bytes]) -> bytes:
    """base64url(sha256(parts joined by CRLF)).
    Upstream: dev_codec_httpsig_conv:boundary_from_parts/1."""
    return b64url_encode(sha256(CRLF.join(parts))).encode("ascii")


def encode_body_keys(names: Iterable[str]) -> bytes:
    """Upstream: dev_codec_httpsig_conv:encode_body_keys/1."""
    return sf.serialize_list(sf.string_item(key_bytes(name)) for name in names)


def content_digest(body: bytes) -> bytes:
    """``sha-256=:<base64>:``, an RFC 9530 Content-Digest dictionary."""
    return sf.serialize_dictionary([("sha-256", sf.binary_item(sha256(body)))])


def add_content_digest(msg: HttpMessage) -> HttpMessage:
    """Replace the body, if any, by its ``content-digest``.
    Upstream: dev_codec_httpsig:add_content_digest/1."""
    if "body" not in msg:
        return msg
    out = {k: v for k, v in msg.items() if k != "body"}
    out["content-digest"] = content_digest(to_bytes(msg["body"]))
    return out


# --- HTTP -> TABM ----------------------------------------------------------------------


def from_httpsig(http: Mapping[str, Any]) -> Tabm:
    """Decode an HTTP message into a TABM. Upstream: dev_codec_httpsig_conv:from/1.

    As upstream, ``body-keys`` (rebuilt from the parts) and ``content-type``
    stay in the result, while ``content-digest`` and ``hashpath*`` keys are
    dropped. ``signature``/``signature-input`` headers become commitments,
    completed by an hmac commitment (see :func:`reset_hmac`).
    """
    msg: HttpMessage = {k: to_bytes(v) for k, v in http.items()}
    body = msg.get("body", b"")
    _, inline = inline_key(msg)
    headers = {k: v for k, v in msg.items() if k not in ("body", "body-keys")}
    tabm: Tabm = decode_body(dict(headers), inline, headers.get("content-type"), body)
    tabm = ungroup_ids(tabm)
    tabm = {
        k: v for k, v in tabm.items() if k not in ("signature", "signature-input", "commitments")
    }
    hashpaths = {k: v for k, v in msg.items() if k.startswith("hashpath")}
    tabm = {k: v for k, v in tabm.items() if k not in hashpaths}
    tabm = _commitments_from_signature(
        tabm, hashpaths, headers.get("signature"), headers.get("signature-input"), msg
    )
    return {k: v for k, v in tabm.items() if k not in hashpaths and k != "content-digest"}


def decode_body(tabm: Tabm, inline: str, content_type: bytes | None, body: bytes) -> Tabm:
    if not body:
        return tabm
    boundary = None
    if content_type is not None:
        try:
            params = sf.parse_item(content_type).params
        except sf.StructuredFieldError as exc:
            raise CodecError(f"bad content-type {content_type!r}: {exc}") from None
        for name, value in params:
            if name == "boundary":
                if not isinstance(value.value, str | bytes):
                    raise CodecError(f"bad multipart boundary in {content_type!r}")
                boundary = to_bytes(value.value)
                break
    if boundary is None:
        return {**tabm, inline: body}
    begin = b"--" + boundary + CRLF
    end = CRLF + b"--" + boundary + b"--"
    start = body.find(begin)
    stop = body.find(end)
    if start < 0 or stop < start + len(begin):
        raise CodecError("multipart body does not match its boundary")
    inner = body[start + len(begin) : stop]
    parts = inner.split(CRLF + b"--" + boundary)
    body_keys: list[str] = []
    for part in parts:
        name, value = _parse_part(part, inline)
        tabm[name] = value
        body_keys.append(name.split("/", 1)[0])
    tabm["body-keys"] = encode_body_keys(body_keys)
    return unflatten(tabm)


def _parse_part(part: bytes, inline: str) -> tuple[str, Any]:
    head, sep, raw_body = part.partition(CRLF + CRLF)
    if not sep:
        raw_body = b""
    headers: dict[str, bytes] = {}
    for line in head.split(CRLF):
        if not line:
            continue
        header, colon, value = line.partition(b": ")
        if colon:  # field names are case-insensitive (RFC 9110 section 5.1), IDs aside
            headers[normalize_key(header.decode("utf-8", "surrogateescape"))] = value
    disposition = headers.pop("content-disposition", None)
    if disposition is None:
        raise CodecError("multipart part has no content-disposition")
    plain = _PLAIN_DISPOSITION.fullmatch(disposition)
    if plain is not None:  # the usual forms, read without the full parser
        name = inline if plain[1] is None else plain[1].decode("ascii")
    else:
        name = _disposition_name(disposition, inline)
    if not headers:
        return name, raw_body
    if not raw_body:
        return name, headers
    return name, {**headers, "body": raw_body}


#: ``inline`` or ``form-data;name="..."`` (a name with no escapes).
_PLAIN_DISPOSITION = re.compile(rb'inline|form-data; ?name="([\x20\x21\x23-\x5b\x5d-\x7e]*)"')


def _disposition_name(disposition: bytes, inline: str) -> str:
    """The part name a ``content-disposition`` gives (a structured item)."""
    try:
        item = sf.parse_item(disposition)
    except sf.StructuredFieldError as exc:
        raise CodecError(f"bad content-disposition {disposition!r}: {exc}") from None
    if item.bare.value == "inline":
        return inline
    names = [param.value for key, param in item.params if key == "name"]
    if not names or not isinstance(names[0], str | bytes):
        raise CodecError(f"multipart part without a name: {disposition!r}")
    return to_bytes(names[0]).decode("utf-8", "surrogateescape")


def unflatten(flat: Tabm) -> Tabm:
    """Nest ``a/b`` keys. Upstream: dev_codec_flat:from/1."""
    out: Tabm = {}
    for path, value in flat.items():
        parts = [p for p in path.split("/") if p]
        if not parts:
            raise CodecError(f"bad path key {path!r}")
        target = out
        for part in parts[:-1]:
            existing = target.setdefault(part, {})
            if not isinstance(existing, dict):
                raise CodecError(f"path collision at {path!r}")
            target = existing
        last = parts[-1]
        if last not in target:
            target[last] = value
        elif isinstance(target[last], dict) and isinstance(value, dict):
            target[last] = {**target[last], **value}
        else:
            raise CodecError(f"path collision at {path!r}")
    return out


def ungroup_ids(msg: Tabm) -> Tabm:
    """Upstream: dev_codec_httpsig_conv:ungroup_ids/1."""
    raw = msg.get("ao-ids")
    if raw is None:
        return msg
    out = {k: v for k, v in msg.items() if k != "ao-ids"}
    try:
        members = sf.parse_dictionary(to_bytes(raw))
    except sf.StructuredFieldError as exc:
        raise CodecError(f"bad ao-ids {raw!r}: {exc}") from None
    for key, member in members:
        if not isinstance(member, sf.Item) or member.bare.kind != "string":
            raise CodecError(f"bad ao-ids entry {key!r}")
        out[key] = to_bytes(str(member.bare.value).encode("latin-1"))
    return out


def _commitments_from_signature(
    msg: Tabm,
    hashpaths: HttpMessage,
    raw_sig: bytes | None,
    raw_input: bytes | None,
    fields: HttpMessage,
) -> Tabm:
    """Rebuild commitments from the signature headers; the hmac commitment
    is computed over the received ``fields`` (no new encoding), as
    :mod:`hyperbeam.codecs.received` does. Upstream:
    dev_codec_httpsig_conv:commitments_from_signature/4."""
    if raw_sig is None:
        return {k: v for k, v in msg.items() if k != "commitments"}
    try:
        sigs = sf.parse_dictionary(raw_sig)
        inputs = dict(sf.parse_dictionary(raw_input or b""))
    except sf.StructuredFieldError as exc:
        raise CodecError(f"bad signature headers: {exc}") from None
    commitments: Tabm = {}
    for name, signature in sigs:
        sig_input = inputs.get(name)
        if not isinstance(sig_input, sf.InnerList) or not isinstance(signature, sf.Item):
            raise CodecError(f"signature {name!r} has no matching signature-input")
        if signature.bare.kind != "binary" or not isinstance(signature.bare.value, bytes):
            raise CodecError(f"signature {name!r} is not a byte sequence")
        commitment: Tabm = {}
        for item in sig_input.items:
            value = item.bare.value
            if item.bare.kind == "string" and str(value).startswith("hashpath"):
                commitment[str(value)] = hashpaths.get(str(value), b"")
        params = dict(sig_input.params)
        keyid, alg = params.get("keyid"), params.get("alg")
        if keyid is None or alg is None or keyid.kind != "string" or alg.kind != "string":
            raise CodecError(f"signature {name!r} lacks keyid or alg")
        public_key = b64url_decode(str(keyid.value))
        address = public_key if len(public_key) == 32 else sha256(public_key)
        commitment.update(
            {
                "commitment-device": HTTPSIG_DEVICE,
                "committer": human_id(address).encode("ascii"),
                "alg": str(alg.value).encode("latin-1"),
                "signature": sf.serialize_dictionary([(name, signature)]),
                "signature-input": sf.serialize_dictionary([(name, sig_input)]),
            }
        )
        commitments[human_id(sha256(signature.bare.value))] = commitment
    with_commitments = {**msg, "commitments": commitments}
    hmacs = [c for c in commitments.values() if c.get("alg") == HTTP_HMAC_ALG]
    if len(hmacs) == 1:
        return with_commitments
    others = {k: c for k, c in commitments.items() if c.get("alg") != HTTP_HMAC_ALG}
    if len(others) != len(commitments) or not others:
        return reset_hmac(with_commitments)
    try:
        hmac_id_, hmac_commitment_ = hmac_commitment(
            rfc9421.parse(raw_sig, raw_input or b""), fields
        )
    except (rfc9421.MalformedSignature, ValueError):
        return reset_hmac(with_commitments)
    return {**msg, "commitments": {**others, hmac_id_: hmac_commitment_}}


def hmac_commitment(sigs: list[rfc9421.Signature], fields: Mapping[str, bytes]) -> tuple[str, Tabm]:
    """The ID and the commitment of the hmac of a message received with the
    signatures ``sigs``, computed over its received ``fields`` (no new
    encoding; see :func:`rfc9421.hmac_digest`). Upstream: reset_hmac/1."""
    joined_sig, joined_input = rfc9421.joined(
        sorted(sigs, key=lambda sig: sig.label.encode("latin-1"))
    )
    commitment: Tabm = {
        "signature": joined_sig,
        "signature-input": joined_input,
        "commitment-device": HTTPSIG_DEVICE,
        "alg": HTTP_HMAC_ALG,
    }
    return human_id(rfc9421.hmac_digest(sigs, fields)), commitment


# --- commitments and the hmac ID -----------------------------------------------------


def _commitments_of(msg: Mapping[str, Any]) -> Tabm:
    commitments = msg.get("commitments", {})
    if not isinstance(commitments, dict):
        raise CodecError("commitments must be a message")
    return commitments


def _matches(spec: Mapping[str, bytes], commitment: Any) -> bool:
    return isinstance(commitment, dict) and all(
        k in commitment and to_bytes(commitment[k]) == v for k, v in spec.items()
    )


def find_commitment(spec: Mapping[str, bytes], msg: Mapping[str, Any]) -> tuple[str, Tabm] | None:
    """The one commitment matching ``spec`` (None if none or several).
    Upstream: hb_message:commitment/2."""
    found = [(k, c) for k, c in _commitments_of(msg).items() if _matches(spec, c)]
    return found[0] if len(found) == 1 else None


def reset_hmac(msg: Mapping[str, Any]) -> Tabm:
    """The message as a TABM whose hmac commitment is recomputed from its other
    commitments. Upstream: dev_codec_httpsig:reset_hmac/1."""
    tabm = from_message(dict(msg))
    spec = {"commitment-device": HTTPSIG_DEVICE, "alg": HTTP_HMAC_ALG}
    others = {k: c for k, c in _commitments_of(tabm).items() if not _matches(spec, c)}
    sigs: dict[str, sf.DictValue] = {}
    inputs: dict[str, sf.DictValue] = {}
    for commitment in others.values():
        if not isinstance(commitment, dict):
            raise CodecError("a commitment must be a message")
        for field, into in (("signature", sigs), ("signature-input", inputs)):
            if field not in commitment:
                if field == "signature":
                    raise CodecError("a commitment has no signature")
                continue
            try:
                members = sf.parse_dictionary(to_bytes(commitment[field]))
            except sf.StructuredFieldError as exc:
                raise CodecError(f"bad commitment {field}: {exc}") from None
            if len(members) != 1:
                raise CodecError(f"commitment {field} must name one signature")
            into[members[0][0]] = members[0][1]
    sig_info: Tabm = {}
    if inputs:
        sig_info = {
            "signature": sf.serialize_dictionary((k, sigs[k]) for k in sort_keys(sigs)),
            "signature-input": sf.serialize_dictionary((k, inputs[k]) for k in sort_keys(inputs)),
        }
    hmac_input = {**tabm, **sig_info}
    new_id = human_id(hmac_digest(hmac_input))
    return {
        **tabm,
        "commitments": {
            **others,
            new_id: {**sig_info, "commitment-device": HTTPSIG_DEVICE, "alg": HTTP_HMAC_ALG},
        },
    }


def hmac_digest(tabm: Tabm) -> bytes:
    """The raw hmac-sha256 (key ``ao``) over the signature base of the
    encoded message. Upstream: dev_codec_httpsig:hmac/1.

    The components are the keys named by the TABM's ``signature-input`` if it
    has one, else every key of its httpsig encoding (with ``content-digest``
    standing in for the body).
    """
    source = {k: v for k, v in tabm.items() if k not in ("commitments", "body-keys")}
    sig_input = tabm.get("signature-input")
    keys = None if sig_input is None else _signature_input_components(to_bytes(sig_input))
    candidates = list(_encodings(source, keys))
    if not candidates:
        raise CodecError(f"signature components {keys} are not in the message")
    fields = candidates[0]
    if len(candidates) > 1 and sig_input is not None and "signature" in tabm:
        # Both encodings have the components: the one the signature holds over.
        fields = next((f for f in candidates if _signed_over(tabm, f)), fields)
    identifiers = normalize_component_identifiers(list(fields) if keys is None else keys)
    base = signature_base(identifiers, fields, [("alg", HMAC_ALG), ("keyid", "ao")])
    return hmac_mod.new(HMAC_KEY, base, hashlib.sha256).digest()


def _signed_over(tabm: Tabm, fields: HttpMessage) -> bool:
    """Whether the first signature ``tabm`` carries holds over ``fields``."""
    try:
        sigs = rfc9421.parse(to_bytes(tabm["signature"]), to_bytes(tabm["signature-input"]))
    except rfc9421.MalformedSignature:
        return False
    return rfc9421.verify(sigs[0], fields, None) is None


def _encodings(tabm: Tabm, components: Sequence[str] | None) -> Iterator[HttpMessage]:
    """The encodings a signature over ``tabm`` may have been made on, with
    ``content-digest`` standing in for the body: upstream's, then, when it
    differs, the wire-safe one (:func:`to_httpsig`), which this node signs
    (a value no header can carry is a body part there). With
    ``components``, only those that have every component."""
    names = [normalize_key(name) for name in remove_derived_specifiers(components or ())]
    seen: list[HttpMessage] = []
    for wire_safe in (False, True):
        encoded = to_httpsig(tabm, wire_safe=wire_safe)
        encoded.pop("body-keys", None)
        fields = add_content_digest(encoded)
        if fields in seen:
            continue
        seen.append(fields)
        if all(name in fields for name in names):
            yield fields


def _signature_input_components(raw: bytes) -> list[str]:
    try:
        members = sf.parse_dictionary(raw)
    except sf.StructuredFieldError as exc:
        raise CodecError(f"bad signature-input {raw!r}: {exc}") from None
    if not members or not isinstance(members[0][1], sf.InnerList):
        raise CodecError(f"signature-input {raw!r} names no components")
    return [str(item.bare.value) for item in members[0][1].items]


# --- RFC 9421 signature base ---------------------------------------------------------


def add_derived_specifiers(keys: Iterable[str]) -> list[str]:
    """Prefix derived components (``path``, ``method``...) with ``@``.
    Upstream: dev_codec_httpsig:add_derived_specifiers/1."""
    return [f"@{key}" if key in DERIVED_COMPONENTS else key for key in keys]


def remove_derived_specifiers(keys: Iterable[str]) -> list[str]:
    """Upstream: dev_codec_httpsig:remove_derived_specifiers/1."""
    return [key[1:] if key.startswith("@") else key for key in keys]


def normalize_component_identifiers(keys: Iterable[str]) -> list[str]:
    """Strip any ``@``, re-add it to derived components, and sort byte-wise.
    Upstream: dev_codec_httpsig:normalize_component_identifiers/1."""
    return sort_keys(add_derived_specifiers(remove_derived_specifiers(keys)))


def signature_base(
    identifiers: Sequence[str],
    fields: Mapping[str, Any],
    params: Sequence[tuple[str, int | str | bytes]],
) -> bytes:
    """The RFC 9421 signature base: one ``"name": value`` line per component,
    then the ``"@signature-params"`` line. A derived component (``@path``) is
    read from the field of the same name without the ``@``.
    Upstream: dev_codec_httpsig:signature_base/3."""
    lines = b"\n".join(_component_line(identifier, fields) for identifier in identifiers)
    return lines + b'\n"@signature-params": ' + signature_params_line(identifiers, params)


def _joined_base(identifiers: Sequence[str], lines: Mapping[str, bytes], params: bytes) -> bytes:
    """A signature base from component lines made already (by name without ``@``)."""
    body = b"\n".join(lines[i.removeprefix("@")] for i in identifiers)
    return body + b'\n"@signature-params": ' + params


def _component_line(identifier: str, fields: Mapping[str, Any]) -> bytes:
    name = identifier[1:] if identifier.startswith("@") else identifier
    norm = normalize_key(name)
    if norm not in fields:
        raise CodecError(f"signature component {norm!r} is not in the message")
    value = trim_and_normalize(to_bytes(fields[norm]))
    return b'"' + sf.escape_string(key_bytes(norm)) + b'": ' + value


def trim_and_normalize(value: bytes) -> bytes:
    """Strip leading and trailing spaces and turn newlines into spaces (RFC
    9421 section 2.1). Upstream: dev_codec_httpsig:trim_and_normalize/1."""
    return value.strip(b" ").replace(b"\n", b" ")


def signature_params_line(
    identifiers: Sequence[str], params: Sequence[tuple[str, int | str | bytes]]
) -> bytes:
    """``("a" "b");alg="...";keyid="..."`` with parameters sorted by name and
    unknown ones dropped. Upstream: dev_codec_httpsig:signature_params_line/2."""
    inner = signature_params(identifiers, params)
    items = b" ".join(b'"' + sf.escape_string(_bare_bytes(i.bare)) + b'"' for i in inner.items)
    return b"(" + items + b")" + sf.serialize_params(inner.params)


def _bare_bytes(bare: sf.Bare) -> bytes:
    value = bare.value
    return value if isinstance(value, bytes) else str(value).encode("latin-1")


def signature_params(
    identifiers: Sequence[str], params: Sequence[tuple[str, int | str | bytes]]
) -> sf.InnerList:
    """The inner list behind :func:`signature_params_line`: the component
    names lowercased, then the known parameters sorted by name, integers as
    integers and everything else as strings.
    Upstream: dev_codec_httpsig:sf_signature_params/2."""
    items = tuple(sf.string_item(_latin1_lower(key_bytes(i))) for i in identifiers)
    sf_params: list[tuple[str, sf.Bare]] = []
    for name, value in sorted(params, key=lambda pair: key_bytes(pair[0])):
        if name not in SIGNATURE_PARAMS:
            continue
        if isinstance(value, int):
            sf_params.append((name, sf.Bare("integer", value)))
        else:
            sf_params.append((name, sf.Bare("string", to_bytes(value))))
    return sf.InnerList(items, tuple(sf_params))


_LATIN1_LOWER = bytes(
    b + 0x20 if (0x41 <= b <= 0x5A or (0xC0 <= b <= 0xDE and b != 0xD7)) else b for b in range(256)
)


def _latin1_lower(raw: bytes) -> bytes:
    """Lowercase each byte as a Latin-1 character, as upstream's lower_bin/1
    (``string:lowercase`` over the bytes) does: this also changes the lead
    bytes of some UTF-8 sequences."""
    return raw.translate(_LATIN1_LOWER)


def hmac_id(tabm: Tabm) -> str:
    """The human-readable hmac ID of a TABM (see :func:`hmac_digest`)."""
    return human_id(hmac_digest(tabm))


# --- RSA-PSS signatures: commit, verify, committed keys -------------------------------

RSA_ALG = "rsa-pss-sha512"
HTTP_RSA_ALG = RSA_ALG.encode("ascii")
SIG_NAME_PREFIX = "http-sig-"


def address_to_sig_name(address: str | bytes) -> str:
    """The signature's label in the ``signature``/``signature-input``
    dictionaries: ``http-sig-`` and the hex of bytes 1 to 8 of the native
    address. Anything that is not ID-shaped is used as it is.
    Upstream: dev_codec_httpsig:address_to_sig_name/1."""
    raw = to_bytes(address)
    if len(raw) == 32:
        native = raw
    elif len(raw) == 43:
        try:
            native = b64url_decode(raw)
        except ValueError:
            raise CodecError(f"committer {raw!r} is not an address") from None
    elif len(raw) == 42:
        raise CodecError(f"committer {raw!r} is not an address")
    else:
        return raw.decode("utf-8", "surrogateescape")
    return SIG_NAME_PREFIX + native[1:9].hex()


def commit(tabm: Tabm, wallet: Wallet) -> Tabm:
    """Sign a TABM with ``wallet`` (RSA-PSS over SHA-512) and return it with
    the new commitment added and its hmac commitment reset.
    Upstream: dev_codec_httpsig:commit/3, authority/3 and sign_auth/3.

    Every key of the message's httpsig encoding is signed (``body-keys``
    aside; the body is covered by its ``content-digest``), in byte order, with
    derived components (``path``, ``method``...) named ``@path``. The
    signature parameters are ``alg="rsa-pss-sha512"``, ``keyid`` (the
    base64url public modulus) and, when the message carries a hashpath in its
    private map, ``tag`` (the hashpath). The commitment's ID is the
    sha256 of the raw signature.
    """
    return commit_encoded(tabm, wallet, wire_safe=False)[0]


def commit_encoded(
    tabm: Tabm, wallet: Wallet, *, wire_safe: bool = True
) -> tuple[Tabm, HttpMessage]:
    """:func:`commit`, also giving the HTTP message the signature was made
    over: its headers (``signature`` and ``signature-input`` included) and
    ``body``. With ``wire_safe`` (see :func:`to_httpsig`), that is what can be
    sent as it is: the bytes signed are the bytes sent."""
    if not isinstance(tabm, dict):
        raise CodecError(f"cannot sign a {type(tabm).__name__}")
    msg = normalize_keys(tabm)
    priv = msg.get("priv")
    params: list[tuple[str, int | str | bytes]] = []
    if isinstance(priv, dict) and priv.get("hashpath") is not None:
        params.append(("tag", to_bytes(str(priv["hashpath"]))))
    encoded = to_httpsig(msg, wire_safe=wire_safe)  # a TABM already
    for dropped in ("signature", "signature-input", "priv"):
        encoded.pop(dropped, None)
    fields = {k: v for k, v in encoded.items() if k not in ("body", "body-keys")}
    if "body" in encoded and "content-digest" not in fields:
        fields["content-digest"] = content_digest(encoded["body"])
    identifiers = add_derived_specifiers(sort_keys(fields))
    params += [("alg", RSA_ALG), ("keyid", b64url_encode(wallet.owner))]
    # Each component's line once: both bases (signature, hmac) are made of them.
    lines = {i.removeprefix("@"): _component_line(i, fields) for i in identifiers}
    params_line = signature_params_line(identifiers, params)
    base = _joined_base(identifiers, lines, params_line)
    signature = wallet.sign(base, "sha512")
    name = address_to_sig_name(wallet.address)
    commitment: Tabm = {
        "commitment-device": HTTPSIG_DEVICE,
        "alg": HTTP_RSA_ALG,
        "committer": wallet.address.encode("ascii"),
        "signature": sf.serialize_dictionary([(name, sf.binary_item(signature))]),
        "signature-input": name.encode("latin-1") + b"=" + params_line,
    }
    earlier = _commitments_of(msg)
    commitments = {**earlier, human_id(sha256(signature)): commitment}
    if not earlier:
        # The only signature: the hmac covers the same components, so its base
        # is built from the fields just signed (as reset_hmac would rebuild them).
        hmac_params: list[tuple[str, int | str | bytes]] = [("alg", HMAC_ALG), ("keyid", "ao")]
        hmac_ids = normalize_component_identifiers(identifiers)
        hmac_base = _joined_base(hmac_ids, lines, signature_params_line(hmac_ids, hmac_params))
        hmac_commitment: Tabm = {
            "signature": commitment["signature"],
            "signature-input": commitment["signature-input"],
            "commitment-device": HTTPSIG_DEVICE,
            "alg": HTTP_HMAC_ALG,
        }
        hmac_digest_ = hmac_mod.new(HMAC_KEY, hmac_base, hashlib.sha256).digest()
        commitments[human_id(hmac_digest_)] = hmac_commitment
        signed: Tabm = {**msg, "commitments": commitments}
    else:
        signed = reset_hmac({**msg, "commitments": commitments})
    if isinstance(priv, dict) and priv:
        signed["priv"] = priv
    http: HttpMessage = {
        **{k: v for k, v in encoded.items() if k != "body"},
        **fields,
        "signature": commitment["signature"],
        "signature-input": commitment["signature-input"],
    }
    if "body" in encoded:
        http["body"] = encoded["body"]
    return signed, http


def verify_commitment(tabm: Tabm, commitment_id: str) -> bool:
    """Whether the commitment ``commitment_id`` of ``tabm`` holds.

    An ``hmac-sha256`` commitment holds when recomputing the message's hmac
    gives its ID again; an ``rsa-pss-sha512`` one when its signature verifies,
    against the key in its ``keyid``, over the message re-encoded as it was
    for signing. A commitment that is malformed, names an unknown algorithm
    or whose ``alg`` differs from its signature's does not hold.
    Upstream: dev_codec_httpsig:verify/3 and verify_auth/2.
    """
    commitment = _commitments_of(tabm).get(commitment_id)
    if not isinstance(commitment, dict):
        raise CodecError(f"the message has no commitment {commitment_id!r}")
    try:
        if to_bytes(commitment.get("alg", b"")) == HTTP_HMAC_ALG:
            return _verify_hmac(tabm, commitment_id)
        return _verify_rsa(tabm, commitment)
    except ValueError:  # CodecError, StructuredFieldError, bad base64 or text
        return False


def _verify_hmac(tabm: Tabm, commitment_id: str) -> bool:
    recomputed = _commitments_of(reset_hmac(tabm)).get(commitment_id)
    return isinstance(recomputed, dict) and recomputed.get("alg") == HTTP_HMAC_ALG


def _verify_rsa(tabm: Tabm, commitment: Tabm) -> bool:
    committer = commitment.get("committer")
    raw_input = commitment.get("signature-input")
    raw_sig = commitment.get("signature")
    if committer is None or raw_input is None or raw_sig is None:
        return False
    sig_input = _named_member(to_bytes(raw_input), address_to_sig_name(to_bytes(committer)))
    if not isinstance(sig_input, sf.InnerList):
        return False
    params = dict(sig_input.params)
    alg, keyid = params.get("alg"), params.get("keyid")
    if alg is None or alg.kind != "string" or keyid is None or keyid.kind != "string":
        return False
    if str(alg.value).encode("latin-1") != to_bytes(commitment.get("alg", b"")):
        return False  # upstream: {error, commitment_alg_mismatch}
    if alg.value != RSA_ALG:
        return False  # upstream: {error, {unsupported_alg, Alg}}
    try:
        owner = b64url_decode(str(keyid.value))
    except ValueError:
        return False
    sig_name = address_to_sig_name(address_of(owner))
    components = [str(item.bare.value) for item in sig_input.items]
    for fields in _encodings(tabm, components):
        signed = {**fields, "signature-input": to_bytes(raw_input), "signature": to_bytes(raw_sig)}
        if verify_signature(signed, sig_name, owner):
            return True
    return False


def verify_signature(fields: Mapping[str, Any], sig_name: str, owner: bytes) -> bool:
    """Check the signature labelled ``sig_name`` in the ``signature`` and
    ``signature-input`` fields of an encoded message against the RSA key
    whose modulus is ``owner``. The signature base is rebuilt from the
    components the input names and its parameters (known ones only, sorted
    by name, as upstream does). Upstream: dev_codec_httpsig:verify_auth/3.

    Component parameters (``;key=``, ``;sf``, ``;bs``, ``;req``) are not
    supported: a signature that uses them does not verify.
    """
    if "signature" not in fields or "signature-input" not in fields:
        return False
    signature = _named_member(to_bytes(fields["signature"]), sig_name)
    sig_input = _named_member(to_bytes(fields["signature-input"]), sig_name)
    if not isinstance(signature, sf.Item) or not isinstance(sig_input, sf.InnerList):
        return False
    if signature.bare.kind != "binary" or not isinstance(signature.bare.value, bytes):
        return False
    identifiers: list[str] = []
    for item in sig_input.items:
        if item.params or item.bare.kind not in ("string", "token"):
            return False
        identifiers.append(str(item.bare.value))
    params = [(name, _param_value(bare)) for name, bare in sig_input.params]
    base = signature_base(identifiers, fields, params)
    return rsa_verify(owner, base, signature.bare.value, "sha512")


def _named_member(raw: bytes, name: str) -> sf.Member | None:
    for key, member in sf.parse_dictionary(raw):
        if key == name:
            return member
    return None


def _param_value(bare: sf.Bare) -> int | bytes:
    """A signature parameter as upstream's verify_auth/3 reads it back."""
    if bare.kind == "integer" and isinstance(bare.value, int):
        return bare.value
    if bare.kind in ("string", "token"):
        return str(bare.value).encode("latin-1")
    if bare.kind == "binary" and isinstance(bare.value, bytes):
        return bare.value
    if bare.kind == "boolean":
        return b"true" if bare.value else b"false"
    raise CodecError(f"unsupported signature parameter value {bare.value!r}")


def public_keys(commitment: Mapping[str, Any]) -> list[bytes]:
    """The RSA public moduli named by a commitment's ``rsa-pss-sha512``
    signature inputs. Upstream: dev_codec_httpsig:public_keys/1."""
    keys: list[bytes] = []
    try:
        members = sf.parse_dictionary(to_bytes(commitment.get("signature-input", b"")))
    except sf.StructuredFieldError as exc:
        raise CodecError(f"bad signature-input: {exc}") from None
    for _, member in members:
        if not isinstance(member, sf.InnerList):
            continue
        params = dict(member.params)
        alg, keyid = params.get("alg"), params.get("keyid")
        if alg is not None and alg.value == RSA_ALG and keyid is not None:
            keys.append(b64url_decode(str(keyid.value)))
    return keys


def committed_keys(tabm: Tabm, commitment_id: str) -> list[str]:
    """The keys of ``tabm`` that its commitment ``commitment_id`` covers:
    ``signature``, ``signature-input``, the components its signature input
    names (without their ``@``), the implicit (empty-valued) keys when
    ``ao-types`` is signed, and, when ``content-digest`` is signed, the body,
    the inline body key and the top-level keys of the body parts.
    Upstream: dev_codec_httpsig:committed/3 and committed_from_body/1.

    Unlike upstream, which reads the first signature input of the message's
    hmac commitment, this reads the commitment's own signature input; the
    two are the same whenever upstream's has one.
    """
    commitment = _commitments_of(tabm).get(commitment_id)
    if not isinstance(commitment, dict):
        raise CodecError(f"the message has no commitment {commitment_id!r}")
    raw_input = commitment.get("signature-input")
    if raw_input is None:
        return []
    components = _signature_input_components(to_bytes(raw_input))
    signed = ["signature", "signature-input", *remove_derived_specifiers(components)]
    encoded = _encoded_once(tabm)
    if "ao-types" in signed:
        signed += implicit_keys({"ao-types": encoded.get("ao-types", b"")})
    if "content-digest" in signed:
        signed += _committed_from_body(encoded)
    return signed


_LAST_ENCODED = threading.local()


def _encoded_once(tabm: Tabm) -> HttpMessage:
    """``to_httpsig(tabm)``, reused when the same TABM object is asked again
    right away (once per commitment of a message). The TABM is held, so its
    identity cannot be taken by another object meanwhile; TABMs are not
    changed once built."""
    last = getattr(_LAST_ENCODED, "pair", None)
    if last is not None and last[0] is tabm:
        encoded: HttpMessage = last[1]
        return encoded
    encoded = to_httpsig(tabm)
    _LAST_ENCODED.pair = (tabm, encoded)
    return encoded


def _committed_from_body(encoded: HttpMessage) -> list[str]:
    keys = ["body", "inline-body-key"]
    inline = encoded.get("inline-body-key")
    if inline:
        keys.append(inline.decode("utf-8", "surrogateescape"))
    raw = encoded.get("body-keys")
    if raw:
        try:
            members = sf.parse_list(raw)
        except sf.StructuredFieldError as exc:
            raise CodecError(f"bad body-keys {raw!r}: {exc}") from None
        tops: set[str] = set()
        for member in members:
            if isinstance(member, sf.Item) and isinstance(member.bare.value, str | bytes):
                name = to_bytes(member.bare.value).decode("utf-8", "surrogateescape")
                parts = [part for part in name.split("/") if part]
                if parts:
                    tops.add(parts[0])
        keys += sort_keys(tops)
    return keys

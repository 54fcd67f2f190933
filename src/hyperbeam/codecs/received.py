"""Signed ``httpsig@1.0`` messages as they arrived: verified, decoded once, kept.

:func:`decode` turns a received HTTP message (its fields and body) into a
TABM without ever re-encoding it:

- every signature of the message is checked on the received field values
  and body (:mod:`hyperbeam.codecs.rfc9421`), and a message that does not
  verify is refused with the reason;
- the body is decoded once; a nested message that carries ``commitments``
  is checked the same way on its own received values (its part's headers
  and body) when something asks (as upstream checks nested messages where
  they are used), once, wherever its part sits and however its headers
  are ordered;
- commitments are rebuilt from the signatures themselves: an RSA
  commitment's ID is the sha-256 of its signature and its committer the
  address of its ``keyid``, whatever the sender named them (clients
  lower-case part names); the hmac commitment is computed over the same
  received values (:func:`rfc9421.hmac_digest`);
- a signed message keeps only the keys its signatures cover.

Each signed message comes with its :class:`Wire`: the fields and body its
signatures cover, exactly as received. A wire re-verifies without any
encoding, is stored as one record (:meth:`Wire.to_record`) and serves the
message again byte for byte (:meth:`Wire.http`).

Upstream: dev_codec_httpsig_conv:from/1, commitments_from_signature/4,
dev_codec_httpsig:committed/3, reset_hmac/1; hb_http:httpsig_to_tabm_singleton/3
(which re-encodes the message to check it).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from hyperbeam.codecs import ans104, httpsig, rfc9421
from hyperbeam.codecs.structured import Tabm, implicit_keys, sort_keys
from hyperbeam.errors import CodecError, SignatureError
from hyperbeam.message.ids import human_id, sha256

HTTPSIG = b"httpsig@1.0"
HTTPSIG_CODEC = "httpsig@1.0"
ANS104_CODEC = "ans104@1.0"

#: Fields that describe the connection: they may be signed (and are then
#: kept in the wire), but they are not keys of the message...
TRANSPORT_FIELDS = httpsig.TRANSPORT_FIELDS
#: ... except these, when a signature names them: a signed message may have a
#: key called ``te`` (the body's length and framing are never keys).
SIGNED_KEYS_OF_TRANSPORT_NAMES = TRANSPORT_FIELDS - {"content-length", "transfer-encoding"}

#: The first line of a wire record in the store.
RECORD_MAGIC = b"hb-wire/1 "

Path = tuple[str, ...]


@dataclass(eq=False, slots=True)
class Wire:
    """What a signed message's signatures cover, as received.

    For ``ans104@1.0`` (``codec``) it is the data item itself, in ``body``.
    For ``httpsig@1.0``, ``fields`` holds lower-case names to raw values:
    every signed component (derived ones under their ``@name`` when their
    value is the request's), ``signature``, ``signature-input``
    and, when there is a body, the fields needed to read it back
    (``content-type``, ``inline-body-key``). ``body`` is the body bytes when
    ``content-digest`` is signed. ``nested`` is true for a message that
    arrived as a part of another: its body is then a value (upstream does
    not split a part's body), not an encoding of more keys.
    """

    fields: dict[str, bytes]
    body: bytes | None
    nested: bool
    sigs: tuple[rfc9421.Signature, ...]
    #: The keys of the message every signature covers (upstream's committed/3).
    committed: tuple[str, ...] = ()
    #: Commitment IDs: the signatures' and the hmac's.
    ids: tuple[str, ...] = ()
    codec: str = HTTPSIG_CODEC
    #: The message as a TABM (its committed keys and its commitments), as
    #: decoded from this wire: encoding the message again starts from it.
    tabm: Tabm = field(default_factory=dict)
    #: Signed fields a nested message did not carry, given the values
    #: upstream's encoder would (see :func:`_nested_signed`).
    implied: tuple[str, ...] = ()
    _checked: str | None = field(default=None, repr=False)
    _verified: bool = field(default=False, repr=False)

    def verify(self) -> str | None:
        """``None`` when every signature holds, else the reason (computed once)."""
        if self._verified:
            return None
        if self._checked is not None:
            return self._checked
        if self.codec == ANS104_CODEC and not ans104.verify(ans104.deserialize(self.body or b"")):
            self._checked = "the data item's signature does not verify"
            return self._checked
        for sig in self.sigs:
            reason = rfc9421.verify(sig, self.fields, self.body)
            if reason is not None and not self._verifies_encoded(sig):
                self._checked = f"signature {sig.label!r}: {reason}"
                return self._checked
        self._verified = True
        return None

    def _verifies_encoded(self, sig: rfc9421.Signature) -> bool:
        """Whether ``sig`` holds over the message encoded as upstream would:
        a nested message signed over a body that now travels as more parts
        (upstream flattens nested messages) is checked that way."""
        if not self.nested or not self.tabm or "content-digest" not in self.implied:
            return False  # (a digest that arrived must match the body that arrived)
        cid = human_id(sha256(sig.value))
        return cid in self.tabm.get("commitments", {}) and httpsig.verify_commitment(self.tabm, cid)

    def mark_verified(self) -> None:
        """Record that every signature was checked (by the decoder)."""
        self._verified = True

    def http(self) -> tuple[dict[str, bytes], bytes]:
        """The message as HTTP headers and body, as it arrived (derived
        components are not headers and are left out)."""
        if self.codec == ANS104_CODEC:
            return dict(ANS104_HEADERS), self.body or b""
        headers = {k: v for k, v in self.fields.items() if not k.startswith("@")}
        return headers, self.body or b""

    def to_record(self) -> bytes:
        """One store record: a first line naming the form, the fields as
        ``name: value`` lines, a blank line, the body."""
        kind = b"ans104" if self.codec == ANS104_CODEC else b"nested" if self.nested else b"message"
        lines = [RECORD_MAGIC + kind]
        lines += [k.encode("latin-1") + b": " + v for k, v in self.fields.items()]
        head = b"\r\n".join(lines) + b"\r\n\r\n"
        if self.body is None:
            return head
        return head + b"\x00" + self.body  # marks a body, even an empty one


def is_record(raw: bytes) -> bool:
    return raw.startswith(RECORD_MAGIC)


def from_record(raw: bytes) -> tuple[Tabm, list[tuple[Path, Wire]]]:
    """The TABM of a stored record (see :meth:`Wire.to_record`) and the
    wires of the signed messages in it (its own first). Nothing is
    verified: the record was verified before it was stored; call
    :meth:`Wire.verify` to check it again."""
    head, sep, rest = raw.partition(b"\r\n\r\n")
    if not sep or not head.startswith(RECORD_MAGIC):
        raise CodecError("not a wire record")
    lines = head.split(b"\r\n")
    kind = lines[0][len(RECORD_MAGIC) :]
    if kind == b"ans104":
        item_tabm, item_wire = from_item(rest[1:], check=False)
        return item_tabm, [((), item_wire)]
    nested = kind == b"nested"
    fields: dict[str, bytes] = {}
    for line in lines[1:]:
        name, colon, value = line.partition(b": ")
        if not colon:
            raise CodecError(f"bad line in a wire record: {line[:80]!r}")
        fields[name.decode("latin-1")] = value
    body = rest[1:] if rest.startswith(b"\x00") else None
    tabm, wire = _decode(fields, body, nested=nested, check=False)
    if wire is None:
        raise CodecError("a wire record without a signature")
    wires: list[tuple[Path, Wire]] = [((), wire)]
    return _nested(tabm, (), wires), wires


#: How a data item travels over HTTP.
ANS104_HEADERS = {"content-type": b"application/ans104", "codec-device": b"ans104@1.0"}


def from_item(raw: bytes, *, check: bool = True) -> tuple[Tabm, Wire]:
    """A received ANS-104 data item: verified (unless ``check`` is false),
    its TABM and its wire. Raises :class:`SignatureError` when it does not verify."""
    item = ans104.deserialize(raw)
    if check and not ans104.verify(item):
        raise SignatureError("the data item's signature does not verify")
    tabm = ans104.from_item(item)
    if not isinstance(tabm, dict):
        raise CodecError("a data item carrying a bare binary is not a message")
    commitments = tabm.get("commitments", {})
    wire = Wire(
        fields={},
        body=raw,
        nested=False,
        sigs=(),
        committed=tuple(ans104.committed_of(item, tabm)),
        ids=tuple(commitments) if isinstance(commitments, dict) else (),
        codec=ANS104_CODEC,
        tabm=tabm,
    )
    if check:
        wire.mark_verified()
    return tabm, wire


# --- decoding ------------------------------------------------------------------------


def decode(
    fields: Mapping[str, bytes], body: bytes, derived: Mapping[str, bytes] | None = None
) -> tuple[Tabm, list[tuple[Path, Wire]]]:
    """Verify and decode a received HTTP message.

    ``fields`` are its headers (lower-case names, repeated fields joined
    with ``", "``), ``derived`` the values of the derived components its
    signatures name (see :meth:`rfc9421.Request.derived`). Returns the
    TABM (only its committed keys when it is signed, with its commitments)
    and the wire of every signed message in it, by its path (``()`` for the
    message itself). Raises :class:`SignatureError` (400) when the message's
    own signature does not verify. Nested signed messages are checked when
    something asks (upstream checks them where they are used), on their
    received values, once (see :func:`_nested_signed`).
    """
    merged = {**fields, **(derived or {})}
    tabm, wire = _decode(merged, body, nested=False, check=True)
    wires: list[tuple[Path, Wire]] = [] if wire is None else [((), wire)]
    return _nested(tabm, (), wires), wires


def _decode(
    fields: Mapping[str, bytes], body: bytes | None, *, nested: bool, check: bool
) -> tuple[Tabm, Wire | None]:
    """One message's TABM and wire (``None`` when it is not signed). The
    signatures are checked before anything else is read."""
    sigs: list[rfc9421.Signature] = []
    if "signature" in fields or "signature-input" in fields:
        sigs = rfc9421.parse(fields.get("signature", b""), fields.get("signature-input", b""))
    raw_body = body or b""
    forms: dict[str, str | None] = {}
    if check:
        for sig in sigs:
            reason, forms[sig.label] = rfc9421.check(sig, fields, raw_body)
            if reason is not None:
                raise SignatureError(f"the signature {sig.label!r} does not verify: {reason}")
    signed = {name for sig in sigs for name in sig.names} & SIGNED_KEYS_OF_TRANSPORT_NAMES
    # The connection's own fields are not keys; a body part of such a name
    # is (the encoder puts a key named `te` there: see httpsig.TRANSPORT_FIELDS).
    own = {k: v for k, v in fields.items() if k not in TRANSPORT_FIELDS or k in signed}
    if nested:
        _, inline = httpsig.inline_key(own)
        tabm: Tabm = {k: v for k, v in own.items() if not k.startswith("@")}
        if body is not None:
            tabm[inline] = body
    else:
        tabm = _decode_headers_and_body(own, raw_body)
    for key in ("signature", "signature-input", "commitments", "body-keys"):
        tabm.pop(key, None)
    for key in [k for k in tabm if k.startswith("hashpath")]:
        tabm.pop(key)
    if not nested:
        tabm.pop("content-digest", None)
    if not sigs:
        return tabm, None
    derived = _request_line(sigs, fields, forms)
    # A derived component signed as the request's (``@path``: the URL's) is
    # the value of its key, whatever a header of that name says.
    signed_fields = {**fields, **{key: fields[dkey] for dkey, key in derived.items()}}
    tabm.update({key: fields[dkey] for dkey, key in derived.items()})
    commitments = _commitments(sigs, signed_fields)
    covered = _committed(sigs, tabm, fields, raw_body)
    kept = {k: v for k, v in tabm.items() if k in covered}
    kept["commitments"] = commitments
    wire = _wire(sigs, fields, body, nested, covered, kept, derived)
    if check:
        wire.mark_verified()
    return kept, wire


def _request_line(
    sigs: list[rfc9421.Signature], fields: Mapping[str, bytes], forms: Mapping[str, str | None]
) -> dict[str, str]:
    """The derived components whose signed value is the request's, by their
    field key (``@path``) to their message key (``path``): those signed in
    RFC 9421's form, and any that has no field of its name (in upstream's
    form, or in a stored record)."""
    out: dict[str, str] = {}
    for sig in sigs:
        form = forms.get(sig.label)
        for dkey, key in rfc9421.derived_fields(sig):
            if dkey not in fields:
                continue
            if form == rfc9421.RFC or key not in fields:
                out[dkey] = key
    return out


def _decode_headers_and_body(fields: Mapping[str, bytes], body: bytes) -> Tabm:
    """Upstream's from/1 without its commitments: headers, the body's parts
    (or the body under the inline key), ``ao-ids`` ungrouped. The
    ``content-type`` of a multipart body only tells how the message was
    encoded: it is not one of its keys (upstream keeps it)."""
    headers = {k: v for k, v in fields.items() if not k.startswith("@") and k != "body-keys"}
    _, inline = httpsig.inline_key(headers)
    tabm = httpsig.decode_body(dict(headers), inline, headers.get("content-type"), body)
    if "body-keys" in tabm:  # the body was multipart
        tabm.pop("content-type", None)
    return httpsig.ungroup_ids(tabm)


def _nested(tabm: Tabm, path: Path, wires: list[tuple[Path, Wire]]) -> Tabm:
    """``tabm`` with the commitments of every nested message that carries
    some rebuilt from its signatures, and its wire added to ``wires``."""
    out: Tabm | None = None
    for key, value in tabm.items():
        if not isinstance(value, dict) or key == "commitments":
            continue
        inner = _nested(value, (*path, key), wires)
        if isinstance(inner.get("commitments"), dict):
            inner = _nested_signed(inner, (*path, key), wires)
        if inner is not value:
            out = dict(tabm) if out is None else out
            out[key] = inner
    return tabm if out is None else out


def _nested_signed(msg: Tabm, path: Path, wires: list[tuple[Path, Wire]]) -> Tabm:
    """A nested message with commitments, and its wire: the values it is
    checked on (by :meth:`Wire.verify`, when something asks).

    Its fields are its binaries as they arrived; a signed ``inline-body-key``
    or ``content-digest`` that the sender left out (as clients do once a
    message is committed, and as a nested part carries no digest) is the one
    upstream's encoder would give it. A nested message that does not
    verify is not refused here (upstream checks nested messages where they
    are used): its wire keeps the reason, and verifying it says no.

    When its signature covers a body that arrived split into more parts (as
    upstream flattens a nested message's own nested messages), it cannot be
    checked on received bytes: it gets no wire, its commitments are rebuilt
    from its signatures, and it is verified as upstream does, by encoding it
    again (its wire's check also falls back to that).
    """
    where = "/".join(path)
    sigs = _commitment_signatures(msg["commitments"], where)
    if not sigs:
        return msg
    fields = {k: v for k, v in msg.items() if isinstance(v, bytes)}
    headers, inline = httpsig.inline_key(msg)
    names = {name for sig in sigs for name in sig.names}
    implied = [name for name in headers if name in names and name not in fields]
    for name in implied:
        fields[name] = headers[name]
    body = msg.get(inline)
    if "content-digest" in names and not isinstance(body, bytes):
        return _rebuilt(msg, sigs)
    if "content-digest" in names and "content-digest" not in fields and isinstance(body, bytes):
        implied.append("content-digest")  # the digest of its body, as upstream encodes it
        fields["content-digest"] = httpsig.content_digest(body)
    fields["signature"], fields["signature-input"] = rfc9421.joined(sigs)
    try:
        tabm, wire = _decode(
            fields, body if isinstance(body, bytes) else None, nested=True, check=False
        )
    except rfc9421.MalformedSignature:  # a signed component is not among its fields
        return _rebuilt(msg, sigs)
    if wire is not None:
        wire.implied = tuple(implied)
    for name in implied:
        tabm.pop(name, None)  # in the wire only: the message did not carry it
    # Keys beside the signed ones (unsigned parts) stay, as upstream keeps them.
    out = {**msg, **tabm}
    if wire is not None:
        wires.append((path, wire))
    return out


def _rebuilt(msg: Tabm, sigs: list[rfc9421.Signature]) -> Tabm:
    """``msg`` with commitments rebuilt from its signatures (whatever names
    the sender gave them) and its hmac as upstream computes it."""
    commitments: Tabm = {}
    for sig in sigs:
        given = next(
            (
                c
                for c in msg["commitments"].values()
                if isinstance(c, dict) and c.get("signature") == sig.signature_member
            ),
            {},
        )
        commitments[human_id(sha256(sig.value))] = {
            **{k: v for k, v in given.items() if k.startswith("hashpath")},
            "commitment-device": HTTPSIG,
            "committer": sig.committer.encode("ascii"),
            "alg": (sig.alg or "").encode("latin-1"),
            "signature": sig.signature_member,
            "signature-input": sig.input_member,
        }
    try:
        return httpsig.reset_hmac({**msg, "commitments": commitments})
    except CodecError:
        return {**msg, "commitments": commitments}


def _commitment_signatures(commitments: Any, where: str) -> list[rfc9421.Signature]:
    """The signatures a nested message's commitments carry (hmac ones repeat them)."""
    if not isinstance(commitments, dict):
        raise CodecError(f"the commitments of {where!r} must be a message")
    found: dict[str, rfc9421.Signature] = {}
    for commitment in commitments.values():
        if not isinstance(commitment, dict):
            raise CodecError(f"a commitment of {where!r} must be a message")
        alg = commitment.get("alg", b"")
        if alg == httpsig.HTTP_HMAC_ALG:
            continue
        if commitment.get("commitment-device", httpsig.HTTPSIG_DEVICE) != httpsig.HTTPSIG_DEVICE:
            continue  # (an ANS-104 item's: checked by its own device, when asked)
        raw_sig, raw_input = commitment.get("signature"), commitment.get("signature-input")
        if not isinstance(raw_sig, bytes) or not isinstance(raw_input, bytes):
            raise SignatureError(f"a commitment of {where!r} has no signature")
        for sig in rfc9421.parse(raw_sig, raw_input):
            if sig.alg is None or alg != sig.alg.encode("latin-1"):
                raise SignatureError(
                    f"a commitment of {where!r} says alg {alg!r} but its signature "
                    f"input says {sig.alg!r}"
                )
            found[sig.label] = sig
    return list(found.values())


# --- commitments and committed keys -------------------------------------------------


def _commitments(sigs: list[rfc9421.Signature], fields: Mapping[str, bytes]) -> Tabm:
    """Upstream's commitments_from_signature/4 and reset_hmac/1, over the
    received values: one commitment per signature, and the hmac."""
    out: Tabm = {}
    for sig in sigs:
        commitment: Tabm = {
            name: fields.get(name, b"") for name in sig.names if name.startswith("hashpath")
        }
        commitment.update(
            {
                "commitment-device": HTTPSIG,
                "committer": sig.committer.encode("ascii"),
                "alg": (sig.alg or "").encode("latin-1"),
                "signature": sig.signature_member,
                "signature-input": sig.input_member,
            }
        )
        out[human_id(sha256(sig.value))] = commitment
    hmac_id, hmac_commitment = httpsig.hmac_commitment(sigs, fields)
    out[hmac_id] = hmac_commitment
    return out


def _committed(
    sigs: list[rfc9421.Signature], tabm: Tabm, fields: Mapping[str, bytes], body: bytes
) -> set[str]:
    """The keys of ``tabm`` every signature covers. Upstream: dev_codec_httpsig:committed/3."""
    covered: set[str] | None = None
    for sig in sigs:
        keys = {"signature", "signature-input", *(n.removeprefix("@") for n in sig.names)}
        if "ao-types" in keys:
            keys.update(implicit_keys({"ao-types": fields.get("ao-types", b"")}))
        if "content-digest" in keys:
            _, inline = httpsig.inline_key(fields)
            keys.update(("body", "inline-body-key", inline))
            keys.update(_body_keys(tabm, fields))
        covered = keys if covered is None else covered & keys
    return covered or set()


def _body_keys(tabm: Tabm, fields: Mapping[str, bytes]) -> Iterator[str]:
    """The top-level keys a multipart body brought (every map, and each
    binary that is not a header)."""
    for key, value in tabm.items():
        if isinstance(value, dict) or key not in fields:
            yield key


def _wire(
    sigs: list[rfc9421.Signature],
    fields: Mapping[str, bytes],
    body: bytes | None,
    nested: bool,
    covered: set[str],
    tabm: Tabm,
    derived: Mapping[str, str],
) -> Wire:
    names = [name for sig in sigs for name in sig.names]
    keep: dict[str, bytes] = {}
    for sig in sigs:
        for item in sig.components:
            name = rfc9421.component_name(item)
            dkey = rfc9421.derived_key(item)
            # A derived component's value: the request's, or the field's.
            wanted = (dkey,) if dkey in derived else (name.removeprefix("@"), dkey)
            for key in wanted:
                if key in fields:
                    keep[key] = fields[key]
                    break
    signed_body = "content-digest" in names
    if signed_body:
        for extra in ("content-type", "inline-body-key"):
            if extra in fields:
                keep[extra] = fields[extra]
    keep["signature"] = fields["signature"]
    keep["signature-input"] = fields["signature-input"]
    return Wire(
        fields=keep,
        body=body if signed_body else None,
        nested=nested,
        sigs=tuple(sigs),
        committed=tuple(sort_keys(covered)),
        ids=tuple(tabm["commitments"]),
        tabm=tabm,
    )


def signed_wire(signed: Tabm, http: Mapping[str, bytes]) -> Wire | None:
    """The wire of a message this node has just signed: ``http`` is the
    encoding its signature was made over (:func:`httpsig.commit_encoded`).
    ``None`` for a message with more than one signature (it is encoded as
    any other message)."""
    commitments = signed.get("commitments")
    if not isinstance(commitments, dict) or len(commitments) != 2:
        return None
    fields = {k: v for k, v in http.items() if k not in ("body", "body-keys")}
    body = http.get("body")
    sigs = rfc9421.parse(fields["signature"], fields["signature-input"])
    plain = {k: v for k, v in signed.items() if k not in ("commitments", "priv")}
    covered = _committed(sigs, plain, fields, body or b"")
    names = {name for sig in sigs for name in sig.names}
    tabm = {k: v for k, v in signed.items() if k != "priv"}
    wire = Wire(
        fields=fields,
        body=body if "content-digest" in names else None,
        nested=False,
        sigs=tuple(sigs),
        committed=tuple(sort_keys(covered)),
        ids=tuple(commitments),
        tabm=tabm,
    )
    wire.mark_verified()
    return wire

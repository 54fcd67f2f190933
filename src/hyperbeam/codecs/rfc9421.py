"""RFC 9421 signatures checked on a message's fields as they arrived.

A verifier here never re-encodes: the signature base is built from the
received field values (and, for a request, the derived components of its
request line), and a signed ``content-digest`` (RFC 9530, ``sha-256`` and
``sha-512``) is checked against the received body bytes. So a signature
verifies whatever order the sender put its headers, parts or parameters in.

Two forms of the base are tried, and a signature holds if either does:

1. **RFC 9421**: component identifiers serialized as received (with their
   parameters), derived components (``@path``, ``@method``...) taken from
   the request line, and the ``@signature-params`` line serialized as the
   signature input was received;
2. **upstream**: as ``dev_codec_httpsig:signature_base/3`` builds it: a
   derived component is read from the field of the same name without the
   ``@`` (a ``path`` header for ``@path``), values are trimmed of spaces with
   newlines turned into spaces, and only the known signature parameters are
   kept, sorted by name.

Only ``rsa-pss-sha512`` signatures (Arweave keys, the modulus in
``keyid``) are checked; any other algorithm does not verify, with a reason.

Upstream: dev_codec_httpsig:verify/3, verify_auth/2, signature_base/3.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import cached_property
from urllib.parse import parse_qsl, quote

from hyperbeam.codecs import sf
from hyperbeam.crypto.wallet import address_of
from hyperbeam.crypto.wallet import verify as rsa_verify
from hyperbeam.errors import SignatureError
from hyperbeam.message.ids import b64url_decode

RSA_ALG = "rsa-pss-sha512"

#: Signature parameters upstream keeps in its ``@signature-params`` line.
UPSTREAM_PARAMS = frozenset({"created", "expired", "nonce", "alg", "keyid", "tag"})

#: RFC 9530 digest algorithms we check, by their dictionary key.
DIGESTS = {"sha-256": hashlib.sha256, "sha-512": hashlib.sha512}

#: Component parameters a verifier here understands (RFC 9421 section 2.1).
_FIELD_PARAMS = frozenset({"bs", "key", "sf"})


class MalformedSignature(SignatureError):
    """``signature``/``signature-input`` that cannot be read at all."""


@dataclass(frozen=True)
class Signature:
    """One labelled signature of a message: its components, parameters and
    bytes, as the ``signature``/``signature-input`` dictionaries carried it.
    What is derived from them is computed once."""

    label: str
    components: tuple[sf.Item, ...]
    params: tuple[tuple[str, sf.Bare], ...]
    value: bytes

    @cached_property
    def names(self) -> list[str]:
        """The component names (``@path``, ``content-digest``...), lowercased."""
        return [component_name(item) for item in self.components]

    def param(self, name: str) -> str | None:
        for key, bare in self.params:
            if key == name and isinstance(bare.value, str):
                return bare.value
        return None

    @property
    def alg(self) -> str | None:
        return self.param("alg")

    @cached_property
    def owner(self) -> bytes:
        """The RSA modulus the ``keyid`` names (a :class:`MalformedSignature` if none)."""
        keyid = self.param("keyid")
        if not keyid:
            raise MalformedSignature(f"signature {self.label!r} has no keyid")
        try:
            return b64url_decode(keyid)
        except (ValueError, binascii.Error):
            raise MalformedSignature(f"signature {self.label!r}: keyid is not base64url") from None

    @cached_property
    def committer(self) -> str:
        """The address of the signing key."""
        return address_of(self.owner)

    @cached_property
    def input_member(self) -> bytes:
        """``label=(...);params``: this signature's ``signature-input`` member."""
        return self.label.encode("latin-1") + b"=" + self.params_line

    @cached_property
    def signature_member(self) -> bytes:
        """``label=:...:``: this signature's ``signature`` member."""
        return self.label.encode("latin-1") + b"=:" + base64.b64encode(self.value) + b":"

    @cached_property
    def inner_list(self) -> sf.InnerList:
        return sf.InnerList(self.components, self.params)

    @cached_property
    def params_line(self) -> bytes:
        """The ``@signature-params`` value as received: the serialized inner list."""
        return sf.serialize_list([self.inner_list])

    @cached_property
    def upstream_params_line(self) -> bytes:
        """The ``@signature-params`` value as upstream writes it: the known
        parameters only, sorted by name."""
        kept = sorted((k, v) for k, v in self.params if k in UPSTREAM_PARAMS)
        items = tuple(sf.string_item(name) for name in self.names)
        return sf.serialize_list([sf.InnerList(items, tuple(kept))])

    @cached_property
    def identifiers(self) -> list[bytes]:
        """Each component identifier serialized (``"@query-param";name="x"``)."""
        return [sf.serialize_item(item) for item in self.components]


def joined(sigs: Iterable[Signature]) -> tuple[bytes, bytes]:
    """``signature`` and ``signature-input`` dictionaries of several signatures."""
    ordered = list(sigs)
    if len(ordered) == 1:
        return ordered[0].signature_member, ordered[0].input_member
    return (
        b", ".join(sig.signature_member for sig in ordered),
        b", ".join(sig.input_member for sig in ordered),
    )


def parse(signature: bytes, signature_input: bytes) -> list[Signature]:
    """The signatures named in both dictionaries, in ``signature`` order.

    Raises :class:`MalformedSignature` (400) when either does not parse, or
    a signature has no input or is not a byte sequence."""
    try:
        sigs = sf.parse_dictionary(signature)
        inputs = dict(sf.parse_dictionary(signature_input))
    except sf.StructuredFieldError as exc:
        raise MalformedSignature(f"bad signature headers: {exc}") from None
    if not sigs:
        raise MalformedSignature("the signature header names no signature")
    out: list[Signature] = []
    for label, member in sigs:
        sig_input = inputs.get(label)
        if not isinstance(sig_input, sf.InnerList):
            raise MalformedSignature(f"signature {label!r} has no matching signature-input")
        if not isinstance(member, sf.Item) or not isinstance(member.bare.value, bytes):
            raise MalformedSignature(f"signature {label!r} is not a byte sequence")
        for item in sig_input.items:
            if item.bare.kind != "string":
                raise MalformedSignature(f"signature {label!r}: components must be strings")
        out.append(Signature(label, sig_input.items, sig_input.params, member.bare.value))
    return out


@dataclass(frozen=True, slots=True)
class Request:
    """What a request's derived components are made from (RFC 9421 section 2.2)."""

    method: str
    path: str
    query: str
    authority: str
    scheme: str = "http"

    def derived(self, sigs: list[Signature]) -> dict[str, bytes]:
        """The values of the derived components ``sigs`` name, by
        :func:`derived_key` (to be merged into the fields they are checked on)."""
        out: dict[str, bytes] = {}
        for sig in sigs:
            for item in sig.components:
                name = component_name(item)
                if name.startswith("@"):
                    value = self._value(name, item.params)
                    if value is not None:
                        out[derived_key(item)] = value
        return out

    def _value(self, name: str, params: tuple[tuple[str, sf.Bare], ...]) -> bytes | None:
        query = f"?{self.query}" if self.query else ""
        authority = self.authority.lower()
        simple = {
            "@method": self.method,
            "@path": self.path or "/",
            "@query": f"?{self.query}",
            "@authority": authority,
            "@scheme": self.scheme.lower(),
            "@request-target": f"{self.path}{query}",
            "@target-uri": f"{self.scheme.lower()}://{authority}{self.path}{query}",
        }
        if name in simple:
            return simple[name].encode("latin-1")
        if name == "@query-param":
            wanted = _param_text(params, "name")
            for key, value in parse_qsl(self.query, keep_blank_values=True):
                if key == wanted:
                    return quote(value, safe="").encode("ascii")
        return None


def derived_key(item: sf.Item) -> str:
    """Where a derived component's value is kept among the fields: its name
    (``@path``), with its parameters when it has any."""
    name = component_name(item)
    if not item.params:
        return name
    return name + sf.serialize_params(item.params).decode("latin-1")


RFC = "rfc9421"
UPSTREAM = "upstream"


def verify(
    sig: Signature, fields: Mapping[str, bytes], body: bytes | None, *, owner: bytes | None = None
) -> str | None:
    """Check one signature over received ``fields`` (lower-case names to
    values; derived components under :func:`derived_key`) and ``body``.
    Returns ``None`` when it holds, else the reason (see :func:`check`)."""
    return check(sig, fields, body, owner=owner)[0]


def check(
    sig: Signature, fields: Mapping[str, bytes], body: bytes | None, *, owner: bytes | None = None
) -> tuple[str | None, str | None]:
    """``(None, form)`` when the signature holds, ``form`` being the base it
    holds over (:data:`RFC`: derived components are the request's; or
    :data:`UPSTREAM`: they are the fields of their names); ``(reason, None)``
    when it does not.

    The key is the RSA modulus in the signature's ``keyid``, unless the
    caller knows it (``owner``; then a signature without ``alg`` is taken as
    ``rsa-pss-sha512``). A signed ``content-digest`` must match ``body``
    (when a body is given; a message whose body was set aside is checked on
    the digest alone)."""
    alg = sig.alg if sig.alg is not None or owner is None else RSA_ALG
    if alg != RSA_ALG:
        return f"unsupported signature algorithm {alg!r} (only {RSA_ALG} is checked)", None
    if owner is None:
        try:
            owner = sig.owner
        except MalformedSignature as exc:
            return exc.reason, None
    if "content-digest" in sig.names and body is not None:
        reason = check_content_digest(fields.get("content-digest"), body)
        if reason is not None:
            return reason, None
    reason = "no signature base could be built"
    for form, base in _bases(sig, fields):
        if isinstance(base, str):
            reason = base
            continue
        if rsa_verify(owner, base, sig.value, "sha512"):
            return None, form
        reason = "the signature does not match the signed components"
    return reason, None


def bases(sig: Signature, fields: Mapping[str, bytes]) -> Iterator[bytes | str]:
    """The signature bases worth trying (see the module docs), or the reason
    one could not be built: RFC 9421's first, unless a derived component
    has a field of its name (``@path`` and a ``path`` field: AO clients and
    upstream sign those that way)."""
    return (base for _, base in _bases(sig, fields))


def _bases(sig: Signature, fields: Mapping[str, bytes]) -> Iterator[tuple[str, bytes | str]]:
    upstream_style = any(name[0] == "@" and name[1:] in fields for name in sig.names if name)
    order = ((UPSTREAM, _upstream_base), (RFC, _rfc_base))
    if not upstream_style:
        order = order[::-1]
    first = order[0][1](sig, fields)
    yield order[0][0], first
    second = order[1][1](sig, fields)
    if second != first:
        yield order[1][0], second


def derived_fields(sig: Signature) -> Iterator[tuple[str, str]]:
    """``(derived key, key)`` of each derived component with a key of its
    own (``@path``: ``path``; a parametrized one such as ``@query-param``
    has none)."""
    for item, name in zip(sig.components, sig.names, strict=True):
        if name.startswith("@") and not item.params:
            yield derived_key(item), name[1:]


def _rfc_base(sig: Signature, fields: Mapping[str, bytes]) -> bytes | str:
    lines: list[bytes] = []
    for item, name, ident in zip(sig.components, sig.names, sig.identifiers, strict=True):
        value: bytes | str | None
        if name.startswith("@"):
            value = fields.get(derived_key(item))
            if value is None:
                value = fields.get(name[1:])  # a message's own field, as upstream
            if value is None:
                return f"the derived component {name!r} has no value"
        else:
            value = _field_value(name, item.params, fields)
            if isinstance(value, str):
                return value
        lines.append(ident + b": " + value)
    return b"\n".join([*lines, b'"@signature-params": ' + sig.params_line])


def _upstream_base(sig: Signature, fields: Mapping[str, bytes]) -> bytes | str:
    lines: list[bytes] = []
    for item, name in zip(sig.components, sig.names, strict=True):
        key = name[1:] if name.startswith("@") else name
        value = fields.get(key)
        if value is None and name.startswith("@"):
            value = fields.get(derived_key(item))
        if value is None:
            return f"the signed component {name!r} is not in the message"
        lines.append(b'"' + key.encode("latin-1") + b'": ' + upstream_trim(value))
    return b"\n".join([*lines, b'"@signature-params": ' + sig.upstream_params_line])


def upstream_trim(value: bytes) -> bytes:
    """Upstream's trim_and_normalize/1: edge spaces off, newlines as spaces."""
    return value.strip(b" ").replace(b"\n", b" ")


def _field_value(
    name: str, params: tuple[tuple[str, sf.Bare], ...], fields: Mapping[str, bytes]
) -> bytes | str:
    """A field component's value (RFC 9421 section 2.1), or why there is none."""
    unknown = [key for key, _ in params if key not in _FIELD_PARAMS]
    if unknown:
        return f"component parameters {unknown} of {name!r} are not supported"
    raw = fields.get(name)
    if raw is None:
        return f"the signed component {name!r} is not in the message"
    value = raw.strip(b" \t")
    given = dict(params)
    try:
        if "key" in given:
            wanted = _param_text(params, "key")
            for key, member in sf.parse_dictionary(value):
                if key == wanted:
                    return sf.serialize_list([member])
            return f"{name!r} has no member {wanted!r}"
        if "sf" in given:
            return _reserialize(value)
    except sf.StructuredFieldError as exc:
        return f"{name!r} is not a structured field: {exc}"
    if "bs" in given:
        return b":" + base64.b64encode(value) + b":"
    return value


def _reserialize(value: bytes) -> bytes:
    """A structured field in its canonical form (dictionary, list or item)."""
    try:
        members = sf.parse_dictionary(value)
        return sf.serialize_dictionary(members)
    except sf.StructuredFieldError:
        return sf.serialize_list(sf.parse_list(value))


def check_content_digest(value: bytes | None, body: bytes) -> str | None:
    """RFC 9530: every ``sha-256``/``sha-512`` member of ``value`` must be the
    digest of ``body``, and there must be at least one. ``None`` when it holds."""
    if value is None:
        return "content-digest is signed but missing"
    try:
        members = sf.parse_dictionary(value)
    except sf.StructuredFieldError as exc:
        return f"bad content-digest: {exc}"
    checked = 0
    for name, member in members:
        algorithm = DIGESTS.get(name)
        if algorithm is None:
            continue
        if not isinstance(member, sf.Item) or not isinstance(member.bare.value, bytes):
            return f"content-digest {name} is not a byte sequence"
        if member.bare.value != algorithm(body).digest():
            return f"content-digest {name} does not match the body"
        checked += 1
    if not checked:
        return "content-digest has no sha-256 or sha-512 member"
    return None


def component_name(item: sf.Item) -> str:
    """A component's name, lowercased (``@path``, ``content-digest``)."""
    value = item.bare.value
    return value.lower() if isinstance(value, str) else str(value)


def _param_text(params: tuple[tuple[str, sf.Bare], ...], name: str) -> str:
    for key, bare in params:
        if key == name and isinstance(bare.value, str):
            return bare.value
    return ""


# --- the hmac commitment -----------------------------------------------------------

HMAC_KEY = b"ao"
HMAC_ALG = "hmac-sha256"

#: Component names upstream marks as derived (``@``) when it sorts them.
_DERIVED = frozenset(
    {"method", "target-uri", "authority", "scheme", "request-target", "path", "query"}
    | {"query-param", "status"}
)


def hmac_digest(sigs: list[Signature], fields: Mapping[str, bytes]) -> bytes:
    """The hmac-sha256 (key ``ao``) that identifies a signed message by its
    content, over the received values of the components of its first
    signature (by label). Upstream: dev_codec_httpsig:reset_hmac/1 and
    hmac/1, which build the same base from the message's encoding."""
    first = min(sigs, key=lambda sig: sig.label.encode("latin-1"))
    names = {name.removeprefix("@") for name in first.names}
    identifiers = sorted(
        (f"@{name}" if name in _DERIVED else name for name in names),
        key=lambda ident: ident.encode("latin-1"),
    )
    lines: list[bytes] = []
    for ident in identifiers:
        name = ident.removeprefix("@")
        value = fields.get(name)
        if value is None:
            value = fields.get(f"@{name}")
        if value is None:
            raise MalformedSignature(f"the signed component {name!r} is not in the message")
        lines.append(b'"' + name.encode("latin-1") + b'": ' + upstream_trim(value))
    items = b" ".join(b'"' + sf.escape_string(i.encode("latin-1")) + b'"' for i in identifiers)
    line = b"(" + items + b');alg="hmac-sha256";keyid="ao"'
    base = b"\n".join([*lines, b'"@signature-params": ' + line])
    return hmac.new(HMAC_KEY, base, hashlib.sha256).digest()

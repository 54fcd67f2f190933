"""Signed requests verify on the bytes that arrived, however they are laid
out, and not once a byte of what they sign changed (Hypothesis).

Issue: "Property tests permute part order, header order and case and still
verify; flipping any byte of a signed component or body is still refused."

The requests are signed here by a small RFC 9421 signer written from the
RFC (section 2.5: the signature base; section 4.1: the ``signature`` and
``signature-input`` dictionaries), not from ``hyperbeam.codecs.rfc9421``:
components are chosen by the strategy (derived ``@method``, ``@path``,
``@query``, ``@authority`` from the request line and ``host``, and plain
fields), signature parameters come in any order, there may be two labels.
Bodies are ``content-digest``-ed (RFC 9530, sha-256 or sha-512), plain or
``multipart/form-data`` whose parts hold a nested message signed by
``commit.commit`` and laid out as hbsig sends one (its fields as the part's
header lines, its commitments as ``<key>/commitments/<id>`` parts, the IDs
possibly lower-cased), beside other parts. Each request goes through
``request_message`` with its headers as the node's HTTP edge passes them
(names lower-cased, repeated fields joined with ``", "``: see
``hyperbeam.http.app._headers``).
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
import string
from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from hyperbeam.codecs import httpsig, rfc9421, sf
from hyperbeam.crypto.wallet import Wallet
from hyperbeam.errors import CodecError, HyperbeamError, SignatureError
from hyperbeam.http.render import request_message
from hyperbeam.message import commit
from hyperbeam.message.ids import b64url_encode, human_id, sha256

WALLET = Wallet.generate()
KEYID = b64url_encode(WALLET.owner)
RSA_ALG = "rsa-pss-sha512"
CRLF = b"\r\n"
DIGESTS = {"sha-256": hashlib.sha256, "sha-512": hashlib.sha512}
DERIVED = ("@method", "@path", "@query", "@authority")
#: Derived components the layout properties sign. ``@method`` and ``@path``
#: have a property of their own (test_a_request_signed_over_its_request_line_
#: still_verifies), so that a failure of the layout properties is about layouts.
LAYOUT_DERIVED = ("@query", "@authority")

#: Shrinking a failure here takes a minute or more (every example signs with
#: RSA-4096, and layouts are large), so failures are reported as found (the
#: examples print compactly); HB_SHRINK=1 shrinks them.
PHASES = [Phase.explicit, Phase.reuse, Phase.generate]
if os.environ.get("HB_SHRINK"):
    PHASES.append(Phase.shrink)

SETTINGS = settings(
    max_examples=50,
    deadline=None,
    report_multiple_bugs=False,
    phases=PHASES,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def _pretty(text: str) -> Any:
    """A ``_repr_pretty_`` for Hypothesis's reports (keys and bodies are long)."""

    def method(self: Any, printer: Any, cycle: bool) -> None:
        printer.text(text.format(self=self) if not cycle else "...")

    return method


def _short(raw: bytes, limit: int = 160) -> bytes:
    return raw if len(raw) <= limit else raw[: limit // 2] + b"..." + raw[-limit // 2 :]


# --- a test-only RFC 9421 signer -------------------------------------------------------


@dataclass(frozen=True)
class Plan:
    """One signature: its label, the components it covers (in the order of
    its input) and its parameters (in the order they are written)."""

    label: str
    components: tuple[str, ...]
    params: tuple[tuple[str, str | int], ...]

    def __repr__(self) -> str:
        params = [(k, "<KEYID>" if v == KEYID else v) for k, v in self.params]
        return f"Plan({self.label!r}, {self.components!r}, {params!r})"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(repr(self))


def sf_string(text: str) -> bytes:
    """An RFC 8941 sf-string (section 4.1.6)."""
    return b'"' + text.replace("\\", "\\\\").replace('"', '\\"').encode("ascii") + b'"'


def signature_params(plan: Plan) -> bytes:
    """The inner list ``("c1" "c2");k=v...`` (RFC 9421 section 2.3)."""
    out = b"(" + b" ".join(sf_string(c) for c in plan.components) + b")"
    for key, value in plan.params:
        serialized = str(value).encode() if isinstance(value, int) else sf_string(value)
        out += b";" + key.encode("ascii") + b"=" + serialized
    return out


def component_value(
    name: str, method: str, path: str, query: str, fields: dict[str, bytes]
) -> bytes:
    """RFC 9421 section 2.1 (a field: its value, edge whitespace trimmed)
    and section 2.2 (the derived components of a request)."""
    if name == "@method":
        return method.encode("latin-1")
    if name == "@path":
        return (path or "/").encode("latin-1")
    if name == "@query":
        return b"?" + query.encode("latin-1")
    if name == "@authority":
        return fields["host"].strip(b" \t").lower()
    return fields[name].strip(b" \t")


def signature_base(
    plan: Plan, method: str, path: str, query: str, fields: dict[str, bytes]
) -> bytes:
    """RFC 9421 section 2.5."""
    lines = [
        sf_string(c) + b": " + component_value(c, method, path, query, fields)
        for c in plan.components
    ]
    lines.append(b'"@signature-params": ' + signature_params(plan))
    return b"\n".join(lines)


def content_digest(algorithm: str, body: bytes) -> bytes:
    """RFC 9530 ``Content-Digest`` with one member."""
    digest = base64.b64encode(DIGESTS[algorithm](body).digest())
    return algorithm.encode() + b"=:" + digest + b":"


def sign(
    plans: list[Plan], method: str, path: str, query: str, fields: dict[str, bytes]
) -> list[tuple[str, bytes]]:
    """The ``signature`` and ``signature-input`` field lines of ``plans``
    over ``fields``, one line per label."""
    lines: list[tuple[str, bytes]] = []
    for plan in plans:
        value = WALLET.sign(signature_base(plan, method, path, query, fields), "sha512")
        label = plan.label.encode("ascii")
        lines.append(("signature", label + b"=:" + base64.b64encode(value) + b":"))
        lines.append(("signature-input", label + b"=" + signature_params(plan)))
    return lines


# --- requests as sent, and as the HTTP edge passes them on -----------------------------


@dataclass
class Sent:
    """A request as it went on the wire: its request line, its header lines
    (name as sent, value) in order, its body, and what was signed."""

    method: str
    path: str
    query: str
    lines: list[tuple[str, bytes]]
    body: bytes
    plans: list[Plan] = field(default_factory=list)

    def headers(self) -> dict[str, str]:
        """As ``hyperbeam.http.app._headers`` passes them on."""
        out: dict[str, str] = {}
        for raw_name, raw_value in self.lines:
            name, value = raw_name.lower(), raw_value.decode("latin-1")
            out[name] = f"{out[name]}, {value}" if name in out else value
        return out

    def send(self, **changes: Any) -> Any:
        """``request_message`` of the request, with ``changes`` (any of
        ``method``, ``path``, ``query``, ``headers``, ``body``)."""
        args: dict[str, Any] = {
            "method": self.method,
            "path": self.path,
            "query": self.query,
            "headers": self.headers(),
            "body": self.body,
            **changes,
        }
        return request_message(
            args["method"], args["path"], args["query"], args["headers"], args["body"]
        )

    def signed_fields(self) -> list[str]:
        return sorted({c for p in self.plans for c in p.components if not c.startswith("@")})

    def signature_values(self) -> list[bytes]:
        out: list[bytes] = []
        for _, member in sf.parse_dictionary(self.headers()["signature"].encode("latin-1")):
            if isinstance(member, sf.Item) and isinstance(member.bare.value, bytes):
                out.append(member.bare.value)
        return out

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        lines = [(k, _short(v)) for k, v in self.lines]
        printer.text(
            f"Sent({self.method} {self.path!r} query={self.query!r} lines={lines!r} "
            f"body={_short(self.body, 600)!r} plans={self.plans!r})"
        )


# --- strategies ------------------------------------------------------------------------

_VISIBLE = "".join(chr(c) for c in range(0x21, 0x7F))
texts = st.text(_VISIBLE, min_size=1, max_size=24)
#: Field values: visible ASCII with inner spaces, no edge whitespace.
field_values = st.text(_VISIBLE + " ", min_size=1, max_size=32).map(str.strip).filter(bool)
extra_names = st.text(string.ascii_lowercase, min_size=1, max_size=6).map(lambda s: f"x-{s}")
part_keys = st.text(string.ascii_lowercase, min_size=1, max_size=6).map(lambda s: f"p{s}")
nested_keys = st.text(string.ascii_lowercase, min_size=1, max_size=6).map(lambda s: f"k{s}")
labels = st.from_regex(r"[a-z][a-z0-9-]{0,8}", fullmatch=True)
hosts = st.from_regex(
    r"[A-Za-z][A-Za-z0-9-]{0,10}(\.[A-Za-z]{2,5})?(:[1-9][0-9]{1,4})?", fullmatch=True
)
paths = st.text(string.ascii_letters + string.digits + "~@.&=-_+/", max_size=24).map(
    lambda s: "/" + s
)
queries = st.one_of(
    st.just(""), st.text(string.ascii_letters + string.digits + "=&-_.%+", min_size=1, max_size=20)
)


def case_variants(name: str) -> st.SearchStrategy[str]:
    """``name``, upper-cased, or each word capitalized (``Content-Type``)."""
    title = "-".join(word.capitalize() for word in name.split("-"))
    return st.sampled_from([name, name.upper(), title])


@dataclass
class Layout:
    """A multipart body and what it must decode to."""

    content_type: bytes
    body: bytes
    nested_key: str
    nested: dict[str, Any]
    nested_signature: bytes
    #: The nested message's keys whose syntax ``ao-types`` fixes (and itself).
    typed: frozenset[str]
    others: dict[str, Any]
    #: Each part in ``body``: (start, end, kind) with kind ``"<nested>"``,
    #: ``"<rsa>"``, ``"<hmac>"`` or the part's key.
    spans: list[tuple[int, int, str]]

    _repr_pretty_ = _pretty(
        "Layout(nested_key={self.nested_key!r}, nested={self.nested!r}, "
        "others={self.others!r}, spans={self.spans!r})"
    )


@st.composite
def nested_messages(draw: st.DrawFn) -> dict[str, Any]:
    values = st.one_of(texts, st.integers(-1000, 1000))
    msg = draw(st.dictionaries(nested_keys, values, min_size=1, max_size=4))
    if draw(st.booleans()):
        msg["body"] = draw(texts)
    return msg


@st.composite
def layouts(
    draw: st.DrawFn,
    *,
    disposition_case: bool = False,
    field_case: bool = False,
    other_parts: bool = True,
) -> Layout:
    """A multipart body holding a nested signed message (as hbsig lays it
    out) and other parts, every order drawn: the parts, the header lines in
    each part, where ``content-disposition`` is among them, the case of
    the commitment IDs in part names and, when asked, the case of the
    parts' ``content-disposition`` (``disposition_case``) and other header
    names (``field_case``). Other parts are left out unless ``other_parts``."""
    original = draw(nested_messages())
    tabm = commit.convert(commit.commit(original, WALLET), "tabm")
    encoded = httpsig.to_httpsig(tabm)
    drop = {"signature", "signature-input", "body", "body-keys"}
    if draw(st.booleans()):
        drop.add("content-digest")  # hbsig sends none in a part: it is implied
    nested_fields = [(k, v) for k, v in encoded.items() if k not in drop]
    key = draw(st.sampled_from(["body", "msg"]))

    def name_case(name: str) -> str:
        mixed = disposition_case if name == "content-disposition" else field_case
        return draw(case_variants(name)) if mixed else name

    def render(disposition: bytes, headers: list[tuple[str, bytes]], body: bytes | None) -> bytes:
        lines = [name_case(k).encode() + b": " + v for k, v in draw(st.permutations(headers))]
        at = draw(st.integers(0, len(lines)))
        lines.insert(at, name_case("content-disposition").encode() + b": " + disposition)
        head = CRLF.join(lines)
        return head if body is None else head + CRLF + CRLF + body

    def form(name: str) -> bytes:
        sep = draw(st.sampled_from([b";", b"; "]))
        return b"form-data" + sep + b'name="' + name.encode() + b'"'

    inline = key == "body" and draw(st.booleans())
    nested_part = render(b"inline" if inline else form(key), nested_fields, encoded.get("body"))
    parts: list[tuple[str, bytes]] = [("<nested>", nested_part)]
    lower_ids = draw(st.booleans())
    rsa_sig = b""
    for cid, comm in tabm["commitments"].items():
        kind = "<rsa>" if comm["alg"] == RSA_ALG.encode() else "<hmac>"
        rsa_sig = comm["signature"] if kind == "<rsa>" else rsa_sig
        name = f"{key}/commitments/{cid.lower() if lower_ids else cid}"
        parts.append((kind, render(form(name), list(comm.items()), None)))
    others: dict[str, Any] = {}
    for pkey in draw(st.lists(part_keys, max_size=3 if other_parts else 0, unique=True)):
        if draw(st.booleans()):
            value = draw(texts)
            others[pkey] = value
            parts.append((pkey, render(form(pkey), [], value.encode())))
        else:
            sub = draw(st.dictionaries(nested_keys, texts, min_size=1, max_size=3))
            others[pkey] = sub
            lines = [(k, v.encode()) for k, v in sub.items()]
            parts.append((pkey, render(form(pkey), lines, None)))
    parts = draw(st.permutations(parts))
    boundary = httpsig.boundary_from_parts(part for _, part in parts)
    body, spans = b"", []
    for kind, part in parts:
        body += b"--" + boundary + CRLF
        spans.append((len(body), len(body) + len(part), kind))
        body += part + CRLF
    body += b"--" + boundary + b"--"
    [(_, member)] = sf.parse_dictionary(rsa_sig)
    assert isinstance(member, sf.Item) and isinstance(member.bare.value, bytes)
    typed = {k.decode() for k in re.findall(rb"([a-z0-9-]+)=", encoded.get("ao-types", b""))}
    return Layout(
        content_type=b'multipart/form-data; boundary="' + boundary + b'"',
        body=body,
        nested_key=key,
        nested=original,
        nested_signature=member.bare.value,
        typed=frozenset({*typed, "ao-types"}),
        others=others,
        spans=spans,
    )


@st.composite
def plans(draw: st.DrawFn, available: list[str], must: list[str]) -> list[Plan]:
    """One or two signatures over components drawn from ``available`` (each
    covering ``must``), in any order, their parameters in any order."""
    count = draw(st.integers(1, 2))
    names = draw(st.lists(labels, min_size=count, max_size=count, unique=True))
    out: list[Plan] = []
    for label in names:
        chosen = draw(st.lists(st.sampled_from(available), unique=True, max_size=5))
        chosen += [c for c in must if c not in chosen]
        if not chosen:
            chosen = [draw(st.sampled_from(available))]
        components = tuple(draw(st.permutations(chosen)))
        params: list[tuple[str, str | int]] = [("alg", RSA_ALG), ("keyid", KEYID)]
        if draw(st.booleans()):
            params.append(("created", draw(st.integers(0, 2**40))))
        if draw(st.booleans()):
            nonce = draw(st.text(string.ascii_letters + string.digits, max_size=12))
            params.append(("nonce", nonce))
        if draw(st.booleans()):
            params.append(("tag", draw(st.text(string.ascii_letters + "-", max_size=12))))
        out.append(Plan(label, components, tuple(draw(st.permutations(params)))))
    return out


@st.composite
def requests(
    draw: st.DrawFn,
    *,
    layout: Layout | None = None,
    signed: bool = True,
    cover_body: bool = False,
    derived: tuple[str, ...] = LAYOUT_DERIVED,
    must: tuple[str, ...] = (),
) -> Sent:
    """A request (signed by ``WALLET`` unless ``signed`` is false) with a
    multipart body (``layout``) or a plain one, possibly empty, every
    header order and name case drawn. Its signatures cover components
    drawn from ``derived`` and its fields, ``must`` and, with
    ``cover_body``, ``content-digest``."""
    method = draw(st.sampled_from(["GET", "POST", "PUT", "PATCH", "DELETE"]))
    path, query, host = draw(paths), draw(queries), draw(hosts)
    fields: dict[str, bytes] = {"host": host.encode()}
    if layout is not None:
        body = layout.body
        fields["content-type"] = layout.content_type
    else:
        body = draw(st.binary(min_size=1 if cover_body else 0, max_size=64))
        if body:
            fields["content-type"] = draw(
                st.sampled_from([b"application/octet-stream", b"text/plain; charset=utf-8"])
            )
    fields["content-length"] = str(len(body)).encode()
    extras = draw(st.dictionaries(extra_names, field_values, max_size=4))
    fields.update({k: v.encode() for k, v in extras.items()})
    fields["content-digest"] = content_digest(draw(st.sampled_from(sorted(DIGESTS))), body)
    chosen: list[Plan] = []
    lines = list(fields.items())
    if signed:
        available = [*derived, *(k for k in fields if k != "host")]
        required = [*must, *(["content-digest"] if cover_body else [])]
        chosen = draw(plans(available, required))
        lines += sign(chosen, method, path, query, fields)
        if len(chosen) > 1 and draw(st.booleans()):  # or one line per label
            sigs = [v for k, v in lines if k == "signature"]
            inputs = [v for k, v in lines if k == "signature-input"]
            lines = [(k, v) for k, v in lines if k not in ("signature", "signature-input")]
            lines += [("signature", b", ".join(sigs)), ("signature-input", b", ".join(inputs))]
    lines = [(draw(case_variants(k)), v) for k, v in draw(st.permutations(lines))]
    return Sent(method, path, query, lines, body, chosen)


# --- the signer is RFC 9421's -------------------------------------------------------------


@SETTINGS
@given(data=st.data())
def test_the_signer_builds_rfc9421_bases(data: st.DataObject) -> None:
    """The test signer's base is the one ``rfc9421`` builds first for the
    signature input it wrote, in whatever order its parameters are."""
    sent = data.draw(requests(derived=DERIVED))
    headers = {k: v.encode("latin-1") for k, v in sent.headers().items()}
    request = rfc9421.Request(sent.method, sent.path, sent.query, headers["host"].decode())
    sigs = rfc9421.parse(headers["signature"], headers["signature-input"])
    assert sorted(sig.label for sig in sigs) == sorted(plan.label for plan in sent.plans)
    for plan in sent.plans:
        [sig] = [s for s in sigs if s.label == plan.label]
        fields = {**headers, **request.derived([sig])}
        mine = signature_base(plan, sent.method, sent.path, sent.query, headers)
        assert next(rfc9421.bases(sig, fields)) == mine
        assert rfc9421.verify(sig, fields, sent.body) is None


# --- any layout verifies -------------------------------------------------------------------


def _check_signed(msg: Any, sent: Sent) -> None:
    # upstream's signers/committers: one entry per signed commitment
    assert commit.signers(msg) == [WALLET.address] * len(sent.plans)
    for value in sent.signature_values():
        assert human_id(sha256(value)) in msg["commitments"]
    assert commit.verify(msg)


@SETTINGS
@given(data=st.data())
def test_a_signed_request_verifies_in_any_header_order(data: st.DataObject) -> None:
    sent = data.draw(requests())
    msg = sent.send()
    headers = sent.headers()
    covered = set.intersection(*(set(p.components) for p in sent.plans))
    for name in (n for n in headers if n.startswith("x-")):
        # a signed request keeps only the fields every signature covers
        assert msg.get(name) == (headers[name] if name in covered else None), name
    _check_signed(msg, sent)


@pytest.mark.parametrize("component", DERIVED)
@settings(SETTINGS, max_examples=15)
@given(data=st.data())
def test_a_request_signed_over_its_request_line_still_verifies(
    component: str, data: st.DataObject
) -> None:
    """RFC 9421 section 2.2: ``@method``, ``@path``... are the request's
    own, from its request line. A request signed over them is accepted, and
    the message it becomes verifies."""
    sent = data.draw(requests(derived=(), must=(component,)))
    msg = sent.send()
    _check_signed(msg, sent)


def _check_layout(msg: Any, layout: Layout) -> None:
    nested = msg[layout.nested_key]
    assert commit.verify(nested)
    assert commit.id(nested, "all") == human_id(sha256(layout.nested_signature))
    assert commit.signers(nested) == [WALLET.address]
    for key, value in layout.nested.items():
        assert nested[key] == value, key
    for key, value in layout.others.items():
        assert msg[key] == value, key


@SETTINGS
@given(data=st.data())
def test_nested_signed_parts_verify_in_any_layout(data: st.DataObject) -> None:
    layout = data.draw(layouts())
    sent = data.draw(requests(layout=layout, cover_body=True))
    msg = sent.send()
    _check_layout(msg, layout)
    _check_signed(msg, sent)


@pytest.mark.parametrize("which", ["content-disposition", "other fields"])
@settings(SETTINGS, max_examples=25)
@given(data=st.data())
def test_part_header_names_are_case_insensitive(which: str, data: st.DataObject) -> None:
    """RFC 9110 section 5.1 (and RFC 7578 section 4.8 for the parts of a
    form): field names are case-insensitive, so a part's
    ``Content-Disposition``, ``Signature`` or ``Device`` line is its
    ``content-disposition``, ``signature`` or ``device``."""
    disposition = which == "content-disposition"
    layout = data.draw(layouts(disposition_case=disposition, field_case=not disposition))
    sent = data.draw(requests(layout=layout, signed=data.draw(st.booleans()), cover_body=True))
    msg = sent.send()
    _check_layout(msg, layout)
    if sent.plans:
        _check_signed(msg, sent)


# --- one changed byte is refused -----------------------------------------------------------

#: Bytes an HTTP field value may hold (RFC 9110 section 5.5: VCHAR and
#: obs-text, and SP or HTAB inside it).
_FIELD_BYTES = frozenset(range(0x21, 0x7F)) | frozenset(range(0x80, 0x100))


def _flip(raw: bytes, at: int, new: int) -> bytes:
    return raw[:at] + bytes([new]) + raw[at + 1 :]


def _field_flip(data: st.DataObject, raw: bytes) -> tuple[int, bytes]:
    """A position in the field value ``raw`` and ``raw`` with the byte there
    changed to another one a field value can hold there."""
    at = data.draw(st.integers(0, len(raw) - 1), label="at")
    inner = 0 < at < len(raw) - 1
    allowed = _FIELD_BYTES | ({0x20, 0x09} if inner else set())
    new = data.draw(st.sampled_from(sorted(allowed - {raw[at]})), label="new byte")
    return at, _flip(raw, at, new)


def _refused(sent: Sent, **changes: Any) -> HyperbeamError:
    with pytest.raises(HyperbeamError) as caught:
        sent.send(**changes)
    assert caught.value.status == 400
    return caught.value


def _signed(data: st.DataObject, **options: Any) -> Sent:
    layout = data.draw(st.none() | layouts())
    return data.draw(requests(layout=layout, cover_body=True, **options))


@SETTINGS
@given(data=st.data())
def test_a_changed_body_byte_is_refused(data: st.DataObject) -> None:
    sent = _signed(data)
    at = data.draw(st.integers(0, len(sent.body) - 1))
    mask = data.draw(st.integers(1, 255))
    error = _refused(sent, body=_flip(sent.body, at, sent.body[at] ^ mask))
    assert isinstance(error, SignatureError)
    assert "content-digest" in error.reason


@SETTINGS
@given(data=st.data())
def test_a_changed_signed_field_byte_is_refused(data: st.DataObject) -> None:
    """Any signed field, ``content-digest``, ``content-type`` (so the body
    is never read) and ``content-length`` included: one changed byte and
    the signature does not verify (a ``SignatureError``, never a
    ``CodecError``: nothing is decoded before the signature holds)."""
    sent = _signed(data)
    headers = sent.headers()
    name = data.draw(st.sampled_from(sent.signed_fields()))
    _, value = _field_flip(data, headers[name].encode("latin-1"))
    error = _refused(sent, headers={**headers, name: value.decode("latin-1")})
    assert isinstance(error, SignatureError)


@SETTINGS
@given(data=st.data())
def test_a_changed_derived_component_is_refused(data: st.DataObject) -> None:
    component = data.draw(st.sampled_from(DERIVED))
    sent = _signed(data, must=(component,))
    headers = sent.headers()
    if component == "@authority":
        original = headers["host"].encode("latin-1")
        _, host = _field_flip(data, original)
        changed = {**headers, "host": host.decode("latin-1")}
        if host.lower() == original.lower():
            # RFC 9421 section 2.2.3: the authority is normalized to lower case
            assert commit.verify(sent.send(headers=changed))
            return
        assert isinstance(_refused(sent, headers=changed), SignatureError)
        return
    target = {"@method": "method", "@path": "path", "@query": "query"}[component]
    raw = getattr(sent, target).encode("latin-1")
    if not raw:  # no query: any query changes `@query`
        changed_text = data.draw(st.sampled_from(["a", "a=1", "="]))
    else:
        at = data.draw(st.integers(0, len(raw) - 1))
        # a byte a request target carries there (not `?`, `#`, a space or the first `/`)
        allowed = set(range(0x21, 0x7F)) - {ord("?"), ord("#"), raw[at]}
        if component == "@path" and at == 0:
            allowed.discard(ord("/"))
        changed_text = _flip(raw, at, data.draw(st.sampled_from(sorted(allowed)))).decode()
    assert isinstance(_refused(sent, **{target: changed_text}), SignatureError)


_B64_RUN = re.compile(rb":([A-Za-z0-9+/=]*):")


def _same_bytes_after_flip(raw: bytes, changed: bytes, at: int) -> bool:
    """Whether the byte at ``at`` lies in a ``:base64:`` run of ``raw`` that
    decodes to the same bytes once changed: a change in the pad bits of its
    last character, which RFC 8941 section 4.2.7 says parsers SHOULD accept.
    The signature is then the same one."""
    for found in _B64_RUN.finditer(raw):
        if found.start(1) <= at < found.end(1):
            try:
                new = base64.b64decode(changed[found.start(1) : found.end(1)], validate=True)
            except ValueError:
                return False
            return new == base64.b64decode(found.group(1))
    return False


_INNER_LIST = re.compile(rb"\(([^()]*)\)")
_QUOTED = re.compile(rb'"[^"]*"')


def _component_name_case_flip(raw: bytes, changed: bytes, at: int) -> bool:
    """Whether the change only turned the case of a letter of a quoted
    component name in a signature input: the upstream-style base (which
    ``rfc9421.verify`` tries second) lowercases component names, so the
    input still names the same fields."""
    if raw[at : at + 1].lower() != changed[at : at + 1].lower():
        return False
    for inner in _INNER_LIST.finditer(raw):
        for name in _QUOTED.finditer(raw, inner.start(1), inner.end(1)):
            if name.start() < at < name.end() - 1:
                return True
    return False


@SETTINGS
@given(data=st.data())
def test_a_changed_signature_byte_is_refused(data: st.DataObject) -> None:
    sent = _signed(data)
    headers = sent.headers()
    raw = headers["signature"].encode("latin-1")
    at, changed = _field_flip(data, raw)
    flipped = {**headers, "signature": changed.decode("latin-1")}
    if _same_bytes_after_flip(raw, changed, at):
        assert commit.verify(sent.send(headers=flipped))
        return
    assert isinstance(_refused(sent, headers=flipped), SignatureError)


@SETTINGS
@given(data=st.data())
def test_a_changed_signature_input_byte_is_refused(data: st.DataObject) -> None:
    sent = _signed(data)
    headers = sent.headers()
    raw = headers["signature-input"].encode("latin-1")
    at, changed = _field_flip(data, raw)
    flipped = {**headers, "signature-input": changed.decode("latin-1")}
    try:
        msg = sent.send(headers=flipped)
    except SignatureError as error:
        assert error.status == 400
        return
    # Accepted: only a change of case in a component name may be (it names
    # the same field), and the message still verifies.
    assert _component_name_case_flip(raw, changed, at), (_short(raw[at - 20 : at + 20]), at)
    assert commit.verify(msg)


def _nested_targets(layout: Layout) -> list[tuple[int, int, str]]:
    """(start, end, name) of every value of the nested part's header lines
    and of its body, and of the RSA commitment's signature and input."""
    out: list[tuple[int, int, str]] = []
    for start, end, kind in layout.spans:
        if kind not in ("<nested>", "<rsa>"):
            continue
        part = layout.body[start:end]
        head_end = part.find(CRLF + CRLF)
        head = part if head_end < 0 else part[:head_end]
        offset = start
        for line in head.split(CRLF):
            name, sep, value = line.partition(b": ")
            lower = name.lower().decode()
            wanted = (
                lower != "content-disposition"
                if kind == "<nested>"
                else lower in ("signature", "signature-input")
            )
            if sep and value and wanted:
                vstart = offset + len(name) + 2
                out.append((vstart, vstart + len(value), f"{kind}{lower}"))
            offset += len(line) + 2
        if kind == "<nested>" and head_end >= 0 and end > start + head_end + 4:
            out.append((start + head_end + 4, end, "<nested>body"))
    return out


def _target_kind(name: str) -> str:
    """Targets are drawn kind first, so that each kind is drawn often."""
    special = ("<nested>content-digest", "<nested>ao-types", "<nested>body")
    return name if name in special or name.startswith("<rsa>") else "<nested>field"


@settings(SETTINGS, max_examples=100)
@given(data=st.data())
def test_a_changed_byte_of_a_nested_signed_part_is_refused(data: st.DataObject) -> None:
    """With the request itself unsigned, only the nested message's own
    signature can tell: one changed byte in a value of its fields or in its
    body, or in its RSA commitment's ``signature``/``signature-input``, and
    it does not verify. Or the request is refused with a 400 before: a
    ``SignatureError`` when the commitment no longer parses, a
    ``CodecError`` when ``ao-types`` or a value it types no longer does."""
    layout = data.draw(layouts(other_parts=False))
    sent = data.draw(requests(layout=layout, signed=False))
    targets = _nested_targets(layout)
    kind = data.draw(st.sampled_from(sorted({_target_kind(name) for _, _, name in targets})))
    lo, hi, name = data.draw(st.sampled_from([t for t in targets if _target_kind(t[2]) == kind]))
    at, value = _field_flip(data, layout.body[lo:hi])
    tampered = layout.body[:lo] + value + layout.body[hi:]
    # (The request's own content-digest would refuse it first, as an unsigned
    # request's digest is checked: without it, only the nested part can tell.)
    headers = {k: v for k, v in sent.headers().items() if k != "content-digest"}
    headers["content-length"] = str(len(tampered))
    try:
        msg = sent.send(headers=headers, body=tampered)
    except HyperbeamError as error:
        assert error.status == 400
        if name.startswith("<rsa>"):
            assert isinstance(error, SignatureError), error
        else:
            assert isinstance(error, CodecError), error
            assert name.removeprefix("<nested>") in layout.typed, (name, error)
        return
    nested = msg[layout.nested_key]
    original = layout.body[lo:hi]
    if _same_bytes_after_flip(original, value, at) or (
        name == "<rsa>signature-input" and _component_name_case_flip(original, value, at)
    ):
        assert commit.verify(nested)
        return
    assert not commit.verify(nested), (name, _short(original), at, value[at])


# --- what a signature does not cover is not committed ----------------------------------------


@SETTINGS
@given(data=st.data())
def test_an_unsigned_field_does_not_stand_for_a_derived_component(data: st.DataObject) -> None:
    """A request signed (RFC 9421) over ``@path`` signs the path of its
    request line; a ``path`` header someone adds in transit is covered by
    nothing, so it must not become the message's (committed) ``path``. The
    same for ``@query``/``query`` and ``@authority``/``authority``."""
    component = data.draw(st.sampled_from(["@path", "@query", "@authority"]))
    sent = data.draw(requests(derived=(), must=(component,)))
    name = component.removeprefix("@")
    fields = {k: v.encode("latin-1") for k, v in sent.headers().items()}
    signed_value = component_value(component, sent.method, sent.path, sent.query, fields)
    injected = data.draw(field_values.filter(lambda v: v.encode() != signed_value))
    try:
        msg = sent.send(headers={**sent.headers(), name: injected})
    except SignatureError:
        return  # refusing it is right too
    assert msg.get(name) != injected, commit.committed(msg)

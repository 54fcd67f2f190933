"""Fuzzing what the HTTP edge does with every request before resolving it:
``request_message`` (``http/render.py``: httpsig fields and multipart body,
verified and decoded by ``codecs/received.py`` and ``codecs/rfc9421.py``, or
an ANS-104 body), the codec choice (``reply_codec``), the HyperPATH parse of
the decoded request (``from_request(..., decoded=True)``), what the
resolver asks of it (its ID, its signers, its commitments verified), and
its encoding in each reply codec (``message@1.0`` answers with it).
Also the codec's generic decoder (``httpsig.from_httpsig``), multipart
bodies (``httpsig.decode_body``) and the wire records the store keeps
(``received.from_record``). (The ``structured@1.0`` types a request's
``ao-types`` names: ``test_fuzz_structured.py``.)

``tests/property/test_received_property.py`` checks that *signed* requests
verify in any layout and that a changed byte of what they sign is refused;
here any byte of any part of a request may change (a header's name or
value, the path, the body, a header added or dropped), starting from the
requests real clients sent (``tests/vectors/clients``) and from our own
encoder's output, and the only requirement is that the answer is a message
or a :class:`~hyperbeam.errors.HyperbeamError`, quickly.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

from hypothesis import example, given
from hypothesis import strategies as st

from hyperbeam.ao.singleton import from_request
from hyperbeam.codecs import httpsig, received
from hyperbeam.codecs.structured import from_message, to_message
from hyperbeam.crypto.wallet import Wallet
from hyperbeam.http.render import (
    ANS104,
    DEFAULT_CODEC,
    FLAT,
    JSON,
    encode,
    reply_codec,
    request_message,
)
from hyperbeam.message import commit
from tests.property.fuzz import MAX_INPUT, TIMEOUT, fuzz, hostile, latin1, mutated, parse_or_refuse
from tests.property.test_format_round_trips import messages

pytestmark = TIMEOUT

VECTORS = Path(__file__).resolve().parents[1] / "vectors" / "clients"
WALLET = Wallet.generate()

#: ``(method, target, [(name, value)], body)`` as a client sends it.
Request = tuple[str, str, list[tuple[str, bytes]], bytes]


#: A vector whose nested message its client garbled: refused (see its notes).
GARBLED = "hbsig-0.2.8-commit-post-binary"


def _vectors(*, garbled: bool = True) -> list[Request]:
    out: list[Request] = []
    for path in sorted(VECTORS.glob("*.json")):
        if path.stem == GARBLED and not garbled:
            continue
        vector = json.loads(path.read_text())
        headers = [(k, v.encode("latin-1")) for k, v in vector["headers"]]
        body = base64.b64decode(vector["body_b64"])
        out.append((vector["method"], vector["target"], headers, body))
    return out


def _ours(msg: dict[str, Any], target: str, *, sign: bool) -> Request:
    """A message as this node encodes it in ``httpsig@1.0`` (signed by WALLET)."""
    if sign:
        msg = commit.commit(msg, WALLET, DEFAULT_CODEC)
    headers, body = encode(msg, DEFAULT_CODEC)
    return ("POST", target, list(headers.items()), body)


_INNER = commit.commit({"kind": "inner", "n": 7, "deep": {"x": "y"}}, WALLET, DEFAULT_CODEC)
OURS = [
    _ours({"a": "1", "n": 42, "l": [1, "x", 3.5], "m": {"x": "y", "z": {"w": 2}}}, "/", sign=False),
    _ours({"body": "some data\r\nwith lines", "k": "v"}, "/~message@1.0/k", sign=False),
    _ours({"a": "1", "n": 42, "nested": {"x": "y"}}, "/~message@1.0/a", sign=True),
    _ours({"target": "x", "inner": _INNER, "data": "d" * 5000}, "/inner/kind", sign=True),
]  # fmt: skip
SEEDS = _vectors() + OURS
VALID = _vectors(garbled=False) + OURS

#: Headers worth adding to a request: each changes how the rest is read.
HOSTILE_HEADERS = [
    "ao-types", "ao-ids", "body-keys", "content-type", "content-digest", "inline-body-key",
    "signature", "signature-input", "codec-device", "accept-codec", "require-codec", "accept",
    "path", "commitments", "content-length", "hashpath", "@path", "1.path", "x+resolve",
]  # fmt: skip
TOKENS = [
    b"\r\n", b"\r\n\r\n", b"--", b'"', b";", b"=", b",", b":", b"(", b")", b"/", b"%",
    b"content-disposition: ", b'form-data;name="', b"inline", b"ao-types: ", b'="integer"',
    b'="map"', b'="list"', b'="empty-message"', b"multipart/form-data; boundary=",
    b"commitments/", b"sig-", b"ans104@1.0", b"httpsig@1.0", b"+resolve", b"@path",
]  # fmt: skip


@st.composite
def requests(draw: st.DrawFn) -> Request:
    """A seed request with one or more of its pieces mutated."""
    method, target, headers, body = draw(st.sampled_from(SEEDS))
    headers = list(headers)
    for _ in range(draw(st.integers(1, 3))):
        piece = draw(st.sampled_from(["value", "name", "body", "target", "add", "drop", "method"]))
        if piece in ("value", "name", "drop") and not headers:
            piece = "add"
        if piece == "value":
            at = draw(st.integers(0, len(headers) - 1))
            name, value = headers[at]
            headers[at] = (name, draw(mutated(st.just(value), TOKENS)))
        elif piece == "name":
            at = draw(st.integers(0, len(headers) - 1))
            name, value = headers[at]
            headers[at] = (latin1(draw(mutated(st.just(name.encode("latin-1")), TOKENS))), value)
        elif piece == "drop":
            del headers[draw(st.integers(0, len(headers) - 1))]
        elif piece == "add":
            # (as the edge reads any header: its bytes as Latin-1)
            any_name = st.text(st.characters(max_codepoint=0xFF), max_size=10)
            name = draw(st.sampled_from(HOSTILE_HEADERS) | any_name)
            seed = dict(headers).get(name, draw(st.sampled_from(TOKENS)))
            headers.append((name, draw(mutated(st.just(seed), TOKENS))))
        elif piece == "body":
            body = draw(mutated(st.just(body), TOKENS))
        elif piece == "target":
            target = latin1(draw(mutated(st.just(target.encode("latin-1")), TOKENS)))
        else:
            method = draw(st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH", "X"]))
    return method, target, headers, body[:MAX_INPUT]


def _edge_headers(headers: list[tuple[str, bytes]]) -> dict[str, str]:
    """As ``hyperbeam.http.app._headers`` passes them: names lower-cased,
    repeated fields joined with ``", "``."""
    out: dict[str, str] = {}
    for raw_name, raw_value in headers:
        name, value = raw_name.lower(), raw_value.decode("latin-1")
        out[name] = f"{out[name]}, {value}" if name in out else value
    return out


REPLY_CODECS = (DEFAULT_CODEC, ANS104, JSON, FLAT)


def _edge(request: Request) -> None:
    """Everything the edge and the resolver do with a request before any
    device sees it; each step returns or raises a HyperbeamError."""
    method, target, headers, body = request
    path, _, query = target.partition("?")
    fields = _edge_headers(headers)
    msg = parse_or_refuse(lambda: request_message(method, path, query, fields, body))
    if isinstance(msg, BaseException):
        return
    assert isinstance(msg, dict)
    assert msg["method"] == method
    parse_or_refuse(lambda: reply_codec({**fields, **msg}))
    parse_or_refuse(lambda: from_request(msg, decoded=True))
    parse_or_refuse(lambda: commit.signers(msg))
    parse_or_refuse(lambda: commit.id(msg))
    parse_or_refuse(lambda: commit.verify(msg))
    # `message@1.0` answers with the request itself: the reply in each codec.
    for codec in REPLY_CODECS:
        parse_or_refuse(lambda codec=codec: encode(msg, codec))


def test_the_seeds_are_accepted() -> None:
    """The unchanged seeds decode (so the mutations start from valid requests)."""
    for method, target, headers, body in VALID:
        path, _, query = target.partition("?")
        msg = request_message(method, path, query, _edge_headers(headers), body)
        from_request(msg, decoded=True)


@fuzz(3)
@given(request=requests())
def test_hostile_requests_decode_or_raise(request: Request) -> None:
    _edge(request)


# --- the pieces on their own -------------------------------------------------------------


@fuzz(1)
@given(request=requests())
# Regression (long run): a `keyid` that is not base64url raised binascii.Error
# out of message.ids.b64url_decode; now a CodecError.
@example(
    request=(
        "POST",
        "/",
        [
            ("signature", b"a=:AAAA:"),
            ("signature-input", b'a=("x");alg="rsa-pss-sha512";keyid="abcde|"'),
        ],
        b"",
    )
)
def test_from_httpsig_decodes_or_raises(request: Request) -> None:
    """The codec's decoder (``commit.convert(..., "httpsig@1.0")`` reads
    messages with it) on the same hostile fields, and then to a rich message."""
    _, _, headers, body = request
    fields: dict[str, Any] = {k.lower(): v for k, v in headers}
    if body:
        fields["body"] = body
    tabm = parse_or_refuse(lambda: httpsig.from_httpsig(fields))
    if isinstance(tabm, dict):
        parse_or_refuse(lambda: to_message(tabm))


_BOUNDARY = b"bnd"
_part_seeds = st.sampled_from(
    [
        b'content-disposition: form-data;name="a"\r\n\r\nvalue',
        b"content-disposition: inline\r\n\r\nthe body",
        b'content-disposition: form-data;name="m"\r\nx: 1\r\ny: 2',
        b'content-disposition: form-data;name="m/n"\r\nao-types: k="integer"\r\nk: 3\r\n\r\nb',
        b'content-disposition: form-data; name="q\\"uote";filename="f"\r\n\r\n',
    ]
)


@st.composite
def _multipart(draw: st.DrawFn) -> bytes:
    parts = draw(st.lists(mutated(_part_seeds, TOKENS, max_mutations=2), min_size=1, max_size=5))
    body = b"".join(b"--" + _BOUNDARY + b"\r\n" + part + b"\r\n" for part in parts)
    return draw(mutated(st.just(body + b"--" + _BOUNDARY + b"--"), TOKENS, max_mutations=2))


@fuzz(1)
@given(body=_multipart(), content_type=hostile(st.just(b'multipart/form-data; boundary="bnd"')))
def test_multipart_bodies_decode_or_raise(body: bytes, content_type: bytes) -> None:
    parse_or_refuse(lambda: httpsig.decode_body({}, "body", content_type, body))


def _records() -> list[bytes]:
    out: list[bytes] = []
    for method, target, headers, body in VALID:
        path, _, query = target.partition("?")
        msg = request_message(method, path, query, _edge_headers(headers), body)
        wire = getattr(getattr(msg, "binding", None), "wire", None)
        if isinstance(wire, received.Wire):
            out.append(wire.to_record())
    assert out
    return out


RECORDS = _records()


@fuzz(1)
@given(raw=hostile(st.sampled_from(RECORDS), TOKENS))
def test_wire_records_decode_or_raise(raw: bytes) -> None:
    """A stored wire record (the store may hand back a damaged one)."""
    found = parse_or_refuse(lambda: received.from_record(raw))
    if isinstance(found, tuple):
        _, wires = found
        for _, wire in wires:
            parse_or_refuse(wire.verify)


# --- round trip ------------------------------------------------------------------------


@fuzz(0.5)
@given(msg=messages(depth=2))
# Regression (long run): a key named as a field of the connection (`te`,
# `connection`, `content-length`, `transfer-encoding`...) was sent as that
# header (a reply framed by its `transfer-encoding: chunked` key) and lost on
# the way back; now it travels in the body.
@example(msg={"te": "0"})
@example(msg={"transfer-encoding": "chunked", "content-length": "99", "connection": "close"})
def test_encoded_messages_come_back_through_the_edge(msg: dict[str, Any]) -> None:
    """A message as the node encodes it (headers, or a multipart body),
    POSTed, decodes to the same message at the edge; no key of it is sent
    as a header that frames the message or names the connection."""
    headers, body = encode(msg, DEFAULT_CODEC)
    assert not set(headers) & httpsig.TRANSPORT_FIELDS
    fields = {k: v.decode("latin-1") for k, v in headers.items()}
    decoded = request_message("POST", "/x", "", fields, body)
    got = {k: v for k, v in decoded.items() if k not in ("method", "path", "content-type")}
    assert got == to_message(from_message(msg))

"""RFC 9421 Appendix B signatures verified on the request as received.

Vectors: tests/vectors/rfc9421/rfc9421-appendix-b.json (see PROVENANCE.md
there). Unlike ``test_rfc9421_examples.py``, which checks the upstream-style
signature base of ``httpsig``, these go through
``hyperbeam.codecs.rfc9421``, the verifier the node runs on every signed
request: derived components come from the request line and ``Host``
(``rfc9421.Request``), component parameters (``"@query-param";name="Pet"``)
are understood, the ``@signature-params`` line is the signature input as
received, and ``content-digest`` (here ``sha-512``) is checked against the
body. Every RSA example (B.2.1-B.2.3, key ``test-key-rsa-pss``) must build
the RFC's signature base byte for byte and verify; one changed byte of a
covered field, of the body or of the signature must not.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from hyperbeam.codecs import rfc9421

VECTORS = Path(__file__).resolve().parents[1] / "vectors" / "rfc9421" / "rfc9421-appendix-b.json"
DATA: dict[str, Any] = json.loads(VECTORS.read_text())
EXAMPLES: dict[str, dict[str, Any]] = {ex["section"]: ex for ex in DATA["examples"]}
RSA_SECTIONS = ["B.2.1", "B.2.2", "B.2.3"]


def _owner() -> bytes:
    key = load_pem_public_key(DATA["keys"]["test-key-rsa-pss"]["public_key_pem"].encode())
    assert isinstance(key, RSAPublicKey)
    return key.public_numbers().n.to_bytes(key.key_size // 8, "big")


OWNER = _owner()


def _received() -> tuple[rfc9421.Request, dict[str, bytes], bytes]:
    """The test request as a server receives it: request line, headers
    (lower-case names, raw values) and body."""
    head, _, body = DATA["test_request"]["message"].partition("\n\n")
    request_line, *header_lines = head.split("\n")
    fields: dict[str, bytes] = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        fields[name.lower()] = value.strip().encode()
    method, target, _ = request_line.split(" ")
    path, _, query = target.partition("?")
    request = rfc9421.Request(method, path, query, fields["host"].decode())
    return request, fields, body.encode()


REQUEST, FIELDS, BODY = _received()


def _signature(ex: dict[str, Any]) -> rfc9421.Signature:
    [sig] = rfc9421.parse(ex["signature"].encode(), ex["signature_input"].encode())
    assert sig.label == ex["label"]
    return sig


def _fields(sig: rfc9421.Signature) -> dict[str, bytes]:
    return {**FIELDS, **REQUEST.derived([sig])}


@pytest.mark.parametrize("section", RSA_SECTIONS)
def test_signature_base_is_the_rfcs(section: str) -> None:
    ex = EXAMPLES[section]
    sig = _signature(ex)
    first = next(rfc9421.bases(sig, _fields(sig)))
    assert first == ex["signature_base"].encode()


@pytest.mark.parametrize("section", RSA_SECTIONS)
def test_rfc_signatures_verify_as_received(section: str) -> None:
    sig = _signature(EXAMPLES[section])
    assert rfc9421.verify(sig, _fields(sig), BODY, owner=OWNER) is None


@pytest.mark.parametrize("section", RSA_SECTIONS)
def test_a_changed_signature_does_not_verify(section: str) -> None:
    sig = _signature(EXAMPLES[section])
    flipped = bytes([sig.value[0] ^ 1]) + sig.value[1:]
    bad = rfc9421.Signature(sig.label, sig.components, sig.params, flipped)
    assert rfc9421.verify(bad, _fields(sig), BODY, owner=OWNER) is not None


@pytest.mark.parametrize("section", ["B.2.2", "B.2.3"])
def test_a_changed_body_does_not_verify(section: str) -> None:
    sig = _signature(EXAMPLES[section])
    reason = rfc9421.verify(sig, _fields(sig), BODY.replace(b"world", b"World"), owner=OWNER)
    assert reason == "content-digest sha-512 does not match the body"


@pytest.mark.parametrize(
    ("section", "field", "value"),
    [
        ("B.2.3", "date", b"Tue, 20 Apr 2021 02:07:56 GMT"),
        ("B.2.3", "content-length", b"19"),
        ("B.2.3", "@method", b"PUT"),
        ("B.2.2", "@authority", b"example.org"),
    ],
)
def test_a_changed_component_does_not_verify(section: str, field: str, value: bytes) -> None:
    sig = _signature(EXAMPLES[section])
    fields = _fields(sig)
    fields[field] = value
    assert rfc9421.verify(sig, fields, BODY, owner=OWNER) is not None


def test_a_changed_query_parameter_does_not_verify() -> None:
    sig = _signature(EXAMPLES["B.2.2"])
    other = rfc9421.Request(REQUEST.method, REQUEST.path, "param=Value&Pet=cat", "example.com")
    fields = {**FIELDS, **other.derived([sig])}
    assert rfc9421.verify(sig, fields, BODY, owner=OWNER) is not None


def test_unsupported_algorithms_are_refused_with_a_reason() -> None:
    [sig] = rfc9421.parse(b"sig1=:AA==:", b'sig1=("k");alg="none";keyid="x"')
    reason = rfc9421.verify(sig, {"k": b"v"}, None)
    assert reason == "unsupported signature algorithm 'none' (only rsa-pss-sha512 is checked)"


def test_a_keyid_that_is_not_a_key_is_refused_with_a_reason() -> None:
    [sig] = rfc9421.parse(b"sig1=:AA==:", b'sig1=("k");alg="rsa-pss-sha512";keyid="x!"')
    assert rfc9421.verify(sig, {"k": b"v"}, None) == "signature 'sig1': keyid is not base64url"


def test_derived_components_of_a_request() -> None:
    [sig] = rfc9421.parse(
        b"x=:AA==:",
        b'x=("@method" "@path" "@query" "@authority" "@scheme" "@target-uri" '
        b'"@request-target" "@query-param";name="Pet");keyid="k"',
    )
    derived = REQUEST.derived([sig])
    assert derived == {
        "@method": b"POST",
        "@path": b"/foo",
        "@query": b"?param=Value&Pet=dog",
        "@authority": b"example.com",
        "@scheme": b"http",
        "@target-uri": b"http://example.com/foo?param=Value&Pet=dog",
        "@request-target": b"/foo?param=Value&Pet=dog",
        '@query-param;name="Pet"': b"dog",
    }

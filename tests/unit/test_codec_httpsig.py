"""The httpsig@1.0 codec and signature base (hyperbeam.codecs.httpsig) against
upstream's dev_codec_httpsig_conv / dev_codec_httpsig / hb_message tests."""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Any

import pytest

from hyperbeam.codecs import httpsig
from hyperbeam.codecs.httpsig import (
    add_content_digest,
    from_httpsig,
    group_maps,
    normalize_component_identifiers,
    signature_base,
    signature_params_line,
    to_httpsig,
    trim_and_normalize,
    unflatten,
)
from hyperbeam.codecs.structured import from_message, to_message
from hyperbeam.errors import CodecError
from hyperbeam.message.id import unsigned_id
from hyperbeam.message.ids import b64url_encode, human_id, sha256
from tests.message_shapes import match as match_shapes
from tests.message_shapes import message_shapes

CRLF = b"\r\n"


def encode(msg: dict[str, Any]) -> dict[str, bytes]:
    return to_httpsig(from_message(msg))


def decode(http: dict[str, bytes]) -> dict[str, Any]:
    return to_message(from_httpsig(http))


_IGNORED = ("content-type", "body-keys", "inline-body-key", "commitments")


def match(a: Any, b: Any) -> bool:
    """hb_message:match/2, the keys the codec adds (content-type, body-keys,
    inline-body-key) and commitments ignored."""
    return match_shapes(a, b, _IGNORED)


# --- dev_codec_httpsig_conv unit tests ---------------------------------------------


GROUP_MAPS_INPUT: dict[str, Any] = {
    "a": "1",
    "b": {"x": "10", "y": {"z": "20"}, "foo": {"bar": {"fizz": "buzz"}}},
    "c": {"d": "30"},
    "e": "2",
    "buf": "hello",
    "nested": {
        "foo": "iiiiii",
        "here": {"bar": "baz", "fizz": "buzz", "pop": {"very-fizzy": "very-buzzy"}},
    },
}


def test_group_maps() -> None:
    """Upstream dev_codec_httpsig_conv group_maps_test."""
    assert group_maps(GROUP_MAPS_INPUT) == {
        "a": "1",
        "b": {"x": "10"},
        "b/foo/bar": {"fizz": "buzz"},
        "b/y": {"z": "20"},
        "buf": "hello",
        "c": {"d": "30"},
        "e": "2",
        "nested": {"foo": "iiiiii"},
        "nested/here": {"bar": "baz", "fizz": "buzz"},
        "nested/here/pop": {"very-fizzy": "very-buzzy"},
    }


def test_group_maps_flat_compatible() -> None:
    """Upstream dev_codec_httpsig_conv group_maps_flat_compatible_test: the
    flat decoder (dev_codec_flat:from/1) undoes group_maps."""
    assert unflatten(group_maps(GROUP_MAPS_INPUT)) == GROUP_MAPS_INPUT


def test_flat_headers_only() -> None:
    """Small binaries stay headers; no body, no content-digest."""
    assert encode({"a": "1", "B": 2}) == {"ao-types": b'b="integer"', "a": b"1", "b": b"2"}


def test_inline_body_and_data() -> None:
    """inline_key/1: `body` is inlined; failing that, `data` is, and the
    choice is remembered in `inline-body-key`."""
    digest = b"sha-256=:" + base64.b64encode(sha256(b"hello")) + b":"
    assert encode({"body": "hello", "k": "v"}) == {
        "k": b"v",
        "body": b"hello",
        "content-digest": digest,
    }
    assert encode({"data": "hello"}) == {
        "inline-body-key": b"data",
        "body": b"hello",
        "content-digest": digest,
    }


def test_multipart_exact_bytes() -> None:
    """A nested message becomes a form-data part whose headers are sorted; the
    boundary is base64url(sha256(parts joined by CRLF))."""
    part = b'b: c\r\ncontent-disposition: form-data;name="a"'
    boundary = b64url_encode(hashlib.sha256(part).digest()).encode()
    body = b"--" + boundary + CRLF + part + CRLF + b"--" + boundary + b"--"
    assert encode({"a": {"b": "c"}, "k": "v"}) == {
        "k": b"v",
        "body-keys": b'"a"',
        "content-type": b'multipart/form-data; boundary="' + boundary + b'"',
        "body": body,
        "content-digest": b"sha-256=:" + base64.b64encode(sha256(body)) + b":",
    }


def test_multipart_inline_and_body_only_parts() -> None:
    """The inline key's part is `inline`; a part holding only a body is named
    `<key>/body`; large binaries get a part of their own."""
    big = "x" * 5000
    http = encode({"body": {"inner": "1"}, "s": {"body": "only"}, "big": big})
    assert http["body-keys"] == b'"big", "body", "s"'
    body = http["body"]
    assert b'content-disposition: form-data;name="big"\r\n\r\n' + big.encode() in body
    assert b"content-disposition: inline\r\ninner: 1" in body
    assert b'content-disposition: form-data;name="s/body"\r\n\r\nonly' in body
    assert "big" not in http


def test_ao_ids_group_id_keys() -> None:
    """group_ids/1: ID-shaped keys with binary values travel in `ao-ids`."""
    key = "AbCdEfGhIjKlMnOpQrStUvWxYz0123456789_-ABCDE"
    http = encode({key: "value", "k": "v"})
    assert http == {"ao-ids": key.encode() + b'="value"', "k": b"v"}
    assert decode(http) == {key: "value", "k": "v"}


def test_add_content_digest() -> None:
    """Upstream dev_codec_httpsig:add_content_digest/1."""
    assert add_content_digest({"a": b"1"}) == {"a": b"1"}
    assert add_content_digest({"body": b"abc"}) == {
        "content-digest": b"sha-256=:ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0=:"
    }


# --- dev_codec_httpsig unit tests ---------------------------------------------------


def test_trim_ws() -> None:
    """Upstream dev_codec_httpsig trim_ws_test (plus newline folding)."""
    assert trim_and_normalize(b"      hello world      ") == b"hello world"
    assert trim_and_normalize(b"") == b""
    assert trim_and_normalize(b"         ") == b""
    assert trim_and_normalize(b"a\nb") == b"a b"


def test_signature_params_line() -> None:
    """Upstream dev_codec_httpsig signature_params_line_test."""
    params: list[tuple[str, int | str | bytes]] = [
        ("created", 1733165109501),
        ("nonce", "foobar"),
        ("keyid", "key1"),
    ]
    identifiers = ["Content-Length", "@method", "@Path", "content-type", "example-dict"]
    assert signature_params_line(identifiers, params) == (
        b'("content-length" "@method" "@path" "content-type" "example-dict")'
        b';created=1733165109501;keyid="key1";nonce="foobar"'
    )


def test_join_signature_base() -> None:
    """Upstream dev_codec_httpsig join_signature_base_test, via signature_base:
    component lines, a newline, then the @signature-params line."""
    base = signature_base(["@method", "foo"], {"method": b"GET", "foo": b"1"}, [("keyid", "k")])
    assert base == b'"method": GET\n"foo": 1\n"@signature-params": ("@method" "foo");keyid="k"'


def test_normalize_component_identifiers() -> None:
    """Derived components get `@`, then everything is sorted byte-wise."""
    keys = ["path", "zeta", "@method", "ao-types", "Status"]
    assert normalize_component_identifiers(keys) == [
        "@method",
        "@path",
        "Status",
        "ao-types",
        "zeta",
    ]


def test_hmac_signature_base_of_flat_message() -> None:
    """The exact signature base and hmac that identify {a: "1", b: 2}."""
    expected_base = (
        b'"a": 1\n"ao-types": b="integer"\n"b": 2\n'
        b'"@signature-params": ("a" "ao-types" "b");alg="hmac-sha256";keyid="ao"'
    )
    digest = hmac.new(b"ao", expected_base, hashlib.sha256).digest()
    assert httpsig.hmac_digest(from_message({"a": "1", "b": 2})) == digest
    assert unsigned_id({"a": "1", "b": 2}) == human_id(digest)


def test_hmac_of_empty_message() -> None:
    """With no components the base still starts with a newline (upstream
    join_signature_base/2 always inserts it)."""
    base = b'\n"@signature-params": ();alg="hmac-sha256";keyid="ao"'
    assert unsigned_id({}) == human_id(hmac.new(b"ao", base, hashlib.sha256).digest())


def test_hmac_derived_components() -> None:
    """`path` and friends are listed as `@path` but read from the `path` field."""
    expected_base = (
        b'"method": GET\n"path": /x\n"other": v\n'
        b'"@signature-params": ("@method" "@path" "other");alg="hmac-sha256";keyid="ao"'
    )
    digest = hmac.new(b"ao", expected_base, hashlib.sha256).digest()
    assert unsigned_id({"path": "/x", "method": "GET", "other": "v"}) == human_id(digest)


def test_hmac_non_ascii_keys_follow_upstream_lowercasing() -> None:
    """Upstream lowercases the @signature-params identifiers byte by byte as
    Latin-1 (lower_bin/1), which rewrites UTF-8 lead bytes: "é" (C3 A9)
    becomes E3 A9 there, while the component line keeps the key intact."""
    expected_base = (
        b'"cl\xc3\xa9": v\n"@signature-params": ("cl\xe3\xa9");alg="hmac-sha256";keyid="ao"'
    )
    digest = hmac.new(b"ao", expected_base, hashlib.sha256).digest()
    assert unsigned_id({"clé": "v"}) == human_id(digest)


def test_missing_component_raises() -> None:
    """A key starting with `@` names a field that is not there: upstream
    crashes, we raise CodecError."""
    with pytest.raises(CodecError):
        unsigned_id({"@weird": "v"})


# --- hb_message message_suite_test_ round trips, httpsig@1.0 codec -------------------

SUITE: dict[str, dict[str, Any]] = {
    **message_shapes(),
    "tabm_ao_ids_equal_test": {
        "data": "TEST_DATA",
        "deep_data": {"data": "DEEP_DATA", "complex_key": 1337, "list": [1, 2, 3]},
    },
    "unsigned_id_test": {"data": "TEST_DATA"},
    "large_values_and_odd_bytes": {
        "bin": b"\x00\x01\xfe\xff",
        "big": bytes(range(256)) * 20,
        "floats": [1.5, -0.25],
        "n": {"big": "y" * 5000, "e": [], "f": 2.5},
    },
}


@pytest.mark.parametrize("name", sorted(SUITE))
def test_message_suite_round_trip(name: str) -> None:
    """Upstream hb_message message_suite_test_ (httpsig@1.0): encode, decode,
    match -- and the unsigned ID is the same before and after."""
    msg = SUITE[name]
    decoded = decode(encode(msg))
    assert match(msg, decoded), decoded
    assert unsigned_id(decoded) == unsigned_id(msg)


def test_from_httpsig_keeps_body_keys_and_content_type() -> None:
    """As upstream, decoding leaves `body-keys` and `content-type` in the
    TABM and drops `content-digest`."""
    tabm = from_httpsig(encode({"a": {"b": "c"}}))
    assert tabm["body-keys"] == b'"a"'
    assert tabm["content-type"].startswith(b"multipart/form-data")
    assert "content-digest" not in tabm
    assert tabm["a"] == {"b": b"c"}


def test_from_httpsig_plain_body() -> None:
    assert from_httpsig({"k": "v", "body": b"raw", "content-type": "text/plain"}) == {
        "k": b"v",
        "content-type": b"text/plain",
        "body": b"raw",
    }
    assert from_httpsig({"inline-body-key": "data", "body": b"raw"}) == {
        "inline-body-key": b"data",
        "data": b"raw",
    }


def test_from_httpsig_bad_multipart() -> None:
    with pytest.raises(CodecError):
        from_httpsig({"content-type": 'multipart/form-data; boundary="B"', "body": b"junk"})
    body = b"--B\r\nno-disposition: x\r\n--B--"
    with pytest.raises(CodecError):
        from_httpsig({"content-type": 'multipart/form-data; boundary="B"', "body": body})


def test_signed_http_message_gets_commitments() -> None:
    """commitments_from_signature/4 and reset_hmac/1: a signature header
    becomes a commitment keyed by sha256(signature), committed by
    sha256(keyid), and an hmac commitment over the signed components is added."""
    pub = bytes(range(256)) * 2
    keyid = b64url_encode(pub)
    sig = bytes(range(100, 200)) * 5
    sig_b64 = base64.b64encode(sig).decode()
    http = {
        "a": b"1",
        "ao-types": b'b="integer"',
        "b": b"2",
        "signature": f"sig-1=:{sig_b64}:".encode(),
        "signature-input": (
            f'sig-1=("a" "ao-types" "b");alg="rsa-pss-sha512";keyid="{keyid}"'
        ).encode(),
    }
    tabm = from_httpsig(http)
    commitments = tabm["commitments"]
    rsa_id = human_id(sha256(sig))
    assert commitments[rsa_id]["committer"] == human_id(sha256(pub)).encode()
    assert commitments[rsa_id]["alg"] == b"rsa-pss-sha512"
    (hmac_id,) = [k for k in commitments if k != rsa_id]
    hmac_commitment = commitments[hmac_id]
    assert hmac_commitment["alg"] == b"hmac-sha256"
    assert hmac_commitment["signature-input"] == http["signature-input"]
    base = (
        b'"a": 1\n"ao-types": b="integer"\n"b": 2\n'
        b'"@signature-params": ("a" "ao-types" "b");alg="hmac-sha256";keyid="ao"'
    )
    assert hmac_id == human_id(hmac.new(b"ao", base, hashlib.sha256).digest())
    # Re-encoding puts the signature headers back.
    again = to_httpsig(tabm)
    assert again["signature"] == http["signature"]
    assert again["signature-input"] == http["signature-input"]


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("k", "line one\nline two"),
        ("k", "a\r\ninjected: yes"),
        ("k", " padded "),
        ("k", "nul\x00byte"),
        ("my key", "v"),
        ("k", "tab\tinside"),
    ],
)
def test_wire_safe_moves_unsendable_fields_to_the_body(key: str, value: str) -> None:
    msg = {key: value, "z": 1}
    encoded = to_httpsig(from_message(msg), wire_safe=True)
    for name, raw in encoded.items():
        if name == "body":
            continue
        assert b"\r" not in raw and b"\n" not in raw and b"\x00" not in raw
        assert " " not in name
    decoded = to_message(from_httpsig(encoded))
    assert {k: v for k, v in decoded.items() if k not in ("body-keys", "content-type")} == msg


def test_wire_safe_leaves_sendable_messages_alone() -> None:
    tabm = from_message({"a": "1", "n": {"x": "y"}, "i": 5})
    assert to_httpsig(tabm, wire_safe=True) == to_httpsig(tabm)

"""RFC 9421 signatures in httpsig@1.0 (hyperbeam.codecs.httpsig commit,
verify_commitment, verify_signature, committed_keys) against upstream's
dev_codec_httpsig: the bytes it signs, the commitment it writes, the tests
of its module, and tampering."""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Any

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

from hyperbeam.codecs import sf
from hyperbeam.codecs.httpsig import (
    HTTP_HMAC_ALG,
    HTTP_RSA_ALG,
    address_to_sig_name,
    commit,
    committed_keys,
    from_httpsig,
    public_keys,
    reset_hmac,
    to_httpsig,
    verify_commitment,
    verify_signature,
)
from hyperbeam.codecs.structured import from_message, to_message
from hyperbeam.crypto.wallet import Wallet
from hyperbeam.errors import CodecError
from hyperbeam.message.commit import commit as hb_commit
from hyperbeam.message.commit import id as hb_id
from hyperbeam.message.commit import signers, verify, with_only_committed
from hyperbeam.message.ids import b64url_encode, human_id, native_id, sha256


@pytest.fixture(scope="module")
def wallet() -> Wallet:
    return Wallet.generate()


@pytest.fixture(scope="module")
def other_wallet() -> Wallet:
    return Wallet.generate()


def rsa_ids(tabm: dict[str, Any]) -> list[str]:
    return [cid for cid, c in tabm["commitments"].items() if c["alg"] == HTTP_RSA_ALG]


def hmac_ids(tabm: dict[str, Any]) -> list[str]:
    return [cid for cid, c in tabm["commitments"].items() if c["alg"] == HTTP_HMAC_ALG]


def all_hold(tabm: dict[str, Any]) -> bool:
    return all(verify_commitment(tabm, cid) for cid in tabm["commitments"])


# --- the commitment, byte for byte ---------------------------------------------------


def test_address_to_sig_name() -> None:
    """address_to_sig_name/1: `http-sig-` and the hex of bytes 1..8 of the
    native address; other references as they are."""
    native = bytes(range(32))
    assert address_to_sig_name(native) == "http-sig-0102030405060708"
    assert address_to_sig_name(human_id(native)) == "http-sig-0102030405060708"
    assert address_to_sig_name("my-key") == "my-key"


def test_commitment_shape(wallet: Wallet) -> None:
    """commit/3: the commitment map, its ID (sha256 of the raw signature),
    its signature name, and the hmac commitment reset_hmac/1 adds."""
    signed = commit(from_message({"a": 1, "b": "x"}), wallet)
    (rsa_id,) = rsa_ids(signed)
    (hmac_id,) = hmac_ids(signed)
    rsa = signed["commitments"][rsa_id]
    assert sorted(rsa) == ["alg", "commitment-device", "committer", "signature", "signature-input"]
    assert rsa["commitment-device"] == b"httpsig@1.0"
    assert rsa["committer"] == wallet.address.encode()
    name = "http-sig-" + native_id(wallet.address)[1:9].hex()
    ((sig_name, sig_item),) = sf.parse_dictionary(rsa["signature"])
    assert sig_name == name
    assert isinstance(sig_item, sf.Item) and isinstance(sig_item.bare.value, bytes)
    raw_signature = sig_item.bare.value
    assert len(raw_signature) == 512
    assert rsa_id == human_id(sha256(raw_signature))
    keyid = b64url_encode(wallet.owner)
    assert rsa["signature-input"] == (
        f'{name}=("a" "ao-types" "b");alg="rsa-pss-sha512";keyid="{keyid}"'.encode()
    )
    hmac_commitment = signed["commitments"][hmac_id]
    assert hmac_commitment == {
        "signature": rsa["signature"],
        "signature-input": rsa["signature-input"],
        "commitment-device": b"httpsig@1.0",
        "alg": HTTP_HMAC_ALG,
    }
    base = (
        b'"a": 1\n"ao-types": a="integer"\n"b": x\n'
        b'"@signature-params": ("a" "ao-types" "b");alg="hmac-sha256";keyid="ao"'
    )
    assert hmac_id == human_id(hmac.new(b"ao", base, hashlib.sha256).digest())


def test_signature_base_and_salt(wallet: Wallet) -> None:
    """sign_auth/3: RSA-PSS/SHA-512, salt as long as the digest, over the
    RFC 9421 base of the encoded message. Keys are sorted before derived
    components get their `@`, and a derived component's line omits it."""
    signed = commit(from_message({"z": "last", "path": "/x", "a": "first"}), wallet)
    (rsa_id,) = rsa_ids(signed)
    rsa = signed["commitments"][rsa_id]
    keyid = b64url_encode(wallet.owner)
    params = f'("a" "@path" "z");alg="rsa-pss-sha512";keyid="{keyid}"'.encode()
    base = b'"a": first\n"path": /x\n"z": last\n"@signature-params": ' + params
    (_, item), *_ = sf.parse_dictionary(rsa["signature"])
    assert isinstance(item, sf.Item) and isinstance(item.bare.value, bytes)
    pss = padding.PSS(mgf=padding.MGF1(hashes.SHA512()), salt_length=64)
    wallet.key.public_key().verify(item.bare.value, base, pss, hashes.SHA512())
    with pytest.raises(InvalidSignature):
        wallet.key.public_key().verify(item.bare.value, base + b" ", pss, hashes.SHA512())


def test_body_is_signed_through_content_digest(wallet: Wallet) -> None:
    signed = commit(from_message({"body": "payload", "k": "v"}), wallet)
    (rsa_id,) = rsa_ids(signed)
    sig_input = signed["commitments"][rsa_id]["signature-input"]
    assert b'("content-digest" "k")' in sig_input
    assert all_hold(signed)
    assert not all_hold({**signed, "body": b"other"})


def test_hashpath_becomes_the_tag(wallet: Wallet) -> None:
    """commit/3: a hashpath in the private map is the signature's `tag`
    parameter; the message itself is signed without it."""
    hashpath = human_id(sha256(b"1")) + "/" + human_id(sha256(b"2"))
    tabm = {**from_message({"k": "v"}), "priv": {"hashpath": hashpath}}
    signed = commit(tabm, wallet)
    assert signed["priv"] == {"hashpath": hashpath}
    (rsa_id,) = rsa_ids(signed)
    assert signed["commitments"][rsa_id]["signature-input"].endswith(f';tag="{hashpath}"'.encode())
    assert all_hold(signed)
    assert public_keys(signed["commitments"][rsa_id]) == [wallet.owner]


def test_signing_twice_adds_a_second_signature(wallet: Wallet, other_wallet: Wallet) -> None:
    """The hmac commitment of a multi-signed message carries every signature,
    sorted by name, and its ID covers them."""
    once = commit(from_message({"k": "v"}), wallet)
    twice = commit(once, other_wallet)
    assert len(rsa_ids(twice)) == 2
    (hmac_id,) = hmac_ids(twice)
    combined = twice["commitments"][hmac_id]["signature"]
    names = [name for name, _ in sf.parse_dictionary(combined)]
    assert names == sorted(address_to_sig_name(w.address) for w in (wallet, other_wallet))
    assert all_hold(twice)


# --- dev_codec_httpsig eunit tests -----------------------------------------------------


def test_committed_id(wallet: Wallet) -> None:
    """dev_codec_httpsig.erl: committed_id_test."""
    signed = hb_commit({"basic": "value"}, wallet)
    assert hb_id(signed, "none") != hb_id(signed, "all")


def test_multicommitted_id(wallet: Wallet, other_wallet: Wallet) -> None:
    """dev_codec_httpsig.erl: multicommitted_id_test."""
    signed1 = hb_commit({"basic": "value"}, wallet)
    signed2 = hb_commit(signed1, other_wallet)
    addr1, addr2 = wallet.address, other_wallet.address
    assert hb_id(signed2, "none") != hb_id(signed2, "all")
    assert verify(signed2, [])
    assert verify(signed2, [addr1])
    assert verify(signed2, [addr2])
    assert verify(signed2, [addr1, addr2])
    assert verify(signed2, [addr2, addr1])
    assert verify(signed2, "all")


def test_validate_large_message_from_http(wallet: Wallet) -> None:
    """dev_codec_httpsig.erl: validate_large_message_from_http_test, without
    the node: a large nested message signed by a node, sent as HTTP and
    decoded, has one signer, verifies, and still does when stripped to its
    committed keys."""
    extra = [[[{"n": n, "m": m, "o": o} for o in (1, 2, 3)] for m in (1, 2, 3)] for n in (1, 2, 3)]
    info = hb_commit({"extra": extra, "force_signed": True, "port": 8734}, wallet)
    received = to_message(from_httpsig(to_httpsig(from_message(info))))
    found = signers(received)
    assert found == [wallet.address]
    assert verify(received, found)
    assert verify(received)
    only = with_only_committed(received)
    assert verify(only, found)
    assert verify(only)


# --- verifying signatures received over HTTP ---------------------------------------------


def test_signed_http_round_trip(wallet: Wallet) -> None:
    """The signature headers of an encoded message become the same
    commitments when decoded, and they verify."""
    signed = commit(from_message({"a": 1, "n": {"x": "y"}, "body": "b"}), wallet)
    http = to_httpsig(signed)
    assert http["signature"] == signed["commitments"][rsa_ids(signed)[0]]["signature"]
    decoded = from_httpsig(http)
    assert decoded["commitments"] == signed["commitments"]
    assert all_hold(decoded)


def test_verify_signature_over_plain_headers(wallet: Wallet) -> None:
    """verify_auth/3 over an HTTP message signed by hand (RFC 9421 style)."""
    keyid = b64url_encode(wallet.owner)
    name = "sig1"
    params = f'("x-one" "x-two");alg="rsa-pss-sha512";keyid="{keyid}"'.encode()
    base = b'"x-one": 1\n"x-two": two\n"@signature-params": ' + params
    signature = wallet.sign(base, "sha512")
    fields = {
        "x-one": b"1",
        "x-two": b"two",
        "signature": name.encode() + b"=:" + base64.b64encode(signature) + b":",
        "signature-input": name.encode() + b"=" + params,
    }
    assert verify_signature(fields, name, wallet.owner)
    assert not verify_signature({**fields, "x-two": b"2"}, name, wallet.owner)
    assert not verify_signature(fields, "other", wallet.owner)
    assert not verify_signature({**fields, "x-two": b"two"}, name, bytes(512))


# --- tampering ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def signed_http(wallet: Wallet) -> dict[str, bytes]:
    tabm = commit(from_message({"a": "1", "b": 2, "body": "payload", "n": {"x": "y"}}), wallet)
    return to_httpsig(tabm)


def test_untampered_verifies(signed_http: dict[str, bytes]) -> None:
    assert all_hold(from_httpsig(signed_http))


@pytest.mark.parametrize(
    "change",
    [
        {"a": b"2"},
        {"b": b"3"},
        {"ao-types": b'b="float"'},
        {"content-type": b"text/plain"},
    ],
    ids=["header", "typed header", "types", "content-type"],
)
def test_changed_headers_do_not_verify(
    signed_http: dict[str, bytes], change: dict[str, bytes]
) -> None:
    tabm = from_httpsig({**signed_http, **change})
    assert not all_hold(tabm)


def test_unsigned_header_is_not_committed(signed_http: dict[str, bytes]) -> None:
    """An added header is outside every commitment: the signature and the
    hmac (over the same components) still hold, and the key is not among the
    committed ones."""
    tabm = from_httpsig({**signed_http, "extra": b"unsigned"})
    assert all_hold(tabm)
    for cid in tabm["commitments"]:
        assert "extra" not in committed_keys(tabm, cid)


def test_changed_body_does_not_verify(signed_http: dict[str, bytes]) -> None:
    body = signed_http["body"].replace(b"payload", b"PAYLOAD")
    assert not all_hold(from_httpsig({**signed_http, "body": body}))


def test_wrong_key_does_not_verify(signed_http: dict[str, bytes], other_wallet: Wallet) -> None:
    """The signature-input names another key: the signature does not match
    it, and the committer (derived from the keyid) differs."""
    sig_input = signed_http["signature-input"]
    keyid = sig_input.split(b'keyid="')[1].split(b'"')[0]
    forged = sig_input.replace(keyid, b64url_encode(other_wallet.owner).encode())
    tabm = from_httpsig({**signed_http, "signature-input": forged})
    (rsa_id,) = rsa_ids(tabm)
    assert tabm["commitments"][rsa_id]["committer"] == other_wallet.address.encode()
    assert not verify_commitment(tabm, rsa_id)


def test_replayed_signature_on_another_message(wallet: Wallet) -> None:
    """Commitments copied from one message onto another do not verify."""
    first = commit(from_message({"k": "v", "amount": 1}), wallet)
    second = {**from_message({"k": "v", "amount": 1000}), "commitments": first["commitments"]}
    assert all_hold(first)
    for cid in second["commitments"]:
        assert not verify_commitment(second, cid)


def test_forged_committer_does_not_verify(wallet: Wallet, other_wallet: Wallet) -> None:
    signed = commit(from_message({"k": "v"}), wallet)
    (rsa_id,) = rsa_ids(signed)
    forged_commitment = {**signed["commitments"][rsa_id], "committer": other_wallet.address}
    forged = {**signed, "commitments": {**signed["commitments"], rsa_id: forged_commitment}}
    assert not verify_commitment(forged, rsa_id)


MALFORMED_INPUTS = [
    b"garbage ((",
    b'other-name=("k");alg="rsa-pss-sha512";keyid="AAAA"',
    b"{name}=:AAAA:",
    b'{name}=("k");keyid="{keyid}"',
    b'{name}=("k");alg="rsa-pss-sha256";keyid="{keyid}"',
    b'{name}=("k");alg="hmac-sha256";keyid="{keyid}"',
    b'{name}=("k");alg="rsa-pss-sha512";keyid="{keyid}";created=1.5',
    b'{name}=("k";key="x");alg="rsa-pss-sha512";keyid="{keyid}"',
    b'{name}=("missing");alg="rsa-pss-sha512";keyid="{keyid}"',
    b'{name}=("k");alg="rsa-pss-sha512";keyid="not base64 !"',
    b'{name}=("k");alg="rsa-pss-sha512";keyid=42',
]


@pytest.mark.parametrize("template", MALFORMED_INPUTS)
def test_malformed_signature_input_never_crashes(wallet: Wallet, template: bytes) -> None:
    """A commitment whose signature-input is malformed, names another
    signature, lacks or changes the algorithm, uses unsupported parameters or
    names a missing component does not verify -- and nothing raises."""
    signed = commit(from_message({"k": "v"}), wallet)
    (rsa_id,) = rsa_ids(signed)
    name = address_to_sig_name(wallet.address).encode()
    keyid = b64url_encode(wallet.owner).encode()
    raw = template.replace(b"{name}", name).replace(b"{keyid}", keyid)
    commitment = {**signed["commitments"][rsa_id], "signature-input": raw}
    tabm = {**signed, "commitments": {**signed["commitments"], rsa_id: commitment}}
    assert verify_commitment(tabm, rsa_id) is False


@pytest.mark.parametrize(
    "signature",
    [b"garbage ((", b"{name}=:!!!!:", b'{name}="text"', b"{name}=:AAAA:", b"other=:AAAA:"],
)
def test_malformed_signature_never_crashes(wallet: Wallet, signature: bytes) -> None:
    signed = commit(from_message({"k": "v"}), wallet)
    (rsa_id,) = rsa_ids(signed)
    raw = signature.replace(b"{name}", address_to_sig_name(wallet.address).encode())
    commitment = {**signed["commitments"][rsa_id], "signature": raw}
    tabm = {**signed, "commitments": {**signed["commitments"], rsa_id: commitment}}
    assert verify_commitment(tabm, rsa_id) is False


def test_malformed_signature_headers_over_http(signed_http: dict[str, bytes]) -> None:
    """Headers that cannot even become commitments are a CodecError."""
    with pytest.raises(CodecError):
        from_httpsig({**signed_http, "signature-input": b"garbage (("})
    with pytest.raises(CodecError):
        from_httpsig({**signed_http, "signature": b"other-name=:AAAA:"})
    with pytest.raises(CodecError):
        from_httpsig({**signed_http, "signature": b'x="not bytes"', "signature-input": b"x=()"})


def test_unknown_commitment_is_an_error(wallet: Wallet) -> None:
    signed = commit(from_message({"k": "v"}), wallet)
    with pytest.raises(CodecError):
        verify_commitment(signed, "X" * 43)
    with pytest.raises(CodecError):
        committed_keys(signed, "X" * 43)


def test_hmac_commitment_checks_content(wallet: Wallet) -> None:
    """verify/3 for hmac-sha256: the ID must be the recomputed hmac."""
    signed = commit(from_message({"k": "v"}), wallet)
    (hmac_id,) = hmac_ids(signed)
    assert verify_commitment(signed, hmac_id)
    assert not verify_commitment({**signed, "k": b"w"}, hmac_id)
    unsigned = reset_hmac(from_message({"k": "v"}))
    (unsigned_hmac,) = unsigned["commitments"]
    assert verify_commitment(unsigned, unsigned_hmac)
    assert not verify_commitment({**unsigned, "k": b"w"}, unsigned_hmac)


# --- committed keys ----------------------------------------------------------------------


def test_committed_keys(wallet: Wallet) -> None:
    """committed/3: the signed components, implicit keys when ao-types is
    signed, and the body-derived keys when content-digest is."""
    tabm = from_message(
        {"a": 1, "empty": "", "path": "/p", "n": {"x": "y"}, "big": "z" * 5000, "data": "d"}
    )
    signed = commit(tabm, wallet)
    (rsa_id,) = rsa_ids(signed)
    keys = committed_keys(signed, rsa_id)
    assert keys[:2] == ["signature", "signature-input"]
    for key in ("a", "ao-types", "path", "empty", "content-digest", "body", "n", "big", "data"):
        assert key in keys, key
    assert "inline-body-key" in keys
    assert "@path" not in keys

"""HTTP message signatures against hbsig, an independent JavaScript
implementation of HyperBEAM's httpsig@1.0 (tests/js/hbsig_sign.mjs).

(a) Messages we sign, encoded with to_httpsig, verify with hbsig's verify(),
    and hbsig computes the same commitment IDs (sha256 of the signature, and
    the hmac over the signed components) from the headers.
(b) Messages hbsig signs with our wallet's JWK, decoded with from_httpsig,
    verify with our verify() and carry the same commitment IDs; tampered
    copies do not verify.

Install hbsig with ``npm ci --prefix tests/js`` (scripts/install does it);
without node or hbsig these tests fail.
"""

from __future__ import annotations

import base64
from typing import Any

import pytest

from hyperbeam.codecs.httpsig import (
    HTTP_HMAC_ALG,
    HTTP_RSA_ALG,
    content_digest,
    from_httpsig,
    to_httpsig,
)
from hyperbeam.codecs.structured import to_bytes, to_message
from hyperbeam.crypto.wallet import Wallet
from hyperbeam.message.commit import commit, convert, signers, verify
from hyperbeam.message.id import message_id
from tests.interop.js import run_script


def run_hbsig(tasks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    results: list[dict[str, Any]] = run_script("hbsig_sign.mjs", tasks, package="hbsig")
    assert len(results) == len(tasks)
    return results


@pytest.fixture(scope="module")
def wallet() -> Wallet:
    return Wallet.generate()


@pytest.fixture(scope="module")
def wallet2() -> Wallet:
    return Wallet.generate()


# --- (a) hbsig verifies what we sign ----------------------------------------------------

OURS: list[dict[str, Any]] = [
    {"a": "1"},
    {"a": "1", "b": 2, "c": True},
    {"key": "value", "list": [1, "two", 3]},
    {"body": "hello world"},
    {"data": "some data", "k": "v"},
    {"a": {"x": "c"}, "k": "v"},
    {"nested": {"deep": {"deeper": "x"}}, "n": 5},
    {"body": {"inner": "v", "n": 1}, "top": "t"},
    {"path": "/~meta@1.0/info", "k": "v"},
    {"empty": "", "none": [], "map": {}},
    {"big": "x" * 5000, "small": "y"},
    {"list": [{"a": "1"}, {"b": "2"}]},
    {"unicode": "日本語", "emoji": "🎉"},
    {"ao-ids-key": "v", "AbCdEfGhIjKlMnOpQrStUvWxYz0123456789_-ABCDE": "id-shaped"},
]

# Shapes where hbsig departs from upstream's signature base, which we follow.
OURS_DIFFER: list[tuple[str, dict[str, Any]]] = [
    (
        # upstream writes every derived component's line without its "@"
        # ("method": GET); hbsig's patched library only does so for @path.
        "derived component other than @path",
        {"method": "GET", "k": "v"},
    ),
    ("derived @status", {"status": "200", "k": "v"}),
]


def encode_signed(msg: dict[str, Any]) -> dict[str, bytes]:
    return to_httpsig(convert(msg, "tabm"))


def verify_task(http: dict[str, bytes], **override: bytes) -> dict[str, Any]:
    headers = {k: v for k, v in http.items() if k != "body"}
    headers.update(override)
    body = http.get("body")
    return {
        "op": "verify",
        "headers": {k: to_bytes(v).decode("utf-8") for k, v in headers.items()},
        "body": None if body is None else base64.b64encode(body).decode("ascii"),
    }


def rsa_commitments(msg: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {cid: c for cid, c in msg["commitments"].items() if to_bytes(c["alg"]) == HTTP_RSA_ALG}


def hmac_commitment_id(msg: dict[str, Any]) -> str:
    (found,) = [cid for cid, c in msg["commitments"].items() if to_bytes(c["alg"]) == HTTP_HMAC_ALG]
    return found


@pytest.fixture(scope="module")
def ours_signed(wallet: Wallet) -> list[dict[str, Any]]:
    return [commit(msg, wallet) for msg in OURS]


@pytest.fixture(scope="module")
def ours_results(ours_signed: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return run_hbsig([verify_task(encode_signed(signed)) for signed in ours_signed])


@pytest.mark.parametrize("index", range(len(OURS)))
def test_hbsig_verifies_our_signatures(
    index: int, ours_signed: list[dict[str, Any]], ours_results: list[dict[str, Any]]
) -> None:
    signed = ours_signed[index]
    theirs = ours_results[index]
    assert theirs.get("verified") is True, theirs
    # Our salt is as long as the digest, as upstream's rsa_pss makes it.
    assert theirs["digest_salt"] is True
    (rsa_id,) = rsa_commitments(signed)
    assert theirs["rsaid"] == rsa_id
    assert theirs["hmacid"] == hmac_commitment_id(signed)
    assert theirs["digest_ok"] in (True, None)
    assert verify(signed)


def test_hbsig_rejects_our_tampered_signatures(wallet: Wallet) -> None:
    """A changed signed header, a changed body, or a signature by another key
    fails in hbsig too."""
    signed = commit({"a": "1", "body": "payload", "k": "v"}, wallet)
    http = encode_signed(signed)
    other = commit({"a": "1", "body": "payload", "k": "v"}, Wallet.generate())
    other_http = encode_signed(other)
    changed_body = {**http, "body": b"other payload"}
    tasks = [
        verify_task(http),
        verify_task(http, a=b"2"),
        # The body changed and its content-digest with it.
        verify_task(changed_body, **{"content-digest": content_digest(b"other payload")}),
        verify_task(http, signature=other_http["signature"]),
        verify_task(changed_body),
    ]
    results = run_hbsig(tasks)
    assert results[0]["verified"] is True
    assert results[1]["verified"] is False
    assert results[2]["verified"] is False
    assert results[3]["verified"] is False
    # hbsig does not check the content-digest against the body; the digest
    # comparison in the script does.
    assert results[4]["digest_ok"] is False


def test_hbsig_verifies_each_of_our_multisignatures(wallet: Wallet, wallet2: Wallet) -> None:
    """hb_message deep_multisignature_test, checked in hbsig: each signature
    of a message signed twice verifies on its own headers (hbsig's verify()
    looks up only the first signature's key), and hbsig's hmac over the
    combined headers is our hmac commitment's ID."""
    msg = {"data": "TEST_DATA", "test_key": "TEST_VALUE", "body": {"nested_key": "V"}}
    twice = commit(commit(msg, wallet), wallet2)
    assert verify(twice)
    assert set(signers(twice)) == {wallet.address, wallet2.address}
    http = encode_signed(twice)
    rsa = rsa_commitments(twice)
    tasks = [
        verify_task(
            http,
            signature=to_bytes(c["signature"]),
            **{"signature-input": to_bytes(c["signature-input"])},
        )
        for c in rsa.values()
    ]
    tasks.append(verify_task(http))
    results = run_hbsig(tasks)
    for cid, result in zip(rsa, results, strict=False):
        assert result["verified"] is True, result
        assert result["rsaid"] == cid
    assert results[-1]["hmacid"] == hmac_commitment_id(twice)


@pytest.mark.parametrize("index", range(len(OURS_DIFFER)), ids=[d[0] for d in OURS_DIFFER])
def test_known_signature_base_discrepancies(index: int, wallet: Wallet) -> None:
    _, msg = OURS_DIFFER[index]
    signed = commit(msg, wallet)
    assert verify(signed)
    (theirs,) = run_hbsig([verify_task(encode_signed(signed))])
    assert theirs.get("verified") is False


# --- (b) we verify what hbsig signs -----------------------------------------------------

THEIRS: list[dict[str, Any]] = [
    {"a": "1"},
    {"a": "1", "b": 2},
    {"key": "value", "flag": True, "n": -7},
    {"list": [1, 2, 3], "text": "hello"},
    {"nested": {"x": "y"}, "k": "v"},
    {"path": "/~meta@1.0/info", "k": "v"},
    {"data": "hello from hbsig", "Action": "Eval"},
    {"empty": "", "k": "v"},
]


@pytest.fixture(scope="module")
def theirs_signed(wallet: Wallet) -> list[dict[str, Any]]:
    jwk = wallet.to_jwk()
    results = run_hbsig([{"op": "sign", "jwk": jwk, "fields": f} for f in THEIRS])
    for result in results:
        assert "error" not in result, result.get("error")
    return results


def decode_http(result: dict[str, Any], **override: str) -> dict[str, Any]:
    http: dict[str, Any] = {k: v.encode("utf-8") for k, v in result["headers"].items()}
    http.update({k: v.encode("utf-8") for k, v in override.items()})
    if result["body"] is not None:
        http["body"] = base64.b64decode(result["body"])
    return from_httpsig(http)


@pytest.mark.parametrize("index", range(len(THEIRS)))
def test_we_verify_hbsig_signatures(
    index: int, theirs_signed: list[dict[str, Any]], wallet: Wallet
) -> None:
    result = theirs_signed[index]
    assert result["verified"] is True
    tabm = decode_http(result)
    rich = to_message(tabm)
    assert verify(tabm)
    assert verify(rich)
    assert verify(rich, [wallet.address])
    assert verify(rich, commitments="all")
    assert signers(rich) == [wallet.address]
    assert set(rich["commitments"]) == {result["rsaid"], result["hmacid"]}
    assert rich["commitments"][result["rsaid"]]["committer"] == wallet.address
    assert message_id(rich, "all") == result["rsaid"]


def test_tampered_hbsig_messages_do_not_verify(
    theirs_signed: list[dict[str, Any]], wallet2: Wallet
) -> None:
    result = theirs_signed[1]  # {"a": "1", "b": 2}
    assert verify(decode_http(result))
    # A signed header changed.
    assert not verify(decode_http(result, a="2"))
    # The signature replayed on a message with another value.
    assert not verify(decode_http(result, b="3"))
    # The hmac commitment no longer matches either.
    assert not verify(decode_http(result, a="2"), commitments="all")
    # A commitment naming a committer whose key did not sign.
    tabm = decode_http(result)
    rsa_id = result["rsaid"]
    forged = {
        **tabm,
        "commitments": {
            **tabm["commitments"],
            rsa_id: {**tabm["commitments"][rsa_id], "committer": wallet2.address.encode()},
        },
    }
    assert not verify(forged)


def test_hbsig_body_signature_covers_the_body(theirs_signed: list[dict[str, Any]]) -> None:
    """hbsig signs the content-digest; our verify recomputes it from the body."""
    result = theirs_signed[4]  # multipart: {"nested": {...}}
    assert result["body"] is not None
    assert verify(decode_http(result))
    http: dict[str, Any] = {k: v.encode("utf-8") for k, v in result["headers"].items()}
    http["body"] = base64.b64decode(result["body"]).replace(b"x: y", b"x: z")
    assert not verify(from_httpsig(http))

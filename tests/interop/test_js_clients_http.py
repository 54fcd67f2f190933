"""Real JavaScript clients against a real node over HTTP.

hbsig (0.1.5) signs requests with its own RFC 9421 signer (tests/js/hbsig_http.mjs),
and @permaweb/aoconnect (0.0.98, mainnet mode) sends httpsig- and ANS-104-signed
requests (tests/js/aoconnect_http.mjs); the node must verify and answer them,
and refuse tampered or forged copies.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from hyperbeam.codecs.httpsig import from_httpsig
from hyperbeam.crypto.wallet import Wallet
from hyperbeam.message import commit
from tests.conftest import RunningNode
from tests.interop.js import run_script


def _node_js(script: str, payload: Any) -> list[dict[str, Any]]:
    package = "@permaweb/aoconnect" if script.startswith("aoconnect") else "hbsig"
    results: list[dict[str, Any]] = run_script(script, payload, package=package)
    return results


@pytest.fixture(scope="module")
def client_wallet() -> Wallet:
    return Wallet.generate()


@pytest.fixture(scope="module")
def hbsig_results(node: RunningNode, client_wallet: Wallet) -> list[dict[str, Any]]:
    tasks = [
        {"fields": {"path": "/key1", "key1": "Value1"}},
        {"fields": {"path": "/key1/key2", "key1": {"key2": "nested", "n": 5}}},
        {"fields": {"path": "/key1", "key1": "Value1"}, "tamper": {"key1": "Forged"}},
        {"fields": {"path": "/key1", "key1": "Value1", "data": "some data"}},
    ]
    return _node_js(
        "hbsig_http.mjs", {"url": node.url, "jwk": client_wallet.to_jwk(), "tasks": tasks}
    )


def test_hbsig_signed_request_is_answered(hbsig_results: list[dict[str, Any]]) -> None:
    first = hbsig_results[0]
    assert first.get("status") == 200, first
    assert first["body"] == "Value1"


def test_hbsig_signed_multipart_request_is_answered(hbsig_results: list[dict[str, Any]]) -> None:
    second = hbsig_results[1]
    assert second.get("status") == 200, second
    assert second["body"] == "nested"


def test_hbsig_request_tampered_after_signing_is_refused(
    hbsig_results: list[dict[str, Any]], node: RunningNode
) -> None:
    third = hbsig_results[2]
    assert third.get("status") == 400, third
    assert "signature" in third["body"]
    assert node.alive()


def test_hbsig_request_with_data_is_answered(hbsig_results: list[dict[str, Any]]) -> None:
    fourth = hbsig_results[3]
    assert fourth.get("status") == 200, fourth
    assert fourth["body"] == "Value1"


def test_replies_to_js_clients_are_signed_by_the_node(
    hbsig_results: list[dict[str, Any]], node: RunningNode
) -> None:
    address = httpx.get(f"{node.url}/~meta@1.0/info").headers["address"]
    reply = hbsig_results[0]
    http: dict[str, Any] = {
        k: v
        for k, v in reply["headers"].items()
        if not k.startswith("access-control-") and k != "content-length"
    }
    http["body"] = reply["body"].encode()
    msg = from_httpsig(http)
    assert commit.signers(msg) == [address]
    assert commit.verify(msg)


@pytest.fixture(scope="module")
def aoconnect_results(node: RunningNode, client_wallet: Wallet) -> list[dict[str, Any]]:
    tasks = [
        {"request": {"path": "/key1", "method": "POST", "key1": "Value1"}},
        {"request": {"path": "/~message@1.0&a=1&b+integer=2/b", "method": "GET"}},
        {
            "request": {
                "path": "/key1",
                "method": "POST",
                "key1": "Value1",
                "signing-format": "ans104",
            }
        },
        {"request": {"path": "/key1", "method": "POST", "key1": "Value1"}, "forge": True},
    ]
    return _node_js(
        "aoconnect_http.mjs", {"url": node.url, "jwk": client_wallet.to_jwk(), "tasks": tasks}
    )


def test_aoconnect_httpsig_request(aoconnect_results: list[dict[str, Any]]) -> None:
    assert aoconnect_results[0] == {"status": 200, "body": "Value1"}


def test_aoconnect_reads_a_typed_answer(aoconnect_results: list[dict[str, Any]]) -> None:
    assert aoconnect_results[1] == {"status": 200, "body": "2"}


def test_aoconnect_ans104_request(aoconnect_results: list[dict[str, Any]]) -> None:
    assert aoconnect_results[2] == {"status": 200, "body": "Value1"}


def test_aoconnect_forged_signature_is_refused(
    aoconnect_results: list[dict[str, Any]], node: RunningNode
) -> None:
    forged = aoconnect_results[3]
    assert forged.get("status") == 400, forged
    assert "signature" in forged["body"]
    assert node.alive()


def test_hbsig_computes_our_commitment_ids_for_node_replies(
    client_wallet: Wallet, node: RunningNode
) -> None:
    """hbsig's rsaid/hmacid of a signed node reply equal the commitment IDs we decode.

    (hbsig's RFC 9421 verifier itself cannot check node replies: every reply
    carries `status`, a derived-component name, which upstream and we write
    on the signature base as `"status": ...` and the RFC library as
    `"@status": ...`. Our own verify() checks them in the tests above.)
    """
    res = httpx.get(f"{node.url}/~message@1.0&a=1&b=two")
    headers = {
        k: v
        for k, v in res.headers.items()
        if not k.startswith("access-control-") and k not in ("content-length", "date", "server")
    }
    (theirs,) = _node_js(
        "hbsig_sign.mjs",
        [{"op": "verify", "headers": headers, "body": None, "method": "GET"}],
    )
    ours = from_httpsig({**headers, "body": res.content})
    by_alg = {bytes(c["alg"]).decode(): cid for cid, c in commit.commitments(ours).items()}
    assert theirs["rsaid"] == by_alg["rsa-pss-sha512"]
    assert theirs["hmacid"] == by_alg["hmac-sha256"]

"""Signed messages over real HTTP: the node signs every reply and verifies
every signed request (issue 3: HTTP, signed). Upstream: hb_http_server,
hb_http (req_to_tabm_singleton, encode_reply), dev_meta:maybe_sign."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from hyperbeam.codecs import ans104
from hyperbeam.codecs.httpsig import from_httpsig, to_httpsig
from hyperbeam.crypto.wallet import Wallet, address_of
from hyperbeam.message import commit
from tests.conftest import RunningNode


@pytest.fixture(scope="module")
def client_wallet() -> Wallet:
    return Wallet.generate()


@pytest.fixture
def client(node: RunningNode) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=node.url, timeout=30) as http:
        yield http


@pytest.fixture(scope="module")
def node_address(node: RunningNode) -> str:
    return httpx.get(f"{node.url}/~meta@1.0/info").headers["address"]


def _as_message(res: httpx.Response) -> dict[str, Any]:
    http: dict[str, Any] = {
        k: v
        for k, v in res.headers.items()
        if not k.startswith("access-control-") and k != "content-length"
    }
    http["body"] = res.content
    return from_httpsig(http)


def _signed_headers(msg: dict[str, Any], wallet: Wallet) -> tuple[dict[str, str], bytes]:
    signed = commit.commit(msg, wallet)
    http = to_httpsig(commit.convert(signed, "tabm"))
    body = http.pop("body", b"")
    return {k: v.decode("latin-1") for k, v in http.items()}, body


def test_replies_are_signed_by_the_node(client: httpx.Client, node_address: str) -> None:
    res = client.get("/~message@1.0&a=1&n+integer=2")
    assert res.status_code == 200
    assert "signature" in res.headers and "signature-input" in res.headers
    reply = _as_message(res)
    assert commit.signers(reply) == [node_address]
    assert commit.verify(reply)


def test_a_tampered_reply_does_not_verify(client: httpx.Client) -> None:
    res = client.get("/~message@1.0&a=1&b=two")
    reply = _as_message(res)
    assert commit.verify(reply)
    reply["b"] = "three"
    assert not commit.verify(reply)


def test_signed_request_is_accepted(client: httpx.Client, client_wallet: Wallet) -> None:
    """hb_http: simple_ao_resolve_signed_test."""
    headers, body = _signed_headers({"path": "/key1", "key1": "Value1"}, client_wallet)
    res = client.post("/key1", headers=headers, content=body)
    assert res.status_code == 200, res.text
    assert res.text == "Value1"


def test_signed_nested_request_is_accepted(client: httpx.Client, client_wallet: Wallet) -> None:
    msg = {"path": "/key1/key2", "key1": {"key2": "deep", "n": 3}}
    headers, body = _signed_headers(msg, client_wallet)
    res = client.post("/key1/key2", headers=headers, content=body)
    assert res.status_code == 200, res.text
    assert res.text == "deep"


def _refused(client: httpx.Client, headers: dict[str, str], body: bytes) -> httpx.Response:
    res = client.post("/key1", headers=headers, content=body)
    assert 400 <= res.status_code < 500, (res.status_code, res.text)
    assert res.text
    assert client.get("/~message@1.0&k=v/k").text == "v", "the node must keep serving"
    return res


def test_tampered_header_is_refused(client: httpx.Client, client_wallet: Wallet) -> None:
    headers, body = _signed_headers({"path": "/key1", "key1": "Value1"}, client_wallet)
    headers["key1"] = "Forged"
    res = _refused(client, headers, body)
    assert "signature" in res.text


def test_tampered_body_is_refused(client: httpx.Client, client_wallet: Wallet) -> None:
    msg = {"path": "/key1", "key1": {"key2": "value"}}
    headers, body = _signed_headers(msg, client_wallet)
    _refused(client, headers, body.replace(b"value", b"vAlue"))


def test_wrong_key_is_refused(client: httpx.Client, client_wallet: Wallet) -> None:
    other = Wallet.generate(2048)
    msg = {"path": "/key1", "key1": "Value1"}
    headers, body = _signed_headers(msg, client_wallet)
    forged, _ = _signed_headers(msg, other)
    # The other key's signature under our signature-input (which names our key).
    name = headers["signature"].split("=", 1)[0]
    headers["signature"] = name + "=" + forged["signature"].split("=", 1)[1]
    _refused(client, headers, body)


def test_replayed_signature_on_a_changed_message_is_refused(
    client: httpx.Client, client_wallet: Wallet
) -> None:
    original, _ = _signed_headers({"path": "/key1", "key1": "Value1"}, client_wallet)
    changed, body = _signed_headers({"path": "/key1", "key1": "Other"}, client_wallet)
    changed["signature"] = original["signature"]
    changed["signature-input"] = original["signature-input"]
    _refused(client, changed, body)


@pytest.mark.parametrize(
    "signature_input",
    ["garbage", 'sig=("key1";alg="rsa-pss-sha512"', "sig=(key1);alg=1", "=()"],
)
def test_malformed_signature_input_is_refused(
    client: httpx.Client, client_wallet: Wallet, signature_input: str
) -> None:
    headers, body = _signed_headers({"path": "/key1", "key1": "Value1"}, client_wallet)
    headers["signature-input"] = signature_input
    _refused(client, headers, body)


def test_ans104_reply(client: httpx.Client, node_address: str) -> None:
    res = client.get("/~message@1.0&a=1&b=two", headers={"accept-codec": "ans104@1.0"})
    assert res.status_code == 200
    assert res.headers["content-type"] == "application/ans104"
    assert res.headers["codec-device"] == "ans104@1.0"
    item = ans104.deserialize(res.content)
    assert ans104.verify(item)
    assert address_of(item.owner) == node_address
    tags = {name.decode(): value.decode() for name, value in item.tags}
    assert tags["a"] == "1" and tags["b"] == "two"


def test_json_reply_by_accept_header(client: httpx.Client) -> None:
    res = client.get("/~message@1.0&a=1&n+integer=7", headers={"accept": "application/json"})
    assert res.status_code == 200
    assert res.headers["codec-device"] == "json@1.0"
    assert res.headers["content-type"] == "application/json"
    decoded = json.loads(res.content)
    assert decoded["a"] == "1"
    assert decoded["n"] == "7"
    assert 'n="integer"' in decoded["ao-types"]
    assert decoded["commitments"], "the JSON reply carries the node's commitments"


def test_signed_ans104_request(client: httpx.Client, client_wallet: Wallet) -> None:
    signed = commit.commit({"path": "/key1", "key1": "Value1"}, client_wallet, "ans104@1.0")
    raw = ans104.serialize_message(commit.convert(signed, "tabm"))
    res = client.post("/key1", headers={"content-type": "application/ans104"}, content=raw)
    assert res.status_code == 200, res.text
    assert res.text == "Value1"


def test_truncated_or_forged_data_item_is_refused(
    client: httpx.Client, client_wallet: Wallet
) -> None:
    signed = commit.commit({"path": "/key1", "key1": "Value1"}, client_wallet, "ans104@1.0")
    raw = ans104.serialize_message(commit.convert(signed, "tabm"))
    for bad in (raw[:600], raw[:-3] + b"xyz", raw[:100]):
        res = client.post("/key1", headers={"content-type": "application/ans104"}, content=bad)
        assert 400 <= res.status_code < 500, (res.status_code, res.text)
        assert res.text
    assert client.get("/~message@1.0&k=v/k").text == "v"


def test_nested_reply_as_a_bundle(client: httpx.Client, node_address: str) -> None:
    """`accept-bundle: true` with ANS-104: the whole nested result travels in one item
    (every reply carries its nested messages; nothing is sent as a link)."""
    res = client.get(
        '/~message@1.0&a+map=b="c",d="e"&n=1',
        headers={"accept-codec": "ans104@1.0", "accept-bundle": "true"},
    )
    assert res.status_code == 200
    item = ans104.deserialize(res.content)
    assert ans104.verify(item)
    assert address_of(item.owner) == node_address
    msg = commit.convert(ans104.from_item(item), "structured@1.0", "tabm")
    assert msg["a"] == {"b": "c", "d": "e"}
    assert msg["n"] == "1"

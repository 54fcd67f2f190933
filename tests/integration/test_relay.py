"""relay@1.0 between real nodes (served over sockets), and the Arweave
gateway's paths passed through to arlocal (issue 14, items 1 and 3).
Upstream: dev_relay.erl (call_get_test, request_hook_reroute_to_nearest_test
with local peers)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from hyperbeam.ao.resolve import resolve
from hyperbeam.crypto.wallet import Wallet
from hyperbeam.http import client
from hyperbeam.message import commit
from hyperbeam.store.remote import signed_request
from tests.arlocal import Arlocal, start_arlocal, stop_arlocal
from tests.conftest import LocalNode, free_port


@pytest.fixture(scope="module")
def peer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalNode]:
    node = LocalNode(tmp_path_factory.mktemp("peer") / "data").start()
    yield node
    node.stop()


@pytest.fixture(scope="module")
def relayer(tmp_path_factory: pytest.TempPathFactory, peer: LocalNode) -> Iterator[LocalNode]:
    """A node whose request hook relays everything to ``peer``."""
    node = LocalNode(
        tmp_path_factory.mktemp("relayer") / "data",
        routes=[{"template": "/.*", "node": {"prefix": peer.url}}],
        on={"request": {"device": "relay@1.0"}},
    ).start()
    yield node
    node.stop()


def _opts(node: LocalNode) -> dict[str, Any]:
    return node.node.http_opts()


def test_call_sends_a_message_and_answers_the_reply(peer: LocalNode) -> None:
    """call_get_test, with a local peer instead of a public website."""
    status, reply = resolve(
        {"device": "relay@1.0", "relay-method": "GET"},
        {"path": "call", "relay-path": f"{peer.url}/~meta@1.0/info/address"},
        _opts(peer),
    )
    assert status == "ok", reply
    assert reply["body"] == peer.node.address


def test_the_request_hook_relays_every_request(relayer: LocalNode, peer: LocalNode) -> None:
    """request_hook_reroute_to_nearest_test, with local nodes: the answer is
    the peer's, signed by the peer."""
    res = httpx.get(f"{relayer.url}/~meta@1.0/info/address")
    assert res.status_code == 200
    assert res.text == peer.node.address != relayer.node.address
    status, reply = client.get(relayer.url, {"path": "/~meta@1.0/info"})
    assert status == "ok" and peer.node.address in commit.signers(reply)


def test_a_signed_request_is_relayed_as_it_was_signed(relayer: LocalNode, peer: LocalNode) -> None:
    """The peer verifies the client's own signature: the relay sends the
    bytes that arrived."""
    user = Wallet.generate()
    headers, body = signed_request({"path": "/~message@1.0/verify", "k": "v"}, user)
    res = httpx.post(f"{relayer.url}/~message@1.0/verify", headers=headers, content=body)
    assert res.status_code == 200, res.text
    # Tampered on the way to the relayer: the peer refuses it.
    res = httpx.post(
        f"{relayer.url}/~message@1.0/verify", headers={**headers, "k": "w"}, content=body
    )
    assert res.status_code == 400


def test_a_peer_that_is_down_is_a_clear_error(tmp_path: Path) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    node = LocalNode(
        tmp_path / "data",
        routes=[{"template": "/.*", "node": {"prefix": dead}}],
        on={"request": {"device": "relay@1.0"}},
    ).start()
    try:
        res = httpx.get(f"{node.url}/~meta@1.0/info", timeout=60)
        assert res.status_code == 502
        assert dead in res.text
    finally:
        node.stop()
    # The node itself keeps serving what it does not relay.
    status, reply = resolve(
        {"device": "relay@1.0"},
        {"path": "call", "relay-path": f"{dead}/x", "relay-timeout": 2},
        {},
    )
    assert status == "error" and reply["status"] == 502


def test_cast_answers_at_once(peer: LocalNode) -> None:
    started = time.monotonic()
    status, reply = resolve(
        {"device": "relay@1.0"},
        {"path": "cast", "relay-path": f"{peer.url}/~meta@1.0/info"},
        {},
    )
    assert (status, reply) == ("ok", "OK")
    assert time.monotonic() - started < 1


def test_the_node_signs_relayed_messages_for_its_operator_only(peer: LocalNode) -> None:
    res = httpx.get(
        f"{peer.url}/~relay@1.0/call",
        params={"relay-path": f"{peer.url}/~meta@1.0/info", "requires-sign": "true"},
    )
    assert res.status_code == 403


@pytest.fixture(scope="module")
def arlocal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Arlocal]:
    running = start_arlocal(tmp_path_factory.mktemp("arlocal-relay"))
    yield running
    stop_arlocal(running)


def test_gateway_paths_pass_through_to_the_gateway(tmp_path: Path, arlocal: Arlocal) -> None:
    """/graphql and /raw/<id> answered by the configured gateway (arlocal
    serves an item's data at /<id>: a route maps /raw/<id> to it)."""
    [item_id] = arlocal.post_items(
        Wallet.generate(), [{"data": b"hello gateway", "tags": [("App", "relay-test")]}]
    )
    node = LocalNode(
        tmp_path / "data",
        gateway=arlocal.url,
        routes=[
            {"template": "^/raw/", "node": {"match": "^/raw/", "with": f"{arlocal.url}/"}},
            {"template": "/graphql", "node": {"prefix": arlocal.url}},
        ],
    ).start()
    try:
        query = {"query": f'{{ transactions(ids: ["{item_id}"]) {{ edges {{ node {{ id }} }} }} }}'}
        direct = httpx.post(f"{arlocal.url}/graphql", json=query).json()
        via_node = httpx.post(f"{node.url}/graphql", json=query)
        assert via_node.status_code == 200
        assert via_node.json() == direct
        assert direct["data"]["transactions"]["edges"][0]["node"]["id"] == item_id
        raw = httpx.get(f"{node.url}/raw/{item_id}")
        assert (raw.status_code, raw.content) == (200, b"hello gateway")
    finally:
        node.stop()

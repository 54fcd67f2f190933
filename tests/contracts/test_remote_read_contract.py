"""The read-path contract of the remote stores (remote node, Arweave gateway).

Both serve messages by ID only (as upstream's hb_store_remote_node and
hb_store_gateway): no groups, no writes here. One suite runs against each, over
real processes: a `hyperbeam serve` node holding a signed message, and arlocal
holding a signed data item. Every backend must:

- read a message it holds by its ID, with the stored keys and a commitment
  that still verifies (``read_message``; ``type`` says what it is);
- answer ``None`` for an ID it does not hold and for keys that are not IDs;
- behind a local store in a :class:`StoreChain`, be reached when the local
  store misses, and stay out of the way when it does not;
- answer ``None`` quickly when its server is down, never hang.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from hyperbeam.codecs import ans104
from hyperbeam.codecs.httpsig import to_httpsig
from hyperbeam.crypto.wallet import Wallet
from hyperbeam.message import commit
from hyperbeam.message.ids import human_id
from hyperbeam.store.base import StoreChain
from hyperbeam.store.gateway import GatewayClient, GatewayStore
from hyperbeam.store.memory import MemoryStore
from hyperbeam.store.remote import RemoteNodeStore
from tests.arlocal import start_arlocal, stop_arlocal
from tests.conftest import free_port, start_node, stop_node

TIMEOUT = 3.0


@dataclass
class RemoteBackend:
    name: str
    store: Any
    present: str
    expected: dict[str, str]
    dead: Callable[[], Any]


def _signed_post(url: str, wallet: Wallet) -> str:
    msg = {"path": "/color", "color": "blue", "shape": "round"}
    signed = commit.commit(msg, wallet)
    http = to_httpsig(commit.convert(signed, "tabm"))
    body = http.pop("body", b"")
    headers = {k: v.decode("latin-1") for k, v in http.items()}
    assert httpx.post(f"{url}/color", headers=headers, content=body).status_code == 200
    return next(
        cid
        for cid, c in commit.commitments(signed).items()
        if c.get("alg") in ("rsa-pss-sha512", b"rsa-pss-sha512")
    )


def _dead_url() -> str:
    return f"http://127.0.0.1:{free_port()}"


@pytest.fixture(scope="module", params=["remote-node", "gateway"])
def remote(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RemoteBackend]:
    tmp: Path = tmp_path_factory.mktemp(request.param)
    wallet = Wallet.generate()
    if request.param == "remote-node":
        node = start_node(tmp)
        try:
            present = _signed_post(node.url, wallet)
            store = RemoteNodeStore(node.url, timeout=TIMEOUT)
            yield RemoteBackend(
                "remote-node",
                store,
                present,
                {"color": "blue", "shape": "round"},
                lambda: RemoteNodeStore(_dead_url(), timeout=TIMEOUT),
            )
            store.stop()
        finally:
            stop_node(node)
    else:
        gateway = start_arlocal(tmp)
        try:
            item = ans104.sign(
                ans104.DataItem(data=b"payload", tags=[(b"color", b"blue"), (b"shape", b"round")]),
                wallet,
            )
            assert item.id is not None
            (posted,) = gateway.post_items(wallet, [item])
            assert posted == human_id(item.id)
            gateway_store = GatewayStore(GatewayClient(gateway.url, timeout=TIMEOUT))
            yield RemoteBackend(
                "gateway",
                gateway_store,
                posted,
                {"color": "blue", "shape": "round"},
                lambda: GatewayStore(GatewayClient(_dead_url(), timeout=TIMEOUT)),
            )
            gateway_store.stop()
        finally:
            stop_arlocal(gateway)


def test_reads_a_message_it_holds_by_id(remote: RemoteBackend) -> None:
    found = remote.store.read_message(remote.present)
    assert isinstance(found, dict)
    for key, value in remote.expected.items():
        assert found[key] == value
    assert commit.verify(found)
    assert remote.store.type(remote.present) in ("simple", "composite")


def test_unknown_ids_and_other_keys_are_not_found(remote: RemoteBackend) -> None:
    assert remote.store.read_message("Q" * 43) is None
    assert remote.store.read("Q" * 43) is None
    assert remote.store.type("Q" * 43) is None
    assert remote.store.read("data/some-key") is None
    assert remote.store.scope == "remote"


def test_behind_a_local_store_in_a_chain(remote: RemoteBackend) -> None:
    local = MemoryStore()
    chain = StoreChain([local, remote.store])
    assert chain.type(remote.present) is not None, "a local miss reaches the remote store"
    local.write("data/local", b"here")
    assert chain.read("data/local") == b"here"
    assert chain.read("Q" * 43) is None
    assert chain.only("local") is not None
    assert [s.scope for s in chain.stores] == ["local", "remote"]


def test_a_server_that_is_down_answers_quickly(remote: RemoteBackend) -> None:
    dead = remote.dead()
    try:
        started = time.monotonic()
        assert dead.read_message(remote.present) is None
        assert time.monotonic() - started < TIMEOUT + 1
    finally:
        dead.stop()

"""A real node reads messages it does not have from a real Arweave gateway
(arlocal), keeps them, and answers cleanly when the gateway lacks an item or is
down (issue 4). Upstream: hb_store_gateway in the node's default store chain."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from hyperbeam.codecs import ans104
from hyperbeam.crypto.wallet import Wallet
from tests.arlocal import Arlocal, start_arlocal, stop_arlocal
from tests.conftest import RunningNode, free_port, start_node, stop_node


@pytest.fixture(scope="module")
def arlocal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Arlocal]:
    running = start_arlocal(tmp_path_factory.mktemp("arlocal"))
    yield running
    stop_arlocal(running)


@pytest.fixture(scope="module")
def item(arlocal: Arlocal) -> ans104.DataItem:
    wallet = Wallet.generate()
    signed = ans104.sign(
        ans104.DataItem(
            data=b"from the permaweb",
            tags=[(b"Data-Protocol", b"ao"), (b"Type", b"Message"), (b"greeting", b"hello")],
        ),
        wallet,
    )
    (posted,) = arlocal.post_items(wallet, [signed])
    assert posted == _id(signed)
    return signed


@pytest.fixture(scope="module")
def gateway_node(
    tmp_path_factory: pytest.TempPathFactory, arlocal: Arlocal
) -> Iterator[RunningNode]:
    running = start_node(tmp_path_factory.mktemp("gw-node"), "--gateway", arlocal.url)
    yield running
    stop_node(running)


def _id(item: ans104.DataItem) -> str:
    from hyperbeam.message.ids import human_id

    assert item.id is not None
    return human_id(item.id)


def test_node_serves_an_item_from_the_gateway(
    gateway_node: RunningNode, item: ans104.DataItem
) -> None:
    res = httpx.get(
        f"{gateway_node.url}/{_id(item)}", headers={"accept-codec": "ans104@1.0"}, timeout=30
    )
    assert res.status_code == 200, res.text
    served = ans104.deserialize(res.content)
    assert served.id == item.id, "the item keeps its own signature"
    assert ans104.verify(served)
    assert served.data == item.data


def test_node_serves_keys_of_a_gateway_item(
    gateway_node: RunningNode, item: ans104.DataItem
) -> None:
    res = httpx.get(f"{gateway_node.url}/{_id(item)}/greeting", timeout=30)
    assert res.status_code == 200, res.text
    assert res.text == "hello"


def test_gateway_items_are_kept_locally(
    tmp_path: Path, arlocal: Arlocal, item: ans104.DataItem
) -> None:
    """Read once through the gateway, the item is served after a restart with no gateway."""
    first = start_node(tmp_path, "--gateway", arlocal.url)
    try:
        assert httpx.get(f"{first.url}/{_id(item)}/greeting", timeout=30).text == "hello"
    finally:
        stop_node(first)
    offline = start_node(tmp_path)
    try:
        res = httpx.get(f"{offline.url}/{_id(item)}/greeting", timeout=30)
        assert res.status_code == 200, res.text
        assert res.text == "hello"
    finally:
        stop_node(offline)


def test_missing_item_is_a_clean_404(gateway_node: RunningNode) -> None:
    res = httpx.get(f"{gateway_node.url}/{'Z' * 43}", timeout=30)
    assert res.status_code == 404
    assert res.text


def test_a_gateway_that_is_down_is_a_clean_error_not_a_hang(tmp_path: Path) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    node = start_node(tmp_path, "--gateway", dead)
    try:
        started = time.monotonic()
        res = httpx.get(f"{node.url}/{'Y' * 43}", timeout=30)
        assert 400 <= res.status_code < 600
        assert res.text
        assert time.monotonic() - started < 10
        assert node.alive()
    finally:
        stop_node(node)

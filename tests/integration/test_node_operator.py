"""The node message over HTTP: reading it, the operator changing it, and the
``initialized`` gate. Each test names the upstream eunit test (dev_meta.erl)
it follows; the node is served over a real socket.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from hyperbeam.crypto.wallet import Wallet
from hyperbeam.store.remote import signed_request
from tests.conftest import LocalNode


def post_signed(url: str, msg: dict[str, Any], wallet: Wallet) -> httpx.Response:
    headers, body = signed_request({"method": "POST", **msg}, wallet)
    return httpx.post(f"{url}{msg.get('path', '/')}", headers=headers, content=body)


def info(url: str) -> httpx.Response:
    return httpx.get(f"{url}/~meta@1.0/info")


@pytest.fixture
def local(tmp_path: Path) -> Iterator[LocalNode]:
    node = LocalNode(tmp_path / "data", store="lmdb", test_config_item="test").start()
    yield node
    node.stop()


def test_info_is_the_node_message(local: LocalNode) -> None:
    """config_test, priv_inaccessible_test."""
    res = info(local.url)
    assert res.status_code == 200
    assert res.headers["test_config_item"] == "test"  # a key the node does not know, kept
    assert res.headers["address"] == local.node.address
    assert res.headers["operator"] == local.node.address
    assert res.headers["port"] == local.url.rsplit(":", 1)[1]
    assert "wallet" not in res.headers and "priv_key_location" not in res.headers
    assert httpx.get(f"{local.url}/~meta@1.0/info/test_config_item").text == "test"


def test_a_strangers_post_is_refused(local: LocalNode) -> None:
    """unauthorized_set_node_msg_fails_test."""
    res = post_signed(
        local.url, {"path": "/~meta@1.0/info", "evil_config_item": "BAD"}, Wallet.generate()
    )
    assert res.status_code == 401
    assert "operator" in res.text
    after = info(local.url)
    assert "evil_config_item" not in after.headers
    assert local.node.history == []


def test_an_unsigned_post_is_refused(local: LocalNode) -> None:
    res = httpx.post(f"{local.url}/~meta@1.0/info", headers={"evil": "1"})
    assert res.status_code == 401
    assert "evil" not in info(local.url).headers


def test_a_signature_not_covering_the_path_is_refused(local: LocalNode) -> None:
    """The operator's signature over other keys only is no authority to
    change settings (hyperbeam.authority)."""
    wallet = local.node.wallet
    assert wallet is not None
    headers, body = signed_request({"test_config_item": "pathless"}, wallet)
    res = httpx.post(f"{local.url}/~meta@1.0/info", headers=headers, content=body)
    assert res.status_code == 401
    assert info(local.url).headers["test_config_item"] == "test"


def test_the_operator_changes_settings_live(local: LocalNode) -> None:
    """authorized_set_node_msg_succeeds_test."""
    wallet = local.node.wallet
    assert wallet is not None
    res = post_signed(local.url, {"path": "/~meta@1.0/info", "test_config_item": "test2"}, wallet)
    assert res.status_code == 200, res.text
    assert res.headers["history-length"] == "1"
    assert info(local.url).headers["test_config_item"] == "test2"
    assert len(local.node.history) == 1
    # A known setting takes its type and applies at once.
    res = post_signed(local.url, {"path": "/~meta@1.0/info", "force-signed": "false"}, wallet)
    assert res.status_code == 200, res.text
    assert "signature" not in info(local.url).headers


def test_settings_needing_a_restart_are_named(local: LocalNode) -> None:
    wallet = local.node.wallet
    assert wallet is not None
    res = post_signed(local.url, {"path": "/~meta@1.0/info", "workers": 4}, wallet)
    assert res.status_code == 200, res.text
    assert "workers" in res.headers["restart-needed"]


def test_the_key_file_cannot_be_moved_over_http(local: LocalNode) -> None:
    wallet = local.node.wallet
    assert wallet is not None
    res = post_signed(local.url, {"path": "/~meta@1.0/info", "wallet": "/tmp/other.json"}, wallet)
    assert res.status_code == 400
    assert "cannot be changed over HTTP" in res.text
    assert local.node.config.wallet == ""
    res = post_signed(local.url, {"path": "/~meta@1.0/info", "port": "many"}, wallet)
    assert res.status_code == 400
    assert "bad value for port" in res.text


def test_changes_survive_a_restart(tmp_path: Path) -> None:
    first = LocalNode(tmp_path / "data", store="lmdb").start()
    try:
        wallet = first.node.wallet
        assert wallet is not None
        res = post_signed(
            first.url,
            {"path": "/~meta@1.0/info", "kept_item": "no", "process-snapshot-time": 5},
            wallet,
        )
        assert res.status_code == 200, res.text
        res = post_signed(first.url, {"path": "/~meta@1.0/info", "kept_item": "yes"}, wallet)
        assert res.status_code == 200, res.text
    finally:
        first.stop()
    second = LocalNode(tmp_path / "data", store="lmdb").start()
    try:
        headers = info(second.url).headers
        assert headers["kept_item"] == "yes"
        assert second.node.config.process_snapshot_time == 5.0
        assert len(second.node.history) == 2
    finally:
        second.stop()


def test_forgetting_the_kept_changes(tmp_path: Path) -> None:
    """``hyperbeam serve --forget-node-message`` (a permanent node message
    too) starts from the config alone."""
    first = LocalNode(tmp_path / "data", store="lmdb").start()
    try:
        wallet = first.node.wallet
        assert wallet is not None
        res = post_signed(
            first.url, {"path": "/~meta@1.0/info", "initialized": "permanent"}, wallet
        )
        assert res.status_code == 200, res.text
    finally:
        first.stop()
    second = LocalNode(tmp_path / "data", store="lmdb")
    second.node.forget_changes = True
    second.start()
    try:
        assert second.node.config.initialized == "true"
        assert second.node.history == []
    finally:
        second.stop()


def test_permanent_refuses_later_changes(tmp_path: Path) -> None:
    """permanent_node_message_test: an unclaimed node; a change that sets
    ``initialized: permanent`` is the last."""
    node = LocalNode(
        tmp_path / "data", operator="unclaimed", initialized="false", test_config_item="test"
    ).start()
    try:
        owner = Wallet.generate()
        res = post_signed(
            node.url,
            {"path": "/~meta@1.0/info", "test_config_item": "test2", "initialized": "permanent"},
            owner,
        )
        assert res.status_code == 200, res.text
        assert info(node.url).headers["test_config_item"] == "test2"
        res = post_signed(
            node.url, {"path": "/~meta@1.0/info", "test_config_item": "bad_value"}, owner
        )
        assert res.status_code == 400
        assert "permanent" in res.text
        assert info(node.url).headers["test_config_item"] == "test2"
        assert len(node.node.history) == 1
    finally:
        node.stop()


def test_an_unclaimed_node_is_claimed(tmp_path: Path) -> None:
    """claim_node_test."""
    node = LocalNode(tmp_path / "data", operator="unclaimed", test_config_item="test").start()
    try:
        owner = Wallet.generate()
        res = post_signed(node.url, {"path": "/~meta@1.0/info", "operator": owner.address}, owner)
        assert res.status_code == 200, res.text
        assert info(node.url).headers["operator"] == owner.address
        # Now only the new operator may change it.
        stranger = post_signed(
            node.url, {"path": "/~meta@1.0/info", "test_config_item": "x"}, Wallet.generate()
        )
        assert stranger.status_code == 401
        res = post_signed(node.url, {"path": "/~meta@1.0/info", "test_config_item": "test2"}, owner)
        assert res.status_code == 200, res.text
        assert info(node.url).headers["test_config_item"] == "test2"
        assert len(node.node.history) == 2
    finally:
        node.stop()


def test_an_uninitialized_node_answers_only_meta_info(tmp_path: Path) -> None:
    """uninitialized_node_test."""
    node = LocalNode(tmp_path / "data", initialized="false").start()
    try:
        res = httpx.get(f"{node.url}/key1", params={"1.key1": "value1"})
        assert res.status_code == 400
        assert "Node must be initialized before use." in res.text
        assert info(node.url).status_code == 200
        wallet = node.node.wallet
        assert wallet is not None
        res = post_signed(node.url, {"path": "/~meta@1.0/info", "initialized": "true"}, wallet)
        assert res.status_code == 200, res.text
        assert httpx.get(f"{node.url}/~message@1.0&k=v/k").text == "v"
    finally:
        node.stop()


def test_build_names_the_node_and_its_source(local: LocalNode) -> None:
    """buildinfo_test."""
    assert httpx.get(f"{local.url}/~meta@1.0/build/node").text == "HyperBEAM"
    res = httpx.get(f"{local.url}/~meta@1.0/build")
    assert res.status_code == 200
    from hyperbeam import __version__

    assert res.headers["version"] == __version__
    source = res.headers["source"]
    assert source == "unknown" or len(source) == 40
    assert res.headers["source-short"] == (source if source == "unknown" else source[:7])


def test_upstreams_documented_config_flat_starts_a_node(tmp_path: Path) -> None:
    """The config.flat of upstream's docs (configuration-examples.md), verbatim;
    ``--port`` (a flag, which wins) keeps the test off port 10000."""
    from tests.conftest import start_node, stop_node

    config = tmp_path / "config.flat"
    config.write_text("port: 10000\nmode: debug\npriv_key_location: ./wallet.json\n\n")
    running = start_node(tmp_path, "--config", str(config), cwd=tmp_path)
    try:
        res = info(running.url)
        assert res.status_code == 200
        assert res.headers["mode"] == "debug"  # kept, as upstream keeps unknown keys
        key_file = tmp_path / "wallet.json"  # created where the config says
        assert key_file.exists()
        assert Wallet.load(key_file).address == res.headers["address"]
    finally:
        stop_node(running)

"""Messages and results stored by a real node, read back over HTTP, across restarts
(issue 4). Upstream: hb_cache, hb_cache_control, dev_cache, dev_lookup over hb_http."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from hyperbeam.codecs.httpsig import from_httpsig, to_httpsig
from hyperbeam.crypto.wallet import Wallet
from hyperbeam.message import commit
from tests.conftest import RunningNode, start_node, stop_node


@pytest.fixture(scope="module")
def client_wallet() -> Wallet:
    return Wallet.generate()


@pytest.fixture(scope="module")
def own_node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningNode]:
    running = start_node(tmp_path_factory.mktemp("store-node"))
    yield running
    stop_node(running)


def _decoded(res: httpx.Response) -> dict[str, Any]:
    http: dict[str, Any] = {
        k: v
        for k, v in res.headers.items()
        if not k.startswith("access-control-") and k not in ("content-length", "date", "server")
    }
    http["body"] = res.content
    return from_httpsig(http)


def _post_signed(url: str, msg: dict[str, Any], wallet: Wallet) -> tuple[httpx.Response, str]:
    signed = commit.commit(msg, wallet)
    http = to_httpsig(commit.convert(signed, "tabm"))
    body = http.pop("body", b"")
    headers = {k: v.decode("latin-1") for k, v in http.items()}
    res = httpx.post(f"{url}{msg['path']}", headers=headers, content=body, timeout=30)
    rsa_ids = [
        cid
        for cid, c in commit.commitments(signed).items()
        if c.get("alg") in ("rsa-pss-sha512", b"rsa-pss-sha512")
    ]
    return res, rsa_ids[0]


def test_signed_message_is_read_back_by_its_id(
    own_node: RunningNode, client_wallet: Wallet
) -> None:
    msg = {"path": "/key1", "key1": "Value1", "nested": {"deep": "x", "n": 4}}
    res, signed_id = _post_signed(own_node.url, msg, client_wallet)
    assert res.status_code == 200, res.text
    got = httpx.get(f"{own_node.url}/{signed_id}", timeout=30)
    assert got.status_code == 200, got.text
    stored = _decoded(got)
    # Signed as it was stored: the client's signature, which still verifies.
    assert commit.signers(stored) == [client_wallet.address]
    assert commit.verify(stored)
    rich = commit.convert(stored, "structured@1.0", "tabm")
    assert rich["key1"] == "Value1"
    assert rich["nested"] == {"deep": "x", "n": 4}


def test_stored_message_keys_by_path(own_node: RunningNode, client_wallet: Wallet) -> None:
    msg = {"path": "/key1", "key1": "Keyed", "nested": {"deep": "down"}}
    _, signed_id = _post_signed(own_node.url, msg, client_wallet)
    assert httpx.get(f"{own_node.url}/{signed_id}/key1").text == "Keyed"
    assert httpx.get(f"{own_node.url}/{signed_id}/nested/deep").text == "down"


def test_unknown_id_is_404(own_node: RunningNode) -> None:
    res = httpx.get(f"{own_node.url}/{'A' * 43}")
    assert res.status_code == 404
    assert res.text


def test_cache_and_lookup_devices(own_node: RunningNode, client_wallet: Wallet) -> None:
    _, signed_id = _post_signed(own_node.url, {"path": "/a", "a": "dev"}, client_wallet)
    for path in (f"/~cache@1.0/read?target={signed_id}", f"/~lookup@1.0/read?target={signed_id}"):
        res = httpx.get(f"{own_node.url}{path}")
        assert res.status_code == 200, (path, res.text)
        assert commit.convert(_decoded(res), "structured@1.0", "tabm")["a"] == "dev"


def test_results_are_cached_and_survive_a_restart(tmp_path: Path, client_wallet: Wallet) -> None:
    """A result computed by one node is served from the store by the next node on
    the same data directory, which answers only from its cache (a miss is 504)."""
    # `id` is computed by the device (not a key of the base), so the result is
    # stored and looked up under its hashpath.
    path = "/~message@1.0&word=cached/id"
    # Headers are keys of every message (so part of the hashpath): keep them
    # the same across the two nodes, whose ports differ.
    same = {"host": "node.test"}
    node = start_node(tmp_path)
    try:
        computed = httpx.get(f"{node.url}{path}", headers=same).text
        assert len(computed) == 43
        _, signed_id = _post_signed(node.url, {"path": "/k", "k": "kept"}, client_wallet)
    finally:
        stop_node(node)
    config = tmp_path / "cache-only.flat"
    config.write_text("http-cache-control: only-if-cached\n")
    again = start_node(tmp_path, "--config", str(config))
    try:
        hit = httpx.get(f"{again.url}{path}", headers=same)
        assert hit.status_code == 200, hit.text
        assert hit.text == computed
        miss = httpx.get(f"{again.url}/~message@1.0&word=never-asked/id", headers=same)
        assert miss.status_code == 504
        assert miss.headers.get("cache-status") == "miss"
        assert httpx.get(f"{again.url}/{signed_id}").status_code == 200
    finally:
        stop_node(again)


def test_hbsig_verifies_a_stored_message_served_by_id(
    own_node: RunningNode, client_wallet: Wallet
) -> None:
    """GET /<id> serves the message signed as it was stored, verifiable by hbsig."""
    from tests.interop.js import run_script

    msg = {"path": "/key1", "key1": "for hbsig", "other": "field"}
    _, signed_id = _post_signed(own_node.url, msg, client_wallet)
    got = httpx.get(f"{own_node.url}/{signed_id}")
    assert got.status_code == 200
    headers = {
        k: v
        for k, v in got.headers.items()
        if not k.startswith("access-control-") and k not in ("content-length", "date", "server")
    }
    (result,) = run_script(
        "hbsig_sign.mjs",
        [
            {
                "op": "verify",
                "headers": headers,
                "body": None,
                "method": "POST",
                "url": "http://x/key1",
            }
        ],
        package="hbsig",
    )
    assert result["verified"] is True, result
    assert result["rsaid"] == signed_id

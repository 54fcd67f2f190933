"""The node never lends its identity (issue 12, item 8).

The attack: anyone could make the node sign a message of their choosing
(``POST /commit``, or any reply under ``force_signed``) and replay it to an
operator-only endpoint, which accepted it as signed by the node itself (by
default its own operator and cache writer). One test per operator-only path,
each with the replay, and the operator's own request still working.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from hyperbeam import authority
from hyperbeam.crypto.wallet import Wallet
from hyperbeam.message import commit
from hyperbeam.store.remote import signed_request
from tests.conftest import LocalNode

EVIL = "attacker's bytes"


@pytest.fixture(scope="module")
def local(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalNode]:
    node = LocalNode(tmp_path_factory.mktemp("lending") / "data", store="lmdb").start()
    yield node
    node.stop()


def operator_of(local: LocalNode) -> Wallet:
    wallet = local.node.wallet
    assert wallet is not None
    return wallet


def replay(url: str, path: str, reply: httpx.Response) -> httpx.Response:
    """Send a node-signed reply's exact headers and body as a request."""
    skip = {"content-length", "date", "server", "transfer-encoding"}
    headers = {k: v for k, v in reply.headers.items() if k not in skip}
    return httpx.post(f"{url}{path}", headers=headers, content=reply.content)


def node_signed(local: LocalNode, keys: dict[str, Any]) -> httpx.Response:
    """A message the node signed for someone (as ``/commit`` did for anyone,
    or a pushed message), as an HTTP message: what an attacker would hold."""
    headers, body = signed_request(keys, operator_of(local))
    return httpx.Response(200, headers=headers, content=body)


def test_commit_signs_only_for_the_operator(local: LocalNode) -> None:
    res = httpx.post(f"{local.url}/commit", headers={"body": EVIL, "type": "single"})
    assert res.status_code == 403
    assert "operator" in res.text
    own = signed_request(
        {"path": "/commit", "method": "POST", "target": "body", "body": {"k": "v"}},
        operator_of(local),
    )
    res = httpx.post(f"{local.url}/commit", headers=own[0], content=own[1])
    assert res.status_code == 200, res.text
    assert res.headers["k"] == "v"


def test_a_replayed_reply_writes_nothing_to_the_cache(local: LocalNode) -> None:
    reply = node_signed(local, {"body": EVIL, "type": "single"})
    res = replay(local.url, "/~cache@1.0/write", reply)
    assert res.status_code == 403, res.text
    # The operator's own signed write still works.
    headers, body = signed_request(
        {"path": "/~cache@1.0/write", "method": "POST", "body": b"operator data"},
        operator_of(local),
    )
    res = httpx.post(f"{local.url}/~cache@1.0/write", headers=headers, content=body)
    assert res.status_code == 200, res.text
    written = res.headers["path"]
    read = httpx.get(f"{local.url}/~cache@1.0/read", params={"target": written})
    assert read.content == b"operator data"


def test_a_replayed_reply_with_a_path_is_no_authority(local: LocalNode) -> None:
    """Even a reply whose signed keys include the endpoint's path: a reply's
    signature covers its status, and a request's never does."""
    cache_write = {"path": "/~cache@1.0/write", "method": "POST", "body": b"ok"}
    headers, body = signed_request(cache_write, operator_of(local))
    written = httpx.post(f"{local.url}/~cache@1.0/write", headers=headers, content=body)
    assert written.status_code == 200
    assert "path" in written.headers  # the node signed a reply carrying `path`
    for endpoint in ("/~cache@1.0/write", "/~cache@1.0/link", "/~meta@1.0/info"):
        res = replay(local.url, endpoint, written)
        # (Its signed `path` routes it to the written ID, which has no such key.)
        assert res.status_code >= 400, (endpoint, res.status_code, res.text)
    assert local.node.history == []


def test_a_replayed_reply_cannot_link(local: LocalNode) -> None:
    reply = node_signed(local, {"source": "data/x", "destination": "evil-link"})
    res = replay(local.url, "/~cache@1.0/link", reply)
    assert res.status_code == 403, res.text


def test_a_replayed_reply_cannot_change_settings(local: LocalNode) -> None:
    reply = node_signed(local, {"evil_setting": "1"})
    res = replay(local.url, "/~meta@1.0/info", reply)
    assert res.status_code == 401, res.text
    assert "evil_setting" not in httpx.get(f"{local.url}/~meta@1.0/info").headers


def test_a_replayed_message_cannot_register_a_name(local: LocalNode) -> None:
    reply = node_signed(local, {"key": "evil-name", "value": EVIL})
    res = replay(local.url, "/~local-name@1.0/register", reply)
    assert res.status_code == 403, res.text
    assert httpx.get(f"{local.url}/~local-name@1.0/evil-name").status_code == 404


def test_a_node_signed_reply_shape_grants_nothing(local: LocalNode) -> None:
    """A message the node signed with the endpoint's path and a status (as
    every signed reply has one) is no request."""
    reply = node_signed(local, {"path": "/~cache@1.0/write", "status": 200, "body": EVIL})
    res = replay(local.url, "/~cache@1.0/write", reply)
    assert res.status_code == 403, res.text


def test_authority_rules() -> None:
    """hyperbeam.authority on messages (no node): what grants authority."""
    wallet = Wallet.generate()
    with_path = commit.commit({"path": "/~meta@1.0/info", "k": "v"}, wallet)
    assert authority.request_authority(with_path) == {wallet.address}
    assert authority.request_authority(commit.commit({"k": "v"}, wallet)) == frozenset()
    reply = commit.commit({"path": "/x", "status": 200}, wallet)
    assert authority.request_authority(reply) == frozenset()
    assert authority.request_authority({"path": "/x"}) == frozenset()
    pushed: dict[str, Any] = authority.without_path({"path": "/~cache@1.0/write", "a": "1"})
    assert pushed == {"a": "1"}

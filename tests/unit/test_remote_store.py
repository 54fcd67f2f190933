"""RemoteNodeStore against a scripted node: a ``~cache@1.0`` stand-in that
decodes requests and signs replies with the node's own HTTP code
(:mod:`hyperbeam.http.render`), so what crosses the wire is what a real node
sends and accepts.

Upstream: hb_store_remote_node's ``read_test`` and dev_cache's remote-store
tests (write, then read back; links; untrusted writers refused).
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from hyperbeam import cache
from hyperbeam.crypto.wallet import Wallet
from hyperbeam.errors import SignatureError
from hyperbeam.http.render import render, request_message
from hyperbeam.http.status import embed_status
from hyperbeam.message import commit
from hyperbeam.message.ids import b64url_encode, sha256
from hyperbeam.message.model import Message
from hyperbeam.store.base import StoreChain, StoreError
from hyperbeam.store.lmdb import LmdbStore
from hyperbeam.store.memory import MemoryStore
from hyperbeam.store.remote import LINK_PATH, READ_PATH, WRITE_PATH, RemoteNodeStore
from tests.conftest import RunningNode, start_node, stop_node

URL = "http://node.test"


@pytest.fixture(scope="module")
def node_wallet() -> Wallet:
    return Wallet.generate()


@pytest.fixture(scope="module")
def writer() -> Wallet:
    return Wallet.generate()


class FakeNode:
    """The read, write and link keys of ``~cache@1.0``, over a MemoryStore
    (binaries) and a dict (messages by ID)."""

    def __init__(self, wallet: Wallet | None, writers: list[str]) -> None:
        self.wallet = wallet
        self.writers = set(writers)
        self.store = MemoryStore()
        self.messages: dict[str, Message] = {}
        self.requests: list[Message] = []
        self.tamper: Callable[[dict[str, str]], None] | None = None

    def __call__(self, request: httpx.Request) -> httpx.Response:
        headers = {k: v for k, v in request.headers.items() if k not in ("host", "accept")}
        try:
            msg = request_message(
                request.method,
                request.url.path,
                request.url.query.decode(),
                headers,
                request.content,
            )
        except SignatureError:
            return httpx.Response(400, text="bad signature")
        msg = commit.convert(msg, "structured@1.0", "tabm")
        self.requests.append(msg)
        status, result = self.handle(request.url.path, msg)
        code, out, body = render(embed_status(status, result), {}, wallet=self.wallet)
        reply = dict(out)
        if self.tamper is not None:
            self.tamper(reply)
        return httpx.Response(code, headers=reply, content=body)

    def handle(self, path: str, msg: Message) -> tuple[str, Any]:
        if path == READ_PATH:
            target = msg["target"]
            if target in self.messages:
                return "ok", self.messages[target]
            value = self.store.read(target)
            if value is None:
                return "error", {"status": 404}
            # A binary result, as hb_ao:force_message/2 wraps it.
            return "ok", {"ao-result": "body", "body": value}
        if not self.writers & set(commit.signers(msg)):
            return "error", {"status": 403, "body": "Not authorized to write to the cache."}
        if path == WRITE_PATH:
            body = msg["body"]
            raw = body.encode() if isinstance(body, str) else body
            address = f"data/{b64url_encode(sha256(raw))}"
            self.store.write(address, raw)
            return "ok", {"status": 200, "path": address}
        if path == LINK_PATH:
            self.store.make_link(msg["source"], msg["destination"])
            return "ok", {"status": 200}
        return "error", {"status": 404}

    def client(self) -> httpx.Client:
        return httpx.Client(transport=httpx.MockTransport(self))


@pytest.fixture
def node(node_wallet: Wallet, writer: Wallet) -> FakeNode:
    return FakeNode(node_wallet, [writer.address])


@pytest.fixture
def remote(node: FakeNode, writer: Wallet) -> Iterator[RemoteNodeStore]:
    with node.client() as http:
        yield RemoteNodeStore(URL, wallet=writer, client=http)


def _address(value: bytes) -> str:
    return f"data/{b64url_encode(sha256(value))}"


# --- reads ---------------------------------------------------------------------------


def test_reads_a_binary(node: FakeNode, remote: RemoteNodeStore) -> None:
    node.store.write("some/key", b"\x00binary\xff")
    assert remote.read("some/key") == b"\x00binary\xff"
    assert remote.read_message("some/key") == b"\x00binary\xff"
    assert remote.type("some/key") == "simple"
    assert node.requests[0]["target"] == "some/key"
    assert node.requests[0]["path"].startswith(READ_PATH)


def test_reads_a_message_with_only_its_committed_keys(
    node: FakeNode, remote: RemoteNodeStore, writer: Wallet
) -> None:
    signed = commit.commit({"test-key": "1337", "other": "value"}, writer)
    msg_id = commit.id(signed, "all")
    node.messages[msg_id] = signed
    found = remote.read_message(msg_id)
    assert isinstance(found, dict)
    assert (found["test-key"], found["other"]) == ("1337", "value")
    # The node's `status` is not part of the author's commitment.
    assert "status" not in found
    assert commit.signers(found) == [writer.address]
    assert commit.verify(found)
    assert remote.read(msg_id) is None  # a message is not a binary...
    assert remote.type(msg_id) == "composite"  # ...but it is there


def test_missing_keys_and_errors_are_not_found(node: FakeNode, remote: RemoteNodeStore) -> None:
    assert remote.read("missing") is None
    assert remote.type("missing") is None
    assert remote.read_message("missing") is None

    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    with httpx.Client(transport=httpx.MockTransport(refuse)) as http:
        assert RemoteNodeStore(URL, client=http).read("k") is None
    with httpx.Client(transport=httpx.MockTransport(lambda _: httpx.Response(500))) as http:
        assert RemoteNodeStore(URL, client=http).read("k") is None


def test_a_tampered_reply_is_not_trusted(node: FakeNode, remote: RemoteNodeStore) -> None:
    node.store.write("k", b"value")

    def swap_status(headers: dict[str, str]) -> None:
        headers["status"] = "201"

    node.tamper = swap_status
    assert remote.read("k") is None
    with node.client() as http:
        assert RemoteNodeStore(URL, client=http, verify=False).read("k") == b"value"


def test_unsigned_replies_are_read(writer: Wallet) -> None:
    node = FakeNode(None, [])
    node.store.write("k", b"value")
    with node.client() as http:
        assert RemoteNodeStore(URL, client=http).read("k") == b"value"


# --- writes and links ---------------------------------------------------------------------


def test_writes_go_to_the_content_address(node: FakeNode, remote: RemoteNodeStore) -> None:
    value = os.urandom(64)
    remote.write("the/key/is/not/sent", value)
    assert node.store.read(_address(value)) == value
    assert node.store.read("the/key/is/not/sent") is None
    request = node.requests[-1]
    assert request["path"] == WRITE_PATH and request["method"] == "POST"
    assert remote.read(_address(value)) == value


def test_links(node: FakeNode, remote: RemoteNodeStore) -> None:
    remote.write("ignored", b"linked value")
    remote.make_link(_address(b"linked value"), "named/value")
    assert node.store.read("named/value") == b"linked value"
    assert remote.read("named/value") == b"linked value"
    request = node.requests[-2]
    assert (request["source"], request["destination"]) == (
        _address(b"linked value"),
        "named/value",
    )


def test_untrusted_or_unsigned_writers_are_refused(node: FakeNode, node_wallet: Wallet) -> None:
    with node.client() as http:
        stranger = RemoteNodeStore(URL, wallet=node_wallet, client=http)
        with pytest.raises(StoreError, match="403"):
            stranger.write("k", b"v")
        with pytest.raises(StoreError, match="403"):
            stranger.make_link("a", "b")
        with pytest.raises(StoreError, match="wallet"):
            RemoteNodeStore(URL, client=http).write("k", b"v")
    assert node.store.list("") == []


def test_store_interface(node: FakeNode, remote: RemoteNodeStore) -> None:
    assert remote.scope == "remote"
    assert remote.resolve("a/b") == "a/b"
    with pytest.raises(StoreError):
        remote.list("data")
    with pytest.raises(StoreError):
        remote.make_group("g")
    node.store.write("k", b"v")
    remote.reset()  # never wipes the remote node
    assert node.store.read("k") == b"v"
    chain = StoreChain([MemoryStore(), remote])
    assert chain.scope == "local"
    assert chain.only("remote") is not None
    assert chain.read("k") == b"v"
    assert chain.list("data") is None


def test_a_hanging_node_times_out() -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(8)
        store = RemoteNodeStore(f"http://127.0.0.1:{server.getsockname()[1]}", timeout=0.5)
        try:
            started = time.monotonic()
            assert store.read("k") is None
            assert time.monotonic() - started < 1.5
        finally:
            store.stop()


# --- against a real node ---------------------------------------------------------------------
#
# A `hyperbeam serve` process with the ~cache@1.0 device (so, strictly, not a
# unit test). Its default cache writer is its own address, so the store
# writes with the node's key file.


@pytest.fixture(scope="module")
def real_node(
    tmp_path_factory: pytest.TempPathFactory, writer: Wallet
) -> Iterator[tuple[RunningNode, str]]:
    tmp = tmp_path_factory.mktemp("remote-node")
    writer.save(tmp / "data" / "wallet.json")
    # Upstream read_test: a message written to the node's store before it starts.
    local = LmdbStore(tmp / "data" / "store")
    local.start()
    msg_id = cache.write(commit.commit({"test-key": "1337"}, writer), local)
    local.stop()
    running = start_node(tmp, "--store", "lmdb")
    yield running, msg_id
    stop_node(running)


def test_real_node_serves_messages_from_its_store(
    real_node: tuple[RunningNode, str], writer: Wallet
) -> None:
    running, msg_id = real_node
    store = RemoteNodeStore(running.url)
    try:
        found = store.read_message(msg_id)
        assert isinstance(found, dict) and found["test-key"] == "1337"
        assert commit.signers(found) == [writer.address] and commit.verify(found)
        assert store.type(msg_id) == "composite"
        assert store.read_message(b64url_encode(os.urandom(32))) is None
        assert StoreChain([MemoryStore(), store]).type(msg_id) == "composite"
    finally:
        store.stop()


def test_real_node_writes_and_links(
    real_node: tuple[RunningNode, str], writer: Wallet, node_wallet: Wallet
) -> None:
    running, _ = real_node
    store = RemoteNodeStore(running.url, wallet=writer)
    value = os.urandom(48)
    try:
        store.write("the/key/is/not/sent", value)
        assert store.read(cache.data_path(value)) == value
        assert store.type(cache.data_path(value)) == "simple"
        store.make_link(cache.data_path(value), "named/value")
        assert store.read("named/value") == value
        stranger = RemoteNodeStore(running.url, wallet=node_wallet)
        with pytest.raises(StoreError, match="403"):
            stranger.write("k", b"v")
        stranger.stop()
    finally:
        store.stop()

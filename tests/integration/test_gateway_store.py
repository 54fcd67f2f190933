"""The gateway store and client against a real Arweave gateway (arlocal), and
against scripted answers for what arlocal cannot show (exact request shapes,
broken gateways, nested messages).

Upstream: hb_store_gateway's and hb_gateway_client's tests read known items
from arweave.net; these post their own items to arlocal first.
"""

from __future__ import annotations

import json
import os
import socket
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from hyperbeam.codecs import ans104
from hyperbeam.crypto.wallet import Wallet
from hyperbeam.message import commit
from hyperbeam.message.ids import b64url_encode, human_id
from hyperbeam.store.base import StoreChain
from hyperbeam.store.gateway import (
    GatewayClient,
    GatewayError,
    GatewayStore,
    item_query,
    result_to_message,
)
from hyperbeam.store.memory import MemoryStore
from tests.arlocal import Arlocal, start_arlocal, stop_arlocal
from tests.conftest import free_port

TIMEOUT = 1.0


def _signed(wallet: Wallet, data: bytes, tags: list[tuple[bytes, bytes]], **kw: Any) -> Any:
    return ans104.sign(ans104.DataItem(data=data, tags=tags, **kw), wallet)


@dataclass
class Posted:
    gateway: Arlocal
    wallet: Wallet
    py_ao: ans104.DataItem
    py_plain: ans104.DataItem
    py_target: ans104.DataItem
    ids: dict[str, str]
    http: httpx.Client

    def client(self, **kw: Any) -> GatewayClient:
        return GatewayClient(self.gateway.url, timeout=5.0, client=self.http, **kw)


@pytest.fixture(scope="module")
def posted(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Posted]:
    gateway = start_arlocal(tmp_path_factory.mktemp("arlocal"))
    try:
        wallet = Wallet.generate()
        py_ao = _signed(
            wallet,
            b"hello from python",
            [(b"Data-Protocol", b"ao"), (b"Type", b"Message"), (b"Variant", b"ao.TN.1")],
        )
        py_plain = _signed(wallet, b"not an ao message", [(b"content-type", b"text/plain")])
        py_target = _signed(
            wallet, b"to someone", [(b"data-protocol", b"ao")], target=os.urandom(32)
        )
        specs: list[ans104.DataItem | dict[str, Any]] = [
            py_ao,
            py_plain,
            py_target,
            {"data": b"from arbundles", "tags": [("Data-Protocol", "ao"), ("Action", "Eval")]},
            {"data": b"anchored", "tags": [("Data-Protocol", "ao")], "anchor": b"a" * 32},
            {
                "data": b"",
                "tags": [("Type", "Scheduler-Location"), ("Url", "https://su.example")],
            },
        ]
        names = ["py_ao", "py_plain", "py_target", "js_ao", "anchored", "scheduler"]
        ids = dict(zip(names, gateway.post_items(wallet, specs), strict=True))
        assert ids["py_ao"] == human_id(py_ao.id or b"")
        with httpx.Client(follow_redirects=True) as http:
            yield Posted(gateway, wallet, py_ao, py_plain, py_target, ids, http)
    finally:
        stop_arlocal(gateway)


@pytest.fixture
def counted(posted: Posted) -> Iterator[tuple[list[httpx.Request], GatewayClient]]:
    """A client to arlocal that records its requests."""
    requests: list[httpx.Request] = []
    with httpx.Client(event_hooks={"request": [requests.append]}) as http:
        yield requests, GatewayClient(posted.gateway.url, client=http)


def _bytes(value: Any) -> bytes:
    """A binary of a structured message (text when it is valid UTF-8)."""
    return value.encode() if isinstance(value, str) else bytes(value)


# --- reading real items ------------------------------------------------------------------


def test_items_signed_here_read_back_whole(posted: Posted) -> None:
    store = GatewayStore(posted.client())
    for item in (posted.py_ao, posted.py_plain, posted.py_target):
        item_id = human_id(item.id or b"")
        msg = store.read_message(item_id)
        assert isinstance(msg, dict)
        assert list(msg["commitments"]) == [item_id]
        assert commit.signers(msg) == [posted.wallet.address]
        assert commit.verify(msg)
        assert _bytes(msg["data"]) == item.data
        # The binary form is the very item that was posted.
        assert store.read(item_id) == ans104.serialize(item)
    msg = store.read_message(posted.ids["py_ao"])
    assert isinstance(msg, dict)
    assert (msg["data-protocol"], msg["type"], msg["variant"]) == ("ao", "Message", "ao.TN.1")


def test_items_signed_by_arbundles_verify(posted: Posted) -> None:
    found = posted.client().read_item(posted.ids["js_ao"])
    assert found is not None and found.verified
    msg = found.message
    assert isinstance(msg, dict)
    assert commit.verify(msg) and commit.signers(msg) == [posted.wallet.address]
    assert (_bytes(msg["data"]), msg["action"]) == (b"from arbundles", "Eval")
    assert "trusted-keys" not in msg["commitments"][posted.ids["js_ao"]]


def test_items_whose_anchor_the_gateway_drops_are_trusted(posted: Posted) -> None:
    item_id = posted.ids["anchored"]
    found = posted.client().read_item(item_id)
    assert found is not None and not found.verified
    assert isinstance(found.message, dict)
    assert _bytes(found.message["data"]) == b"anchored"
    assert found.message["commitments"][item_id]["trusted-keys"] == {"1": "data-protocol"}
    untrusted = posted.client(trust_gql=False).read_item(item_id)
    assert untrusted is not None and isinstance(untrusted.message, dict)
    assert "trusted-keys" not in untrusted.message["commitments"][item_id]


def test_subindex_serves_only_matching_items(posted: Posted) -> None:
    store = GatewayStore(posted.client(), subindex=[("Data-Protocol", "ao")])
    assert store.read_message(posted.ids["py_ao"]) is not None
    assert store.read_message(posted.ids["js_ao"]) is not None
    assert store.read_message(posted.ids["py_plain"]) is None
    both = GatewayStore(posted.client(), subindex=[("Data-Protocol", "ao"), ("Action", "Eval")])
    assert both.read_message(posted.ids["js_ao"]) is not None
    assert both.read_message(posted.ids["py_ao"]) is None


def test_missing_ids_are_not_found(posted: Posted) -> None:
    store = GatewayStore(posted.client())
    missing = b64url_encode(os.urandom(32))
    assert store.read_message(missing) is None
    assert store.read(missing) is None
    assert store.type(missing) is None
    assert store.list(missing) is None
    chain = StoreChain([MemoryStore(), store])
    assert chain.read(missing) is None
    assert chain.type(missing) is None
    assert posted.client().read(missing) is None


def test_only_single_ids_are_asked_for(
    posted: Posted, counted: tuple[list[httpx.Request], GatewayClient]
) -> None:
    requests, client = counted
    store = GatewayStore(client)
    item_id = posted.ids["py_ao"]
    for key in ("not-an-id", f"{item_id}/data", f"x/{item_id}", "a" * 42, "a" * 44, ""):
        assert store.read(key) is None, key
    assert requests == []
    # Empty segments do not count: this is the single ID.
    assert store.read(f"/{item_id}/") is not None


def test_type_list_and_memory(
    posted: Posted, counted: tuple[list[httpx.Request], GatewayClient]
) -> None:
    requests, client = counted
    store = GatewayStore(client)
    item_id = posted.ids["py_ao"]
    assert store.type(item_id) == "simple"
    keys = store.list(item_id)
    assert keys is not None and {"data", "data-protocol", "type", "commitments"} <= set(keys)
    assert store.read(item_id) == ans104.serialize(posted.py_ao)
    # GraphQL, then /raw (404 on arlocal), then /<id>: once for all three calls.
    assert [r.url.path for r in requests] == ["/graphql", f"/raw/{item_id}", f"/{item_id}"]
    store.reset()
    assert store.type(item_id) == "simple"
    assert len(requests) == 6


def test_read_items_are_cached(posted: Posted) -> None:
    cache = MemoryStore()
    store = GatewayStore(posted.client(), cache=cache)
    item_id = posted.ids["py_target"]
    assert store.read_message(item_id) is not None
    assert cache.read(f"ans104/{item_id}") == ans104.serialize(posted.py_target)


def test_scheduler_location(posted: Posted) -> None:
    found = posted.client().scheduler_location(posted.wallet.address)
    assert isinstance(found, dict)
    assert (found["type"], found["url"]) == ("Scheduler-Location", "https://su.example")
    assert commit.verify(found)
    assert posted.client().scheduler_location(b64url_encode(os.urandom(32))) is None


# --- gateways that are down, hang or misbehave ------------------------------------------------


def _within(limit: float, call: Callable[[], Any]) -> Any:
    started = time.monotonic()
    result = call()
    assert time.monotonic() - started < limit
    return result


def test_a_stopped_gateway_is_not_found_quickly(tmp_path: Path) -> None:
    gateway = start_arlocal(tmp_path)
    stop_arlocal(gateway)
    item_id = b64url_encode(os.urandom(32))
    with GatewayClient(gateway.url, timeout=TIMEOUT) as client:
        assert _within(TIMEOUT + 1, lambda: GatewayStore(client).read_message(item_id)) is None
        with pytest.raises(GatewayError):
            _within(TIMEOUT + 1, lambda: client.read(item_id))
        chain = StoreChain([MemoryStore(), GatewayStore(client)])
        assert _within(TIMEOUT + 1, lambda: chain.read(item_id)) is None


def test_a_hanging_gateway_times_out() -> None:
    with socket.socket() as server:
        # Listening but never accepting: connections open, requests go unanswered.
        server.bind(("127.0.0.1", 0))
        server.listen(8)
        url = f"http://127.0.0.1:{server.getsockname()[1]}"
        item_id = b64url_encode(os.urandom(32))
        with GatewayClient(url, timeout=TIMEOUT) as client:
            assert _within(TIMEOUT + 1, lambda: GatewayStore(client).read(item_id)) is None
            with pytest.raises(GatewayError, match="timed out"):
                _within(TIMEOUT + 1, lambda: client.read(item_id))


def test_an_unreachable_gateway_raises_for_the_client() -> None:
    with (
        GatewayClient(f"http://127.0.0.1:{free_port()}", timeout=TIMEOUT) as client,
        pytest.raises(GatewayError),
    ):
        client.read(b64url_encode(os.urandom(32)))


# --- scripted gateways ----------------------------------------------------------------------


def _gql_node(item: ans104.DataItem) -> dict[str, Any]:
    """The GraphQL node a gateway gives for ``item``."""
    assert isinstance(item.data, bytes)
    return {
        "id": human_id(item.id or b""),
        "anchor": b64url_encode(item.anchor) if item.anchor else "",
        "signature": b64url_encode(item.signature),
        "recipient": b64url_encode(item.target) if item.target else "",
        "owner": {"key": b64url_encode(item.owner)},
        "fee": {"winston": "0"},
        "quantity": {"winston": "0"},
        "tags": [{"name": n.decode(), "value": v.decode()} for n, v in item.tags],
        "data": {"size": str(len(item.data))},
    }


class Scripted:
    """A gateway answering from ``items``; ``raw`` says whether it has /raw."""

    def __init__(self, items: list[ans104.DataItem], *, raw: bool = True) -> None:
        self.items = {human_id(i.id or b""): i for i in items}
        self.raw = raw
        self.seen: list[tuple[str, str, bytes]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.seen.append((request.method, request.url.path, request.content))
        path = request.url.path
        if path == "/graphql":
            body = json.loads(request.content)
            wanted = body["variables"]["transactionIds"][0]
            found = self.items.get(wanted)
            edges = [{"node": _gql_node(found)}] if found is not None else []
            return httpx.Response(200, json={"data": {"transactions": {"edges": edges}}})
        item_id = path.rsplit("/", 1)[-1]
        if (path.startswith("/raw/") and self.raw) or (path == f"/{item_id}" and not self.raw):
            item = self.items.get(item_id)
            if item is not None:
                assert isinstance(item.data, bytes)
                return httpx.Response(200, content=item.data)
        return httpx.Response(404)

    def client(self, **kw: Any) -> GatewayClient:
        transport = httpx.MockTransport(self)
        return GatewayClient("http://gateway.test", client=httpx.Client(transport=transport), **kw)


@pytest.fixture(scope="module")
def wallet() -> Wallet:
    return Wallet.generate()


def test_graphql_requests_have_upstreams_exact_shape() -> None:
    item_id = "p45HPD-ENkLS7Ykqrx6p_DYGbmeHDeeF8LJ09N2K53g"
    spec = (
        "edges { node { id anchor signature recipient owner { key } fee { winston } "
        "quantity { winston } tags { name value } data { size } } } } } "
    )
    assert item_query(item_id) == {
        "query": "query($transactionIds: [ID!]!) { transactions(ids: $transactionIds, "
        "first: 1){ " + spec,
        "variables": {"transactionIds": [item_id]},
    }
    assert item_query(item_id, [("Data-Protocol", "ao"), ("Type", "Process")])["query"] == (
        "query($transactionIds: [ID!]!) { transactions(ids: $transactionIds,"
        'tags: [{ name: "Data-Protocol", values: ["ao"]}, { name: "Type", values: ["Process"]}],'
        "first: 1){ " + spec
    )
    # Quotes in tag filters stay inside their strings.
    assert 'values: ["a\\"b"]' in item_query(item_id, [("X", 'a"b')])["query"]


def test_requests_on_the_wire(wallet: Wallet) -> None:
    item = _signed(wallet, b"data", [(b"data-protocol", b"ao")])
    scripted = Scripted([item])
    store = GatewayStore(scripted.client(), subindex=[("data-protocol", "ao")])
    item_id = human_id(item.id or b"")
    assert store.read(item_id) == ans104.serialize(item)
    (method, path, body), (method2, path2, _) = scripted.seen
    assert (method, path, method2, path2) == ("POST", "/graphql", "GET", f"/raw/{item_id}")
    assert json.loads(body) == item_query(item_id, [("data-protocol", "ao")])


def test_data_falls_back_to_the_id_route(wallet: Wallet) -> None:
    item = _signed(wallet, b"data", [(b"a", b"b")])
    scripted = Scripted([item], raw=False)
    item_id = human_id(item.id or b"")
    assert GatewayStore(scripted.client()).read(item_id) == ans104.serialize(item)
    assert [p for _, p, _ in scripted.seen] == ["/graphql", f"/raw/{item_id}", f"/{item_id}"]


def test_nested_messages_are_composite(wallet: Wallet) -> None:
    msg = {"data-protocol": "ao", "inner": {"k": "v", "n": "1"}, "data": b"outer"}
    item = ans104.sign(ans104.to_item(msg), wallet)
    item_id = human_id(item.id or b"")
    store = GatewayStore(Scripted([item]).client())
    assert store.type(item_id) == "composite"
    found = store.read_message(item_id)
    assert isinstance(found, dict) and found["inner"] == {"k": "v", "n": "1"}
    assert commit.verify(found)


@pytest.mark.parametrize(
    "answer",
    [
        httpx.Response(500, text="down"),
        httpx.Response(200, text="not json"),
        httpx.Response(200, json={"errors": [{"message": "bad query"}]}),
        httpx.Response(200, json={"data": {"transactions": {"edges": [{"cursor": "x"}]}}}),
    ],
    ids=["500", "not-json", "graphql-error", "no-node"],
)
def test_broken_answers_are_errors(answer: httpx.Response) -> None:
    transport = httpx.MockTransport(lambda _: answer)
    client = GatewayClient("http://gateway.test", client=httpx.Client(transport=transport))
    item_id = b64url_encode(os.urandom(32))
    with pytest.raises(GatewayError):
        client.read(item_id)
    assert GatewayStore(client).read(item_id) is None


def test_an_answer_for_another_item_is_refused(wallet: Wallet) -> None:
    item = _signed(wallet, b"x", [(b"a", b"b")])
    node = _gql_node(item)
    other = b64url_encode(os.urandom(32))
    with pytest.raises(GatewayError, match="another item"):
        result_to_message({**node, "id": other}, b"x")
    with pytest.raises(GatewayError, match="signature type"):
        result_to_message({**node, "signature": b64url_encode(bytes(65))}, b"x")
    tampered = result_to_message(node, b"y")
    assert not tampered.verified
    assert isinstance(tampered.message, dict)
    assert tampered.message["commitments"][node["id"]]["trusted-keys"] == {"1": "a"}

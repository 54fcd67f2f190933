"""``cache@1.0`` and ``lookup@1.0``: the eunit tests of upstream dev_cache.erl
and dev_lookup.erl, through the resolver as a node would run them, plus the
writer checks of ``cache@1.0``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hyperbeam import cache
from hyperbeam.ao.resolve import resolve, resolve_many
from hyperbeam.ao.singleton import from_request
from hyperbeam.crypto.wallet import Wallet
from hyperbeam.devices import default_registry
from hyperbeam.devices.cache import CacheDevice, cache_writers, is_trusted_writer
from hyperbeam.devices.lookup import AOS2, LookupDevice
from hyperbeam.message import commit
from hyperbeam.message.json_struct import message_to_json_struct
from hyperbeam.message.private import strip_private
from hyperbeam.store.base import Store
from hyperbeam.store.lmdb import LmdbStore
from hyperbeam.store.memory import MemoryStore


@pytest.fixture(params=["memory", "lmdb"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    opened: Store = MemoryStore() if request.param == "memory" else LmdbStore(tmp_path / "lmdb")
    opened.start()
    opened.reset()
    yield opened
    opened.stop()


@pytest.fixture(scope="module")
def node_wallet() -> Wallet:
    return Wallet.generate()


@pytest.fixture(scope="module")
def writer() -> Wallet:
    return Wallet.generate()


@pytest.fixture(scope="module")
def stranger() -> Wallet:
    return Wallet.generate()


def node_opts(store: Store, wallet: Wallet, **extra: Any) -> dict[str, Any]:
    return {"store": store, "priv_wallet": wallet, **extra}


def http_like(request: dict[str, Any], opts: dict[str, Any]) -> tuple[str, Any]:
    """Resolve a request the way the HTTP edge does: its path parsed as a
    singleton, its other keys (commitments included) on every step. The
    result's private keys (its hashpath) are left out."""
    return public(resolve_many(from_request(request), opts))


def public(result: tuple[str, Any]) -> tuple[str, Any]:
    status, value = result
    return status, strip_private(value) if isinstance(value, dict) else value


def write_request(body: Any, wallet: Wallet | None, **extra: Any) -> dict[str, Any]:
    """Upstream: dev_cache:write_to_cache/3, before the HTTP POST."""
    msg = {"path": "/~cache@1.0/write", "method": "POST", "body": body, **extra}
    return commit.commit(msg, wallet) if wallet is not None else msg


def read_request(target: str, **extra: Any) -> dict[str, Any]:
    """Upstream: dev_cache:read_from_cache/2, before the HTTP GET."""
    return {"path": "/~cache@1.0/read", "method": "GET", "target": target, **extra}


def test_devices_are_registered() -> None:
    registry = default_registry()
    assert isinstance(registry["cache@1.0"], CacheDevice)
    assert isinstance(registry["lookup@1.0"], LookupDevice)


# --- upstream: dev_cache.erl -------------------------------------------------------------


def test_cache_write_message(store: Store) -> None:
    """dev_cache.erl: cache_write_message_test."""
    data = {"test_key": "test_value"}
    path = cache.write(data, store)
    assert commit.match(data, cache.read(path, store), "only_present")


def test_cache_write_binary(store: Store) -> None:
    """dev_cache.erl: cache_write_binary_test."""
    path = cache.write(b"test_binary", store)
    assert cache.read(path, store) == b"test_binary"


def test_write_then_read_binary(store: Store, node_wallet: Wallet, writer: Wallet) -> None:
    """dev_cache.erl: write_to_cache/3 then read_from_cache/2, as its remote
    store tests do over HTTP: a trusted writer writes, anyone reads."""
    opts = node_opts(store, node_wallet, cache_writers=[writer.address, node_wallet.address])
    status, reply = http_like(write_request("test binary data", writer), opts)
    assert status == "ok"
    assert reply["status"] == 200
    assert reply["path"] == cache.data_path("test binary data")
    status, found = http_like(read_request(reply["path"]), opts)
    assert (status, found) == ("ok", b"test binary data")


def test_write_then_read_message(store: Store, node_wallet: Wallet, writer: Wallet) -> None:
    body = commit.commit({"test-key": "test-value", "n": 7, "nested": {"x": [1, 2]}}, writer)
    opts = node_opts(store, node_wallet, cache_writers=[writer.address])
    status, reply = http_like(write_request(body, writer), opts)
    assert status == "ok"
    assert reply == {"status": 200, "path": commit.id(body)}
    for some_id in (reply["path"], *body["commitments"]):
        status, found = http_like(read_request(some_id), opts)
        assert status == "ok"
        assert found == body
        assert commit.verify(found)


def test_node_wallet_is_the_default_writer(store: Store, node_wallet: Wallet) -> None:
    opts = node_opts(store, node_wallet)
    assert cache_writers(opts) == [node_wallet.address]
    status, reply = http_like(write_request("from the operator", node_wallet), opts)
    assert (status, reply["status"]) == ("ok", 200)


def test_unsigned_writes_are_refused(store: Store, node_wallet: Wallet) -> None:
    opts = node_opts(store, node_wallet)
    status, reply = http_like(write_request("data", None), opts)
    assert (status, reply["status"]) == ("error", 403)
    assert cache.read(cache.data_path("data"), store) is None


def test_writes_by_others_are_refused(
    store: Store, node_wallet: Wallet, stranger: Wallet, writer: Wallet
) -> None:
    opts = node_opts(store, node_wallet, cache_writers=[writer.address])
    status, reply = http_like(write_request("data", stranger), opts)
    assert (status, reply["status"]) == ("error", 403)
    assert not is_trusted_writer(commit.commit({"a": "1"}, stranger), opts)
    assert is_trusted_writer(commit.commit({"a": "1"}, writer), opts)
    # An empty list of writers trusts nobody, not even the node.
    none = node_opts(store, node_wallet, cache_writers=[])
    assert not is_trusted_writer(commit.commit({"a": "1"}, node_wallet), none)


def test_write_without_body(store: Store, node_wallet: Wallet) -> None:
    req = commit.commit({"path": "/~cache@1.0/write", "method": "POST"}, node_wallet)
    status, reply = http_like(req, node_opts(store, node_wallet))
    assert (status, reply["status"]) == ("error", 400)
    assert reply["body"] == "No body to write."


def test_write_invalid_type(store: Store, node_wallet: Wallet) -> None:
    req = write_request("x", node_wallet, type="sideways")
    status, reply = http_like(req, node_opts(store, node_wallet))
    assert (status, reply["status"]) == ("error", 400)


def test_write_refuses_device_maps(store: Store, node_wallet: Wallet) -> None:
    req = write_request({"device": {"name": "x"}}, node_wallet)
    status, reply = http_like(req, node_opts(store, node_wallet))
    assert (status, reply["status"]) == ("error", 400)


def test_batch_write(store: Store, node_wallet: Wallet) -> None:
    body = {"first": {"body": "one"}, "second": {"body": {"k": "v"}}}
    req = write_request(body, node_wallet, type="batch")
    status, reply = http_like(req, node_opts(store, node_wallet))
    assert status == "ok"
    assert reply["first"] == {"status": 200, "path": cache.data_path("one")}
    assert reply["second"] == {"status": 200, "path": commit.id({"k": "v"})}
    assert cache.read(reply["second"]["path"], store) == {"k": "v"}


def test_write_at_location(store: Store, node_wallet: Wallet) -> None:
    req = write_request("located", node_wallet, location="names/here")
    status, reply = http_like(req, node_opts(store, node_wallet))
    assert status == "ok"
    assert reply["path"] == cache.data_path("located")
    assert cache.read("names/here", store) == b"located"


def test_link(store: Store, node_wallet: Wallet, stranger: Wallet) -> None:
    """dev_cache.erl: link/3."""
    opts = node_opts(store, node_wallet)
    path = cache.write(b"linked value", store)
    base = {"path": "/~cache@1.0/link", "source": path, "destination": "my/name"}
    status, reply = http_like(commit.commit(base, stranger), opts)
    assert (status, reply["status"]) == ("error", 403)
    status, reply = http_like(commit.commit(base, node_wallet), opts)
    assert (status, reply) == ("ok", {"status": 200})
    status, found = http_like(read_request("my/name"), opts)
    assert (status, found) == ("ok", b"linked value")
    missing = commit.commit({"path": "/~cache@1.0/link", "source": path}, node_wallet)
    status, reply = http_like(missing, opts)
    assert (status, reply["status"]) == ("error", 400)


def test_read_missing_is_404(store: Store, node_wallet: Wallet) -> None:
    status, reply = http_like(read_request("A" * 43), node_opts(store, node_wallet))
    assert (status, reply["status"]) == ("error", 404)
    status, reply = http_like({"path": "/~cache@1.0/read"}, node_opts(store, node_wallet))
    assert (status, reply["status"]) == ("error", 400)


def test_read_without_store() -> None:
    status, reply = resolve({"device": "cache@1.0"}, {"path": "read", "target": "x"}, {})
    assert (status, reply["status"]) == ("error", 503)


def test_read_aos2(store: Store, node_wallet: Wallet) -> None:
    mid = cache.write({"test-key": "test-value", "data": "test-data"}, store)
    status, reply = http_like(read_request(mid, accept=AOS2), node_opts(store, node_wallet))
    assert status == "ok"
    assert reply["content-type"] == AOS2
    assert json.loads(reply["body"])["Data"] == "test-data"


# --- upstream: dev_lookup.erl -----------------------------------------------------------


def lookup(target: str, store: Store, **extra: Any) -> tuple[str, Any]:
    return public(
        resolve(
            {"device": "lookup@1.0"},
            {"path": "read", "target": target, **extra},
            {"store": store},
        )
    )


def test_binary_lookup(store: Store) -> None:
    """dev_lookup.erl: binary_lookup_test."""
    data = b"Simple unsigned data item"
    path = cache.write(data, store)
    assert lookup(path, store) == ("ok", data)


def test_message_lookup(store: Store) -> None:
    """dev_lookup.erl: message_lookup_test."""
    msg = {"test-key": "test-value", "data": "test-data"}
    mid = cache.write(msg, store)
    assert lookup(mid, store) == ("ok", msg)


def test_aos2_message_lookup(store: Store) -> None:
    """dev_lookup.erl: aos2_message_lookup_test."""
    msg = {"test-key": "test-value", "data": "test-data"}
    mid = cache.write(msg, store)
    status, reply = lookup(mid, store, accept=AOS2)
    assert status == "ok"
    assert json.loads(reply["body"])["Data"] == "test-data"


def test_http_lookup(store: Store, node_wallet: Wallet) -> None:
    """dev_lookup.erl: http_lookup_test, through the singleton parser rather
    than a running node."""
    msg = {"test-key": "test-value", "data": "test-data"}
    mid = cache.write(msg, store)
    req = commit.commit(
        {"path": f"/~lookup@1.0/read?target={mid}", "device": "lookup@1.0", "accept": AOS2},
        node_wallet,
    )
    status, reply = http_like(req, {"store": store})
    assert status == "ok"
    assert json.loads(reply["body"])["Data"] == "test-data"


def test_lookup_missing(store: Store) -> None:
    assert lookup("A" * 43, store) == ("error", "not_found")
    status, reply = resolve({"device": "lookup@1.0"}, {"path": "read"}, {"store": store})
    assert (status, reply["status"]) == ("error", 400)


def test_json_struct(node_wallet: Wallet) -> None:
    """Upstream: dev_json_iface:message_to_json_struct/1 with owner_as_address."""
    signed = commit.commit(
        {"data": "hello", "target": "T" * 43, "action": "Eval", "content-type": "text/plain"},
        node_wallet,
    )
    struct = message_to_json_struct(signed)
    assert struct["Id"] == commit.id(signed, "all")
    assert struct["Owner"] == node_wallet.address
    assert struct["From"] == node_wallet.address
    assert struct["Target"] == "T" * 43
    assert struct["Data"] == "hello"
    assert struct["Anchor"] == ""
    assert struct["Signature"] == ""
    tags = {tag["name"]: tag["value"] for tag in struct["Tags"]}
    assert tags["Action"] == "Eval"
    assert tags["Content-Type"] == "text/plain"
    assert "Data" not in tags
    unsigned = message_to_json_struct({"from-process": "P" * 43, "n": 1})
    assert unsigned["Owner"] == ""
    assert unsigned["From"] == "P" * 43
    assert {"name": "Ao-Types", "value": 'n="integer"'} in unsigned["Tags"]

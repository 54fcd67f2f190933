"""Names over HTTP: ``local-name@1.0`` (the operator registers, anyone looks
up), ``name@1.0`` (resolvers, loading what a name points to) and
``node-process@1.0`` (processes the node runs under its own identity).
Upstream tests followed: dev_local_name.erl (register_test,
unauthorized_test, http_test), dev_name.erl (load_and_execute_test),
dev_node_process.erl (lookup_no_spawn_test, lookup_spawn_test).
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

PINGER = {
    "device": "process@1.0",
    "scheduler-device": "scheduler@1.0",
    "execution-device": "test-ping@1.0",
    "type": "Process",
}


def post_signed(url: str, msg: dict[str, Any], wallet: Wallet) -> httpx.Response:
    headers, body = signed_request({"method": "POST", **msg}, wallet)
    return httpx.post(f"{url}{msg['path']}", headers=headers, content=body)


@pytest.fixture(scope="module")
def local(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalNode]:
    node = LocalNode(
        tmp_path_factory.mktemp("names") / "data", store="lmdb", node_processes={"pinger": PINGER}
    ).start()
    yield node
    node.stop()


def operator(local: LocalNode) -> Wallet:
    assert local.node.wallet is not None
    return local.node.wallet


def register(local: LocalNode, name: str, value: Any, wallet: Wallet) -> httpx.Response:
    return post_signed(
        local.url, {"path": "/~local-name@1.0/register", "key": name, "value": value}, wallet
    )


def test_only_the_operator_registers(local: LocalNode) -> None:
    res = register(local, "name1", "value1", Wallet.generate())
    assert res.status_code == 403
    assert (
        httpx.get(f"{local.url}/~local-name@1.0/lookup", params={"key": "name1"}).status_code == 404
    )


def test_a_registered_name_is_looked_up(local: LocalNode) -> None:
    res = register(local, "name2", "value2", operator(local))
    assert res.status_code == 200, res.text
    assert res.text == "Registered."
    assert httpx.get(f"{local.url}/~local-name@1.0/lookup", params={"key": "name2"}).text == (
        "value2"
    )
    assert httpx.get(f"{local.url}/~local-name@1.0/name2").text == "value2"
    # Registering it again moves it.
    assert register(local, "name2", "value3", operator(local)).status_code == 200
    assert httpx.get(f"{local.url}/~local-name@1.0/name2").text == "value3"


def test_a_name_resolves_to_the_message_it_names(local: LocalNode) -> None:
    headers, body = signed_request(
        {"path": "/~cache@1.0/write", "method": "POST", "body": {"deep": "PING"}},
        operator(local),
    )
    written = httpx.post(f"{local.url}/~cache@1.0/write", headers=headers, content=body)
    assert written.status_code == 200, written.text
    message_id = written.headers["path"]
    assert register(local, "testkey", message_id, operator(local)).status_code == 200
    assert httpx.get(f"{local.url}/~name@1.0/testkey/deep").text == "PING"
    raw = httpx.get(f"{local.url}/~name@1.0/testkey", params={"load": "false"})
    assert raw.text == message_id
    missing = httpx.get(f"{local.url}/~name@1.0/nobody")
    assert missing.status_code == 404
    assert "nobody" in missing.text


def test_a_node_process_is_spawned_once_and_computes(local: LocalNode) -> None:
    first = httpx.get(f"{local.url}/~node-process@1.0/pinger/id")
    assert first.status_code == 200, first.text
    again = httpx.get(f"{local.url}/~node-process@1.0/pinger/id")
    assert again.text == first.text
    process = httpx.get(f"{local.url}/~node-process@1.0/pinger")
    assert process.headers["scheduler"] == local.node.address
    assert httpx.get(f"{local.url}/{first.text}/now/pings").text == "0"
    undefined = httpx.get(f"{local.url}/~node-process@1.0/nothing", params={"spawn": "false"})
    assert undefined.status_code == 404


def test_a_node_process_survives_a_restart(tmp_path: Path) -> None:
    node = LocalNode(tmp_path / "data", store="lmdb", node_processes={"pinger": PINGER}).start()
    try:
        pid = httpx.get(f"{node.url}/~node-process@1.0/pinger/id").text
    finally:
        node.stop()
    node = LocalNode(tmp_path / "data", store="lmdb", node_processes={"pinger": PINGER}).start()
    try:
        assert httpx.get(f"{node.url}/~node-process@1.0/pinger/id").text == pid
    finally:
        node.stop()

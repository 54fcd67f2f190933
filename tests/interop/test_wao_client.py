"""WAO's client against a real node: spawn a process and schedule messages to it.

The published npm package wao (0.35.7) has an ``HB`` class (esm/hb.js) that signs
with hbsig 0.1.5; tests/js/wao_hb.mjs uses it to spawn a process
(``POST /~process@1.0/schedule``) and schedule three messages
(``POST /<pid>/schedule``), two with tags only and one with data. The node must
verify those signed requests, answer the process ID the client computed, and
list the four assignments in order. (compute, now, message and getJSON are not
used: they need ``~json@1.0/serialize``.)
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from hyperbeam.crypto.wallet import Wallet
from tests.conftest import RunningNode, start_node, stop_node
from tests.interop.js import run_script

ID = re.compile(r"^[A-Za-z0-9_-]{43}$")
DATA = "hello from wao"


@pytest.fixture(scope="module")
def wao_node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningNode]:
    running = start_node(tmp_path_factory.mktemp("wao-node"))
    yield running
    stop_node(running)


@pytest.fixture(scope="module")
def client_wallet() -> Wallet:
    return Wallet.generate()


@pytest.fixture(scope="module")
def wao(wao_node: RunningNode, client_wallet: Wallet) -> dict[str, Any]:
    result: dict[str, Any] = run_script(
        "wao_hb.mjs", {"url": wao_node.url, "jwk": client_wallet.to_jwk()}, package="wao"
    )
    assert "error" not in result, result
    return result


@pytest.fixture(scope="module")
def aos2_schedule(wao_node: RunningNode, wao: dict[str, Any]) -> dict[str, Any]:
    res = httpx.get(
        f"{wao_node.url}/{wao['pid']}/schedule",
        params={"from": "0", "to": "3"},
        headers={"accept": "application/aos-2"},
    )
    assert res.status_code == 200, res.text
    page: dict[str, Any] = res.json()
    return page


def _tags(item: dict[str, Any]) -> dict[str, str]:
    return {tag["name"]: tag["value"] for tag in item["Tags"]}


def test_client_reads_the_node_address(
    wao: dict[str, Any], wao_node: RunningNode, client_wallet: Wallet
) -> None:
    address = httpx.get(f"{wao_node.url}/~meta@1.0/info").headers["address"]
    assert wao["operator"] == address
    assert wao["address"] == client_wallet.address


def test_spawn_returns_the_process_id_the_client_signed(wao: dict[str, Any]) -> None:
    pid = wao["pid"]
    assert isinstance(pid, str) and ID.match(pid), pid
    # base64url, mixed case, as the client computed it: never lower-cased.
    assert pid != pid.lower()
    assert pid in wao["spawn"]["ids"]
    assert wao["spawn"]["status"] == 200
    out = wao["spawn"]["out"]
    assert out["process"] == pid
    assert out["slot"] == 0
    assert out["variant"] == "ao.N.1"


def test_scheduled_messages_get_slots_in_order(wao: dict[str, Any]) -> None:
    scheduled = wao["scheduled"]
    assert [step["slot"] for step in scheduled] == [1, 2, 3]
    for step in scheduled:
        assert step["status"] == 200
        assert step["out"]["process"] == wao["pid"]
        assert step["out"]["slot"] == step["slot"]
    # Three different messages (the two Pings differ in their signatures).
    assert len({step["ids"][0] for step in scheduled}) == 3


def test_node_reports_the_process_and_its_current_slot(
    wao: dict[str, Any], wao_node: RunningNode
) -> None:
    res = httpx.get(f"{wao_node.url}/{wao['pid']}/slot")
    assert res.status_code == 200, res.text
    assert res.headers["process"] == wao["pid"]
    assert res.headers["current"] == "3"


def test_schedule_lists_the_four_assignments(
    wao: dict[str, Any], aos2_schedule: dict[str, Any], client_wallet: Wallet
) -> None:
    pid = wao["pid"]
    assert aos2_schedule["page_info"]["process"] == pid
    assert aos2_schedule["page_info"]["has_next_page"] is False
    edges = aos2_schedule["edges"]
    assert [edge["cursor"] for edge in edges] == [0, 1, 2, 3]
    replies = [wao["spawn"], *wao["scheduled"]]
    for slot, (edge, reply) in enumerate(zip(edges, replies, strict=True)):
        assignment, message = edge["node"]["assignment"], edge["node"]["message"]
        tags = _tags(assignment)
        assert tags["Slot"] == str(slot)
        assert tags["Process"] == pid
        # The assignment listed is the one the client got back when scheduling.
        assert tags["Hash-Chain"] == reply["out"]["hash-chain"]
        # The message is the one the client signed: its ID and its signer.
        assert message["Id"] in reply["ids"]
        assert message["Owner"] == client_wallet.address
    assert edges[0]["node"]["message"]["Id"] == pid
    assert _tags(edges[0]["node"]["message"])["Type"] == "Process"
    for edge, step in zip(edges[1:], wao["scheduled"], strict=True):
        message = edge["node"]["message"]
        assert message["Id"] == step["ids"][0]
        assert message["Target"] == pid
        assert _tags(message)["Action"] == "Ping"
        assert _tags(message)["Type"] == "Message"
    assert [edge["node"]["message"]["Data"] for edge in edges] == ["", "", "", DATA]


def test_node_is_still_alive(wao: dict[str, Any], wao_node: RunningNode) -> None:
    assert wao_node.alive()
    assert httpx.get(f"{wao_node.url}/{wao['pid']}/slot").status_code == 200

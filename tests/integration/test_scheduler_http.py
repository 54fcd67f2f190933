"""Processes and their scheduler over real HTTP, against real node processes.

Ports of dev_scheduler.erl's HTTP tests (http_post_schedule_test,
http_get_schedule_test_, http_get_json_schedule_test_, register_scheduler_test)
and the user flows of dev_process.erl (http_wasm_process_by_id_test,
aos_state_access_via_http_test_, with test devices in place of WASM).
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from hyperbeam.crypto.wallet import Wallet
from hyperbeam.http import client
from hyperbeam.message import commit
from hyperbeam.message.ids import human_id
from hyperbeam.scheduler import verify_chain
from tests.conftest import RunningNode, start_node, stop_node
from tests.processes import scheduler_test_process


@pytest.fixture(scope="module")
def sched_node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningNode]:
    running = start_node(tmp_path_factory.mktemp("sched"))
    yield running
    stop_node(running)


@pytest.fixture(scope="module")
def operator(sched_node: RunningNode) -> Wallet:
    """The node's own key (the operator holds it)."""
    return Wallet.load(sched_node.data_dir / "wallet.json")


@pytest.fixture(scope="module")
def user() -> Wallet:
    return Wallet.generate()


def post_signed(node: RunningNode, msg: dict[str, Any], wallet: Wallet) -> tuple[str, Any]:
    return client.post(node.url, commit.commit(msg, wallet))


def get_slot(node: RunningNode, pid: str) -> int:
    status, res = client.get(node.url, {"path": "/~scheduler@1.0/slot", "target": pid})
    assert status == "ok", res
    return int(res["current"])


def test_http_post_schedule(sched_node: RunningNode, operator: Wallet, user: Wallet) -> None:
    """Upstream: dev_scheduler.erl http_post_schedule_test."""
    pmsg = commit.commit(scheduler_test_process(operator.address), user)
    pid = human_id(commit.id(pmsg, "all"))
    status, res = post_signed(
        sched_node, {"path": "/~scheduler@1.0/schedule", "method": "POST", "body": pmsg}, user
    )
    assert status == "ok", res
    assert res["slot"] == 0
    body = commit.commit({"inner": "test-message", "target": pid, "type": "Message"}, user)
    status, res = post_signed(
        sched_node, {"path": "/~scheduler@1.0/schedule", "method": "POST", "body": body}, user
    )
    assert status == "ok", res
    assert res["body"]["inner"] == "test-message"
    assert res["process"] == pid
    assert commit.verify(res)
    assert get_slot(sched_node, pid) == 1


def test_http_get_schedule_both_formats(
    sched_node: RunningNode, operator: Wallet, user: Wallet
) -> None:
    """Upstream: dev_scheduler.erl http_get_schedule_test_ and
    http_get_json_schedule_test_."""
    pmsg = commit.commit(scheduler_test_process(operator.address), user)
    pid = human_id(commit.id(pmsg, "all"))
    post = {"path": "/~scheduler@1.0/schedule", "method": "POST", "body": pmsg}
    assert post_signed(sched_node, post, user)[0] == "ok"
    inner = commit.commit({"inner": "test", "target": pid}, user)
    for _ in range(10):
        res = post_signed(
            sched_node, {"path": "/~scheduler@1.0/schedule", "method": "POST", "body": inner}, user
        )
        assert res[0] == "ok", res
    assert get_slot(sched_node, pid) == 10
    query = {"path": "/~scheduler@1.0/schedule", "target": pid, "from": 0, "to": 10}
    status, schedule = client.get(sched_node.url, query)
    assert status == "ok", schedule
    assignments = schedule["assignments"]
    # Upstream counts 12: its map also holds a hashpath key.
    assert sorted(int(k) for k in assignments) == list(range(11))
    ordered = [assignments[str(n)] for n in range(11)]
    assert verify_chain(ordered)
    status, aos2 = client.get(sched_node.url, {**query, "accept": "application/aos-2"})
    assert status == "ok", aos2
    page = json.loads(aos2["body"])
    assert len(page["edges"]) == 11
    assert [edge["cursor"] for edge in page["edges"]] == list(range(11))
    # A page in the middle.
    status, part = client.get(sched_node.url, {**query, "from": 4, "to": 6})
    assert sorted(int(k) for k in part["assignments"]) == [4, 5, 6]


def test_register_scheduler_location(sched_node: RunningNode, operator: Wallet) -> None:
    """Upstream: dev_scheduler.erl register_scheduler_test."""
    req = {
        "path": "/~scheduler@1.0/location",
        "url": "https://hyperbeam-test-ignore.com",
        "method": "POST",
        "nonce": 1,
    }
    status, res = post_signed(sched_node, req, operator)
    assert status == "ok", res
    assert res["url"] == "https://hyperbeam-test-ignore.com"
    assert commit.signers(res) == [operator.address] or operator.address in commit.signers(res)
    status, got = client.get(
        sched_node.url, {"path": "/~scheduler@1.0/location", "address": operator.address}
    )
    assert status == "ok"
    assert got["body"]["nonce"] == 1
    # An older nonce is refused.
    status, res = post_signed(sched_node, {**req, "nonce": 1}, operator)
    assert res["status"] == 400


def test_unknown_process_and_bad_requests_get_clear_errors(
    sched_node: RunningNode, user: Wallet
) -> None:
    unknown = human_id(random.randbytes(32))
    res = httpx.get(f"{sched_node.url}/~scheduler@1.0/slot?target={unknown}", timeout=30)
    assert res.status_code == 404
    assert b"not known" in res.content
    res = httpx.get(f"{sched_node.url}/~scheduler@1.0/schedule?target={unknown}&from=x")
    assert res.status_code in (400, 404)
    res = httpx.get(f"{sched_node.url}/~scheduler@1.0/location?address=nope", timeout=30)
    assert res.status_code == 400 and b"not a scheduler address" in res.content
    assert httpx.get(f"{sched_node.url}/~meta@1.0/info").status_code == 200


def test_bad_compute_and_push_requests(
    sched_node: RunningNode, operator: Wallet, user: Wallet
) -> None:
    proc = ping_process(operator.address, user)
    pid = human_id(commit.id(proc, "all"))
    post = {"path": "/~scheduler@1.0/schedule", "method": "POST", "body": proc}
    assert post_signed(sched_node, post, user)[0] == "ok"
    base = f"{sched_node.url}/{pid}~process@1.0"
    expected = {
        "/compute&slot=-5": (400, b"slot must be -1"),
        "/compute&slot=abc": (400, b"slot must be an integer"),
        "/compute&slot=7": (503, b"No assignment found for next slot"),
    }
    for path, (code, reason) in expected.items():
        res = httpx.get(base + path, timeout=30)
        assert res.status_code == code, (path, res.content)
        assert reason in res.content
    res = httpx.post(f"{base}/push?slot=zz", timeout=30)
    assert res.status_code == 400
    res = httpx.get(f"{sched_node.url}/~process@1.0/compute&slot=1", timeout=30)
    assert res.status_code == 422 and b"execution-device" in res.content
    # The process still computes.
    assert httpx.get(f"{base}/compute&slot=0/pings", timeout=30).content == b"0"


# --- processes, as a user drives them --------------------------------------------------


def ping_process(address: str, wallet: Wallet, **extra: Any) -> dict[str, Any]:
    return commit.commit(
        {
            "device": "process@1.0",
            "scheduler-device": "scheduler@1.0",
            "scheduler": address,
            "type": "Process",
            "execution-device": "stack@1.0",
            "device-stack": ["test-ping@1.0", "patch@1.0"],
            "patch-from": "/results/outbox",
            "patch-to": "/cache",
            "test-random-seed": random.randint(1, 1_000_000),
            **extra,
        },
        wallet,
    )


def test_process_flow_over_http(sched_node: RunningNode, operator: Wallet, user: Wallet) -> None:
    """Create a process with a signed POST, schedule to it, read its slot, its
    state at a slot, ``now`` and its patched ``cache``."""
    proc = ping_process(operator.address, user)
    pid = human_id(commit.id(proc, "all"))
    status, res = post_signed(
        sched_node, {"path": "/~scheduler@1.0/schedule", "method": "POST", "body": proc}, user
    )
    assert status == "ok", res
    messages = [
        {"action": "Ping"},
        {"action": "Set", "key": "fruit", "value": "banana"},
        {"action": "Ping"},
    ]
    for msg in messages:
        signed = commit.commit({"type": "Message", "target": pid, **msg}, user)
        status, res = client.post(
            sched_node.url, {**signed, "path": f"/{pid}~process@1.0/schedule"}
        )
        assert status == "ok", res
    slot = httpx.get(f"{sched_node.url}/{pid}~process@1.0/slot", timeout=30)
    assert slot.status_code == 200
    assert get_slot(sched_node, pid) == 3
    res = httpx.get(f"{sched_node.url}/{pid}~process@1.0/compute&slot=1/pings", timeout=30)
    assert res.status_code == 200 and res.content == b"1", res.content
    res = httpx.get(f"{sched_node.url}/{pid}~process@1.0/now/pings", timeout=30)
    assert res.status_code == 200 and res.content == b"2"
    res = httpx.get(f"{sched_node.url}/{pid}~process@1.0/compute/cache/fruit", timeout=30)
    assert res.status_code == 200 and res.content == b"banana"
    status, state = client.get(sched_node.url, {"path": f"/{pid}~process@1.0/compute", "slot": 2})
    assert status == "ok"
    assert state["at-slot"] == 2 and state["results"]["data"] == "Set"


def test_process_push_over_http(sched_node: RunningNode, operator: Wallet, user: Wallet) -> None:
    """Upstream: dev_push.erl full_push_test_ and multi_process_push_test_, with
    test-ping@1.0 in place of the AOS scripts."""
    procs = [ping_process(operator.address, user) for _ in range(2)]
    pids = [human_id(commit.id(p, "all")) for p in procs]
    for proc in procs:
        post = {"path": "/~scheduler@1.0/schedule", "method": "POST", "body": proc}
        assert post_signed(sched_node, post, user)[0] == "ok"
    # A self ping-pong: three pings, each scheduled by the push of the one before.
    loop = commit.commit(
        {"type": "Message", "target": pids[0], "action": "Ping", "count": 1, "limit": 3}, user
    )
    status, assignment = client.post(sched_node.url, {**loop, "path": f"/{pids[0]}/schedule"})
    assert status == "ok", assignment
    status, pushed = client.post(
        sched_node.url, {"path": f"/{pids[0]}~process@1.0/push", "slot": assignment["slot"]}
    )
    assert status == "ok", pushed
    res = httpx.get(f"{sched_node.url}/{pids[0]}~process@1.0/now/results/data", timeout=30)
    assert res.content == b"Done."
    assert httpx.get(f"{sched_node.url}/{pids[0]}~process@1.0/now/pings").content == b"3"
    # One process pings the other, which answers: the answer is pushed back.
    send = commit.commit({"type": "Message", "target": pids[1], "action": "Send", "to": pids[0]},
                         user)  # fmt: skip
    status, assignment = client.post(sched_node.url, {**send, "path": f"/{pids[1]}/schedule"})
    assert status == "ok"
    status, pushed = client.post(
        sched_node.url, {"path": f"/{pids[1]}~process@1.0/push", "slot": assignment["slot"]}
    )
    assert status == "ok", pushed
    assert pushed["1"]["target"] == pids[0]
    assert pushed["1"]["resulted-in"]["1"]["target"] == pids[1]
    res = httpx.get(f"{sched_node.url}/{pids[1]}~process@1.0/now/results/data", timeout=30)
    assert res.content == b"GOT PONG"
    # The pong came from the first process, signed by the node that pushed it.
    status, page = client.get(
        sched_node.url, {"path": f"/{pids[1]}~process@1.0/schedule", "from": 1}
    )
    # Slot 0 is the process itself, 1 the Send, 2 the answer.
    assert sorted(page["assignments"]) == ["1", "2"]
    pong = page["assignments"]["2"]["body"]
    assert pong["from-process"] == pids[0] and pong["action"] == "Pong"
    assert commit.signers(pong) == [operator.address]


def test_push_to_an_unknown_target_reports_it(
    sched_node: RunningNode, operator: Wallet, user: Wallet
) -> None:
    proc = ping_process(operator.address, user)
    pid = human_id(commit.id(proc, "all"))
    post = {"path": "/~scheduler@1.0/schedule", "method": "POST", "body": proc}
    assert post_signed(sched_node, post, user)[0] == "ok"
    nowhere = human_id(random.randbytes(32))
    send = commit.commit({"type": "Message", "target": pid, "action": "Send", "to": nowhere}, user)
    status, assignment = client.post(sched_node.url, {**send, "path": f"/{pid}/schedule"})
    status, pushed = client.post(
        sched_node.url, {"path": f"/{pid}~process@1.0/push", "slot": assignment["slot"]}
    )
    assert status == "ok"
    assert pushed["1"]["status"] == 404 and pushed["1"]["target"] == nowhere


def test_dynamic_answers_are_never_served_stale(
    sched_node: RunningNode, operator: Wallet, user: Wallet
) -> None:
    """The node caches every HTTP result, but a slot, a process's latest state
    (and what is read from it) and a schedule POST are answered afresh."""
    proc = ping_process(operator.address, user)
    pid = human_id(commit.id(proc, "all"))
    post = {"path": "/~scheduler@1.0/schedule", "method": "POST", "body": proc}
    assert post_signed(sched_node, post, user)[0] == "ok"
    ping = commit.commit({"type": "Message", "target": pid, "action": "Ping"}, user)
    # The very same request, twice: two slots.
    request = commit.commit({"path": "/~scheduler@1.0/schedule", "method": "POST", "body": ping},
                            user)  # fmt: skip
    slots = [client.post(sched_node.url, request)[1]["slot"] for _ in range(2)]
    assert slots == [1, 2]
    now = f"{sched_node.url}/{pid}~process@1.0/now/pings"
    assert httpx.get(now, timeout=30).content == b"2"
    assert get_slot(sched_node, pid) == 2
    assert client.post(sched_node.url, request)[1]["slot"] == 3
    assert get_slot(sched_node, pid) == 3
    assert httpx.get(now, timeout=30).content == b"3"

"""``scheduler@1.0``: the eunit tests of dev_scheduler.erl, dev_scheduler_server.erl
and dev_scheduler_registry.erl, in-process against a real node (LMDB store,
real signatures). The HTTP tests of dev_scheduler.erl are in
``tests/integration/test_scheduler_http.py``.
"""

from __future__ import annotations

import json
import random
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hyperbeam.ao.resolve import NOT_FOUND, get, resolve
from hyperbeam.config import NodeConfig
from hyperbeam.crypto.wallet import Wallet
from hyperbeam.message import commit
from hyperbeam.message.ids import human_id
from hyperbeam.node import Node
from hyperbeam.scheduler import verify_chain
from hyperbeam.scheduler.server import SchedulerRegistry
from tests.processes import scheduler_test_process


@pytest.fixture
def node(tmp_path: Path) -> Iterator[Node]:
    running = Node(NodeConfig(data_dir=tmp_path, gateway=""))
    running.prepare()
    yield running
    running.close()


def schedule_post(body: dict[str, Any]) -> dict[str, Any]:
    return {"path": "schedule", "method": "POST", "body": body}


def test_status(node: Node) -> None:
    """Upstream: dev_scheduler.erl status_test."""
    status = get("status", scheduler_test_process(node.address or ""), node.opts())
    assert isinstance(status["processes"], list)
    assert status["address"] == node.address


def test_register_new_process(node: Node) -> None:
    """Upstream: dev_scheduler.erl register_new_process_test."""
    msg1 = scheduler_test_process(node.address or "")
    status, assignment = resolve(msg1, schedule_post(msg1), node.opts())
    assert status == "ok"
    assert assignment["slot"] == 0
    processes = get("status", msg1, node.opts())["processes"]
    assert human_id(commit.id(msg1, "all")) in processes
    # The process can now be loaded by its ID.
    assert node.load_message(human_id(commit.id(msg1, "all"))) is not None


def test_schedule_message_and_get_slot(node: Node) -> None:
    """Upstream: dev_scheduler.erl schedule_message_and_get_slot_test."""
    msg1 = scheduler_test_process(node.address or "")
    assert node.wallet is not None
    msg2 = schedule_post(commit.commit({"type": "Message", "test-key": "true"}, node.wallet))
    assert resolve(msg1, msg2, node.opts())[0] == "ok"
    assert resolve(msg1, msg2, node.opts())[0] == "ok"
    msg3 = {"path": "slot", "method": "GET", "process": human_id(commit.id(msg1))}
    status, slot = resolve(msg1, msg3, node.opts())
    assert status == "ok"
    assert slot["current"] == 1


def test_redirect_to_hint(node: Node) -> None:
    """Upstream: dev_scheduler.erl redirect_to_hint_test."""
    rand_addr = human_id(random.randbytes(32))
    msg1 = scheduler_test_process(f"{rand_addr}?hint=http://test.computer")
    opts = {**node.opts(), "scheduler_follow_redirects": False}
    status, res = resolve(msg1, schedule_post(msg1), opts)
    assert status == "ok"
    assert res["location"] == "http://test.computer"
    assert res["status"] == 307


def test_unknown_scheduler_without_location_is_an_error(node: Node) -> None:
    """A process scheduled elsewhere whose location is unknown: a clear 502."""
    msg1 = scheduler_test_process(human_id(random.randbytes(32)))
    status, res = resolve(msg1, schedule_post(msg1), {**node.opts(), "error_strategy": "stop"})
    assert status == "error"
    assert res["status"] == 502
    assert "no location known" in res["body"]


def test_get_local_schedule(node: Node) -> None:
    """Upstream: dev_scheduler.erl get_local_schedule_test."""
    msg1 = scheduler_test_process(node.address or "")
    assert node.wallet is not None
    for value in ("Test-Val", "Test-Val-2"):
        body = commit.commit({"type": "Message", "test-key": value}, node.wallet)
        assert resolve(msg1, schedule_post(body), node.opts())[0] == "ok"
    req = {"method": "GET", "path": "schedule", "target": human_id(commit.id(msg1))}
    status, schedule = resolve(msg1, req, node.opts())
    assert status == "ok"
    assert schedule["type"] == "schedule"
    assert [a["body"]["test-key"] for a in schedule["assignments"].values()] == [
        "Test-Val",
        "Test-Val-2",
    ]
    assert verify_chain(list(schedule["assignments"].values()))


def test_schedule_as_aos2_json(node: Node) -> None:
    """The aos-2 form of the same schedule (http_get_json_schedule_test, in-process)."""
    msg1 = scheduler_test_process(node.address or "")
    assert node.wallet is not None
    body = commit.commit({"type": "Message", "inner": "test"}, node.wallet)
    for _ in range(3):
        assert resolve(msg1, schedule_post(body), node.opts())[0] == "ok"
    req = {"method": "GET", "path": "schedule", "accept": "application/aos-2", "from": 1}
    status, res = resolve(msg1, req, node.opts())
    assert status == "ok"
    page = json.loads(res["body"])
    assert [edge["cursor"] for edge in page["edges"]] == [1, 2]
    assert page["page_info"]["has_next_page"] is False


def test_forged_message_is_refused_and_extra_keys_dropped(node: Node) -> None:
    msg1 = scheduler_test_process(node.address or "")
    assert node.wallet is not None
    signed = commit.commit({"type": "Message", "test-key": "a"}, node.wallet)
    # A committed value changed: the signature no longer holds.
    status, res = resolve(msg1, schedule_post({**signed, "test-key": "b"}), node.opts())
    assert status == "error"
    assert res["status"] == 400
    # A key added outside the signature is not scheduled.
    status, res = resolve(msg1, schedule_post({**signed, "extra": "x"}), node.opts())
    assert status == "ok"
    assert "extra" not in res["body"]
    assert res["body"]["test-key"] == "a"


# --- dev_scheduler_server.erl / dev_scheduler_registry.erl ---------------------------


def test_new_proc(node: Node) -> None:
    """Upstream: dev_scheduler_server.erl new_proc_test_."""
    wallet = Wallet.generate()
    item1 = commit.commit({"data": "test", "random-key": random.randint(1, 10000)}, wallet)
    item2 = commit.commit({"data": "test2"}, wallet)
    item3 = commit.commit({"data": "test2", "deep-key": {"data": "test3"}}, wallet)
    assert node.schedulers is not None
    pid = human_id(commit.id(item1))
    server = node.schedulers.find(pid, start=True)
    assert server is not None
    for item in (item1, item2, item3):
        server.schedule(item)
    assert server.current == 2


def test_registry(node: Node) -> None:
    """Upstream: dev_scheduler_registry.erl find_non_existent_process_test,
    create_and_find_process_test, create_multiple_processes_test,
    get_all_processes_test."""
    assert node.store is not None and node.wallet is not None
    registry = SchedulerRegistry(node.store, node.wallet)
    pid1, pid2 = human_id(bytes(32)), human_id(bytes(31) + b"\x01")
    assert registry.find(pid1) is None
    server1 = registry.find(pid1, start=True)
    assert server1 is not None and registry.find(pid1) is server1
    server2 = registry.find(pid2, start=True)
    assert server2 is not None and server2 is not server1
    assert {pid1, pid2} <= set(registry.processes())


def test_restart_continues_at_the_next_slot(tmp_path: Path) -> None:
    """A new node on the same data directory continues the schedule and its chain."""
    config = NodeConfig(data_dir=tmp_path, gateway="")
    first = Node(config)
    first.prepare()
    msg1 = scheduler_test_process(first.address or "")
    assert first.wallet is not None
    body = commit.commit({"type": "Message", "n": 1}, first.wallet)
    for _ in range(3):
        assert resolve(msg1, schedule_post(body), first.opts())[0] == "ok"
    first.close()
    second = Node(config)
    second.prepare()
    status, assignment = resolve(msg1, schedule_post(body), second.opts())
    assert status == "ok" and assignment["slot"] == 3
    status, schedule = resolve(msg1, {"path": "schedule", "method": "GET"}, second.opts())
    assert status == "ok"
    assert verify_chain(list(schedule["assignments"].values()))
    second.close()


def test_concurrent_posts_never_share_a_slot(node: Node) -> None:
    msg1 = scheduler_test_process(node.address or "")
    assert node.wallet is not None
    slots: list[int] = []
    lock = threading.Lock()

    def worker(n: int) -> None:
        for i in range(10):
            body = commit.commit({"type": "Message", "n": n * 100 + i}, node.wallet)  # type: ignore[arg-type]
            status, assignment = resolve(msg1, schedule_post(body), node.opts())
            assert status == "ok"
            with lock:
                slots.append(assignment["slot"])

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(slots) == list(range(80))
    status, schedule = resolve(msg1, {"path": "schedule", "method": "GET"}, node.opts())
    assert status == "ok"
    assert verify_chain(list(schedule["assignments"].values()))


def test_single_resolution_benchmark(node: Node) -> None:
    """Upstream: dev_scheduler.erl single_resolution (run by benchmark_suite_test_):
    schedule one pre-signed message repeatedly, then slot/current == N - 1.
    The timing figure is in bench/b9_scheduler.py; here only its assertion."""
    msg1 = scheduler_test_process(node.address or "")
    assert node.wallet is not None
    body = commit.commit({"type": "Message", "test-key": "test-val"}, node.wallet)
    iterations = 20
    for _ in range(iterations):
        assert resolve(msg1, schedule_post(body), node.opts())[0] == "ok"
    status, slot = resolve(
        msg1, {"path": "slot", "method": "GET", "process": human_id(commit.id(msg1))}, node.opts()
    )
    assert status == "ok"
    assert slot["current"] == iterations - 1
    assert get("current", slot, node.opts()) != NOT_FOUND

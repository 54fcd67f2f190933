"""``process@1.0``: the eunit tests of dev_process.erl and dev_process_cache.erl
that use test devices (those that run AOS belong to the WASM issue), in-process
against a real node (LMDB store, real signatures).
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hyperbeam.ao.resolve import NOT_FOUND, get, resolve
from hyperbeam.cache_control import BACKGROUND
from hyperbeam.config import NodeConfig
from hyperbeam.crypto.wallet import Wallet
from hyperbeam.devices.process import ProcessDevice
from hyperbeam.message import commit
from hyperbeam.message.commit import match
from hyperbeam.message.ids import human_id
from hyperbeam.node import Node, checkpoint_processes
from hyperbeam.process import cache as process_cache
from hyperbeam.store.lmdb import LmdbStore


def start(path: Path, **settings: Any) -> Node:
    node = Node(NodeConfig(data_dir=path, gateway="", **settings))
    node.prepare()
    return node


@pytest.fixture
def node(tmp_path: Path) -> Iterator[Node]:
    running = start(tmp_path)
    yield running
    running.close()


def base_process(wallet: Wallet, **extra: Any) -> dict[str, Any]:
    """Upstream: dev_process.erl test_base_process/1 (plus ``extra`` keys)."""
    return commit.commit(
        {
            "device": "process@1.0",
            "scheduler-device": "scheduler@1.0",
            "scheduler-location": wallet.address,
            "type": "Process",
            "test-random-seed": random.randint(1, 1337),
            **extra,
        },
        wallet,
    )


def dev_test_process(wallet: Wallet) -> dict[str, Any]:
    """Upstream: dev_process.erl dev_test_process/0."""
    return base_process(
        wallet,
        **{"execution-device": "stack@1.0", "device-stack": ["test-device@1.0"] * 2},
    )


def schedule_test_message(node: Node, proc: dict[str, Any], text: str) -> dict[str, Any]:
    """Upstream: dev_process.erl schedule_test_message/3."""
    wallet = node.wallet
    assert wallet is not None
    body = commit.commit({"type": "Message", "test-label": text}, wallet)
    msg2 = commit.commit({"path": "schedule", "method": "POST", "body": body}, wallet)
    status, assignment = resolve(proc, msg2, node.opts())
    assert status == "ok", assignment
    result: dict[str, Any] = assignment
    return result


def test_schedule_on_process(node: Node) -> None:
    """Upstream: dev_process.erl schedule_on_process_test (with the keys of
    test_aos_process; scheduling needs no execution device)."""
    assert node.wallet is not None
    proc = base_process(
        node.wallet,
        **{
            "execution-device": "stack@1.0",
            "device-stack": ["WASI@1.0", "JSON-Iface@1.0", "WASM-64@1.0", "Multipass@1.0"],
            "scheduler": node.wallet.address,
            "authority": node.wallet.address,
        },
    )
    schedule_test_message(node, proc, "TEST TEXT 1")
    schedule_test_message(node, proc, "TEST TEXT 2")
    status, schedule = resolve(proc, {"method": "GET", "path": "schedule"}, node.opts())
    assert status == "ok"
    assert get("assignments/0/body/test-label", schedule, node.opts()) == "TEST TEXT 1"
    assert get("assignments/1/body/test-label", schedule, node.opts()) == "TEST TEXT 2"


def test_get_scheduler_slot(node: Node) -> None:
    """Upstream: dev_process.erl get_scheduler_slot_test."""
    assert node.wallet is not None
    proc = base_process(node.wallet)
    schedule_test_message(node, proc, "TEST TEXT 1")
    schedule_test_message(node, proc, "TEST TEXT 2")
    status, slot = resolve(proc, {"path": "slot", "method": "GET"}, node.opts())
    assert status == "ok" and slot["current"] == 1


def test_recursive_path_resolution(node: Node) -> None:
    """Upstream: dev_process.erl recursive_path_resolution_test."""
    assert node.wallet is not None
    proc = base_process(node.wallet)
    schedule_test_message(node, proc, "TEST TEXT 1")
    assert resolve(proc, {"path": "slot/current"}, {**node.opts(), "hashpath": "ignore"}) == (
        "ok",
        0,
    )


def test_test_device_compute(node: Node) -> None:
    """Upstream: dev_process.erl test_device_compute_test."""
    assert node.wallet is not None
    proc = dev_test_process(node.wallet)
    schedule_test_message(node, proc, "TEST TEXT 1")
    schedule_test_message(node, proc, "TEST TEXT 2")
    assert resolve(
        proc, "schedule/assignments/1/body/test-label", {**node.opts(), "hashpath": "ignore"}
    ) == ("ok", "TEST TEXT 2")
    status, msg3 = resolve(proc, {"path": "compute", "slot": 1}, node.opts())
    assert status == "ok"
    assert get("results/assignment-slot", msg3, node.opts()) == 1
    assert get("already-seen", msg3, node.opts()) == [1, 1, 0, 0]


def test_now_results_and_prior_results(node: Node) -> None:
    """Upstream: dev_process.erl now_results_test_ and
    prior_results_accessible_test_ (with test-device@1.0 in place of AOS)."""
    assert node.wallet is not None
    proc = dev_test_process(node.wallet)
    schedule_test_message(node, proc, "one")
    schedule_test_message(node, proc, "two")
    assert resolve(proc, "now/results/assignment-slot", node.opts()) == ("ok", 1)
    status, at_1 = resolve(proc, {"path": "compute", "slot": 1}, node.opts())
    assert status == "ok" and at_1["results"] == {"assignment-slot": 1}
    status, at_0 = resolve(proc, {"path": "compute", "slot": 0}, node.opts())
    assert status == "ok" and at_0["already-seen"] == [0, 0]


def test_compute_without_slot_serves_the_latest_computed_state(node: Node) -> None:
    assert node.wallet is not None
    proc = dev_test_process(node.wallet)
    for text in ("a", "b", "c"):
        schedule_test_message(node, proc, text)
    assert resolve(proc, {"path": "compute", "slot": 1}, node.opts())[0] == "ok"
    status, latest = resolve(proc, {"path": "compute"}, node.opts())
    assert status == "ok" and latest["at-slot"] == 1


def test_compute_past_the_schedule_is_a_clear_error(node: Node) -> None:
    assert node.wallet is not None
    proc = dev_test_process(node.wallet)
    schedule_test_message(node, proc, "only")
    status, res = resolve(proc, {"path": "compute", "slot": 3}, node.opts())
    assert status == "error"
    assert res["status"] == 503
    assert res["phase"] == "get-schedule" and res["attempted-slot"] == 1


class CountingSteps:
    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.steps = 0
        original = ProcessDevice._compute_slot

        def counted(device: ProcessDevice, *args: Any) -> Any:
            self.steps += 1
            return original(device, *args)

        monkeypatch.setattr(ProcessDevice, "_compute_slot", counted)


def test_next_slot_costs_one_step_also_after_a_restart(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Upstream: dev_process.erl persistent_process_test (timing) and
    restore_test_ (do_test_restore): the state is kept in memory and in the
    store, so slot N + 1 after slot N is one step, also on a new node."""
    counter = CountingSteps(monkeypatch)
    first = start(tmp_path)
    assert first.wallet is not None
    proc = dev_test_process(first.wallet)
    for n in range(8):
        schedule_test_message(first, proc, f"m{n}")
    assert resolve(proc, {"path": "compute", "slot": 5}, first.opts())[0] == "ok"
    assert counter.steps == 6
    assert resolve(proc, {"path": "compute", "slot": 6}, first.opts())[0] == "ok"
    assert counter.steps == 7
    first.close()
    second = start(tmp_path)
    status, state = resolve(proc, {"path": "compute", "slot": 7}, second.opts())
    assert status == "ok"
    assert counter.steps == 8
    assert state["already-seen"] == [n for s in range(7, -1, -1) for n in (s, s)]
    second.close()


def test_cache_frequency(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With ``process_cache_frequency = 3`` only slots 0, 3, 6 carry a
    snapshot while the node runs; stopping it snapshots its last state
    (slot 7), from which a new node computing slot 8 resumes."""
    counter = CountingSteps(monkeypatch)
    first = start(tmp_path, process_cache_frequency=3)
    assert first.wallet is not None
    proc = dev_test_process(first.wallet)
    for n in range(9):
        schedule_test_message(first, proc, f"m{n}")
    assert resolve(proc, {"path": "compute", "slot": 7}, first.opts())[0] == "ok"
    pid = human_id(commit.id(proc, "all"))
    assert first.store is not None
    BACKGROUND.drain()  # states are stored on the background writer
    snapshots = [
        s
        for s in range(8)
        if process_cache.latest(pid, first.store, "snapshot", s)[0] == s  # type: ignore[index]
    ]
    assert snapshots == [0, 3, 6]
    first.close()
    counter.steps = 0
    second = start(tmp_path, process_cache_frequency=3)
    assert second.store is not None
    assert process_cache.latest_snapshot(pid, second.store, 8)[0] == 7  # type: ignore[index]
    assert process_cache.latest_snapshot(pid, second.store, 6)[0] == 6  # type: ignore[index]
    status, state = resolve(proc, {"path": "compute", "slot": 8}, second.opts())
    assert status == "ok" and state["already-seen"][:2] == [8, 8]
    assert counter.steps == 1  # slot 8, from the shutdown snapshot of slot 7
    second.close()


def test_patch_exposes_state(node: Node) -> None:
    """Upstream: dev_process.erl aos_state_patch_test_ (test-ping@1.0 sends the
    PATCH message that AOS would)."""
    assert node.wallet is not None
    proc = base_process(
        node.wallet,
        **{
            "execution-device": "stack@1.0",
            "device-stack": ["test-ping@1.0", "patch@1.0"],
            "patch-from": "/results/outbox",
            "patch-to": "/cache",
        },
    )
    body = commit.commit({"type": "Message", "action": "Set", "key": "x", "value": "banana"},
                         node.wallet)  # fmt: skip
    status, _ = resolve(proc, {"path": "schedule", "method": "POST", "body": body}, node.opts())
    assert status == "ok"
    status, state = resolve(proc, {"path": "compute", "slot": 0}, node.opts())
    assert status == "ok"
    assert get("cache/x", state, node.opts()) == "banana"
    assert get("results/outbox/1", state, node.opts()) == NOT_FOUND


def test_one_computation_per_process_at_a_time(node: Node) -> None:
    """Concurrent computes of one process agree, and every slot is computed once."""
    import threading

    assert node.wallet is not None
    proc = dev_test_process(node.wallet)
    for n in range(6):
        schedule_test_message(node, proc, f"m{n}")
    results: list[Any] = []

    def compute(slot: int) -> None:
        results.append(resolve(proc, {"path": "compute", "slot": slot}, node.opts()))

    threads = [threading.Thread(target=compute, args=(s % 6,)) for s in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(status == "ok" for status, _ in results)
    for _, state in results:
        slot = state["at-slot"]
        assert state["already-seen"] == [n for s in range(slot, -1, -1) for n in (s, s)]


# --- dev_process_cache.erl ---------------------------------------------------------


def test_write_and_read_output(tmp_path: Path) -> None:
    """Upstream: dev_process_cache.erl test_write_and_read_output."""
    store = LmdbStore(tmp_path / "lmdb")
    wallet = Wallet.generate()
    proc = commit.commit({"test-item": {"data": "test-body-data"}}, wallet)
    pid = human_id(commit.id(proc))
    item1 = commit.commit({"data": "Simple signed output #1"}, wallet)
    item2 = {"data": "Simple unsigned output #2"}
    path0 = process_cache.write(pid, 0, item1, store)
    path1 = process_cache.write(pid, 1, item2, store)
    from hyperbeam import cache

    assert match(item1, cache.read(path0, store))  # type: ignore[arg-type]
    assert match(item2, cache.read(path1, store))  # type: ignore[arg-type]
    assert match(item1, process_cache.read(pid, 0, store))  # type: ignore[arg-type]
    assert match(item2, process_cache.read(pid, 1, store))  # type: ignore[arg-type]
    assert match(item1, process_cache.read(pid, human_id(commit.id(item1)), store))  # type: ignore[arg-type]
    assert match(item2, process_cache.read(pid, human_id(commit.id(item2, "all")), store))  # type: ignore[arg-type]
    store.stop()


def test_find_latest_outputs(tmp_path: Path) -> None:
    """Upstream: dev_process_cache.erl find_latest_outputs."""
    store = LmdbStore(tmp_path / "lmdb")
    proc1 = base_process(Wallet.generate())
    pid = human_id(commit.id(proc1))
    msg0 = {"results": {"result-number": 0}}
    msg1 = {"results": {"result-number": 1}, "process": proc1}
    msg2 = {"results": {"result-number": 2}, "deep": {"process": proc1}}
    for slot, msg in enumerate((msg0, msg1, msg2)):
        process_cache.write(pid, slot, msg, store)
    slot, found = process_cache.latest(pid, store) or (None, None)
    assert slot == 2 and match(msg2, found)  # type: ignore[arg-type]
    slot, found = process_cache.latest(pid, store, "process") or (None, None)
    assert slot == 1 and match(msg1, found)  # type: ignore[arg-type]
    slot, found = process_cache.latest(pid, store, "deep/process") or (None, None)
    assert slot == 2 and match(msg2, found)  # type: ignore[arg-type]
    slot, found = process_cache.latest(pid, store, None, 1) or (None, None)
    assert slot == 1 and match(msg1, found)  # type: ignore[arg-type]
    store.stop()


def test_shutdown_snapshots_within_a_budget(tmp_path: Path) -> None:
    """A stopping node snapshots its live processes, most recent first, for
    at most its budget; those left resume from their last snapshot."""
    node = start(tmp_path)
    assert node.wallet is not None and node.store is not None
    proc = dev_test_process(node.wallet)
    pid = human_id(commit.id(proc, "all"))
    for n in range(3):
        schedule_test_message(node, proc, f"m{n}")
    assert resolve(proc, {"path": "compute", "slot": 2}, node.opts())[0] == "ok"
    assert process_cache.latest_snapshot(pid, node.store)[0] == 0  # type: ignore[index]
    checkpoint_processes(node, budget=-1)  # no time at all: nothing written
    assert process_cache.latest_snapshot(pid, node.store)[0] == 0  # type: ignore[index]
    checkpoint_processes(node)
    assert process_cache.latest_snapshot(pid, node.store)[0] == 2  # type: ignore[index]
    node.close()

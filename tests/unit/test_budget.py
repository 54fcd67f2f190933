"""The per-request work budget (``hyperbeam.budget``) and the compute gate
(``hyperbeam.gate``), on the resolver with devices made for the purpose."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from hyperbeam import budget, gate
from hyperbeam.ao.device import Device, Result, key
from hyperbeam.ao.registry import DeviceRegistry
from hyperbeam.ao.resolve import resolve
from hyperbeam.errors import WorkLimitExceeded
from hyperbeam.gate import ComputeBusy, ComputeGate


class Recursive(Device):
    """``down`` resolves itself ``n`` times deeper; ``wide`` resolves
    ``down&n=0`` ``n`` times in a row."""

    name = "recursive-test@1.0"

    @key("down")
    def down(self, msg: dict[str, Any], req: dict[str, Any], opts: Any) -> Result:
        n = int(req.get("n", 0))
        if n == 0:
            return "ok", "bottom"
        return resolve({"device": self.name}, {"path": "down", "n": n - 1}, opts)

    @key("wide")
    def wide(self, msg: dict[str, Any], req: dict[str, Any], opts: Any) -> Result:
        for _ in range(int(req.get("n", 0))):
            resolve({"device": self.name}, {"path": "down", "n": 0}, opts)
        return "ok", "done"


def _opts(**limits: int) -> dict[str, Any]:
    return {
        "registry": DeviceRegistry([Recursive]),
        budget.KEY: budget.Budget(budget.Limits(**limits)),
    }


def test_nesting_past_the_depth_limit_names_the_limit() -> None:
    base = {"device": "recursive-test@1.0"}
    assert resolve(base, {"path": "down", "n": 20}, _opts(max_resolve_depth=30)) == (
        "ok",
        "bottom",
    )
    with pytest.raises(WorkLimitExceeded, match=r"nest more than 30 deep \(setting max_resolve"):
        resolve(base, {"path": "down", "n": 40}, _opts(max_resolve_depth=30))


def test_steps_past_the_limit_name_the_limit() -> None:
    base = {"device": "recursive-test@1.0"}
    opts = _opts(max_resolve_steps=100)
    assert resolve(base, {"path": "wide", "n": 90}, opts) == ("ok", "done")
    with pytest.raises(WorkLimitExceeded, match=r"more than 100 resolution steps"):
        resolve(base, {"path": "wide", "n": 150}, _opts(max_resolve_steps=100))


def test_a_fresh_budget_starts_from_nothing() -> None:
    opts = _opts(max_resolve_steps=10)
    spent = budget.of(opts)
    assert spent is not None
    for _ in range(10):
        spent.enter()
        spent.leave()
    renewed = budget.of(budget.fresh(opts))
    assert renewed is not None and renewed.steps == 0 and renewed.limits == spent.limits
    assert budget.fresh({}) == {}


def test_the_gate_runs_so_many_at_once_queues_some_and_refuses_the_rest() -> None:
    limiter = ComputeGate(concurrency=2, queue=1)
    release = threading.Event()
    running: list[int] = []
    refused: list[str] = []

    def call(i: int) -> None:
        try:
            with limiter.turn(f"call {i}"):
                running.append(i)
                release.wait(5)
        except ComputeBusy as exc:
            refused.append(exc.reason)

    threads = [threading.Thread(target=call, args=(i,)) for i in range(5)]
    for t in threads:
        t.start()
        time.sleep(0.05)
    assert len(running) == 2 and limiter.state() == {"running": 2, "waiting": 1}
    assert len(refused) == 2 and "compute_concurrency" in refused[0]
    release.set()
    for t in threads:
        t.join()
    assert len(running) == 3 and limiter.state() == {"running": 0, "waiting": 0}


def test_a_thread_holding_a_turn_goes_on_without_another() -> None:
    limiter = ComputeGate(concurrency=1, queue=0)
    with limiter.turn("outer"), limiter.turn("inner"):
        assert limiter.state()["running"] == 1
    assert gate.of({gate.KEY: limiter}) is limiter
    assert gate.of({}) is gate.DEFAULT_GATE


def test_a_call_that_waits_too_long_for_a_turn_is_refused() -> None:
    limiter = ComputeGate(concurrency=1, queue=1, wait=0.2)
    holding = threading.Event()
    done = threading.Event()

    def hold() -> None:
        with limiter.turn("holder"):
            holding.set()
            done.wait(5)

    threading.Thread(target=hold).start()
    holding.wait(5)
    try:
        refused = pytest.raises(ComputeBusy, match=r"no turn for a WASM/Lua call within 0.2 s")
        with refused, limiter.turn("late"):
            pass
    finally:
        done.set()

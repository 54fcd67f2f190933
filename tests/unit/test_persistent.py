"""Concurrent identical resolutions are computed once (upstream hb_persistent)."""

from __future__ import annotations

import threading
import time
from typing import Any

from hyperbeam.ao.persistent import Coalescer
from hyperbeam.ao.resolve import resolve


def _slow_device(calls: list[int]) -> dict[str, Any]:
    def compute(msg1: Any, msg2: Any) -> tuple[str, Any]:
        calls.append(1)
        time.sleep(0.2)
        return "ok", {"result": len(calls)}

    return {"compute": compute}


def test_identical_concurrent_resolutions_run_once() -> None:
    calls: list[int] = []
    base = {"device": _slow_device(calls), "x": "1"}
    opts = {"await_inprogress": True, "coalescer": Coalescer(), "hashpath": "ignore"}
    results: list[Any] = []

    def worker() -> None:
        results.append(resolve(base, "compute", opts))

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(calls) == 1
    assert results == [("ok", {"result": 1})] * 8


def test_different_requests_are_not_coalesced() -> None:
    calls: list[int] = []
    dev = _slow_device(calls)
    opts = {"await_inprogress": True, "coalescer": Coalescer(), "hashpath": "ignore"}
    threads = [
        threading.Thread(target=resolve, args=({"device": dev, "x": str(i)}, "compute", opts))
        for i in range(4)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(calls) == 4


def test_named_groups_by_default_only() -> None:
    """Upstream's default ``await_inprogress => named``: ungrouped work is not awaited."""
    calls: list[int] = []
    base = {"device": _slow_device(calls)}
    coalescer = Coalescer()
    opts = {"coalescer": coalescer, "hashpath": "ignore"}
    threads = [threading.Thread(target=resolve, args=(base, "compute", opts)) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(calls) == 3


def test_device_grouper_names_the_group() -> None:
    calls: list[int] = []
    dev = {
        **_slow_device(calls),
        "info": lambda: {"grouper": lambda m1, m2: "one-group"},
    }
    opts = {"coalescer": Coalescer(), "hashpath": "ignore"}
    threads = [threading.Thread(target=resolve, args=({"device": dev}, "compute", opts))]
    threads += [threading.Thread(target=resolve, args=({"device": dev}, "compute", opts))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(calls) == 1


def test_recursion_into_own_group_is_an_error() -> None:
    def loop(msg1: Any, msg2: Any, opts: Any) -> tuple[str, Any]:
        return resolve(msg1, "loop", opts)

    dev = {"loop": loop, "info": lambda: {"grouper": lambda: "same"}}
    status, result = resolve({"device": dev}, "loop", {"coalescer": Coalescer()})
    assert status == "error"
    assert result["status"] == 508


def test_leader_failure_reaches_waiters() -> None:
    coalescer = Coalescer()
    role, _ = coalescer.find_or_register("g")
    assert role == "leader"
    outcome: list[BaseException] = []

    def waiter() -> None:
        role2, execution = coalescer.find_or_register("g")
        assert role2 == "wait" and execution is not None
        try:
            coalescer.wait(execution, timeout=5)
        except ValueError as exc:
            outcome.append(exc)

    t = threading.Thread(target=waiter)
    t.start()
    time.sleep(0.05)
    coalescer.finish("g", None, ValueError("boom"))
    t.join()
    assert [str(e) for e in outcome] == ["boom"]
    assert coalescer.in_flight() == 0

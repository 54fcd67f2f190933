"""``cron@1.0`` in-process: interval parsing, the task machinery, and the
device's keys through the resolver. Upstream: dev_cron.erl (its eunit tests,
which need a node, are ported in tests/integration/test_cron_http.py)."""

from __future__ import annotations

import itertools
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from hyperbeam.ao import resolve as ao
from hyperbeam.ao.device import Result as DeviceResult
from hyperbeam.ao.device import device_info
from hyperbeam.devices import cron, default_registry
from hyperbeam.devices.cron import (
    INFO_BODY,
    TASKS,
    CronDevice,
    CronTask,
    IntervalError,
    TaskRegistry,
    parse_time,
    run_options,
)
from hyperbeam.devices.test import TestWorker, register_worker, unregister_worker
from hyperbeam.message.id import message_id

OPTS: dict[str, Any] = {"registry": default_registry()}
BASE = {"device": "cron@1.0"}


@pytest.fixture(autouse=True)
def _no_tasks_left() -> Iterator[None]:
    cron.stop_all()
    yield
    cron.stop_all()


@pytest.fixture
def worker() -> Iterator[tuple[str, TestWorker]]:
    test_id = secrets.token_urlsafe(32)
    found = TestWorker()
    assert register_worker(test_id, found)
    yield test_id, found
    unregister_worker(test_id)


def wait_for(check: Callable[[], bool], timeout: float = 2.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.01)
    return check()


# --- parse_time --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "millis"),
    [
        ("500-milliseconds", 500),
        ("1-millisecond", 1),
        ("10-seconds", 10_000),
        ("1-second", 1000),
        ("2-minutes", 120_000),
        ("1-hours", 3_600_000),
        ("1-days", 86_400_000),
        ("3-SECONDS", 3000),
        ("+4-seconds", 4000),
        ("0-seconds", 0),
        (b"7-seconds", 7000),
    ],
)
def test_parse_time(text: str | bytes, millis: int) -> None:
    """dev_cron:parse_time/1: ``<integer>-<unit>``, the unit matched by prefix."""
    assert parse_time(text) == millis


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("5-fortnights", "Invalid time unit: fortnights"),
        ("5-ms", "Invalid time unit: ms"),
        ("5-", "Invalid time unit: "),
        ("5", "Invalid interval: 5"),
        ("five-seconds", "Invalid interval: five-seconds"),
        ("-5-seconds", "Invalid interval: -5-seconds"),
        ("1.5-seconds", "Invalid interval: 1.5-seconds"),
        ("", "Invalid interval: "),
    ],
)
def test_parse_time_rejects(text: str, reason: str) -> None:
    with pytest.raises(IntervalError) as caught:
        parse_time(text)
    assert caught.value.reason == reason
    assert caught.value.status == 400


# --- tasks -------------------------------------------------------------------------


class Gate:
    """A run that reports it started, then waits to be released."""

    def __init__(self, result: DeviceResult = ("ok", "done")) -> None:
        self.entered = threading.Event()
        self.release = threading.Event()
        self.calls = 0
        self.result = result

    def __call__(self) -> DeviceResult:
        self.calls += 1
        self.entered.set()
        self.release.wait(5)
        return self.result


def test_once_task_runs_once_and_unregisters() -> None:
    registry = TaskRegistry()
    gate = Gate()
    gate.release.set()
    task = CronTask("once-a", gate)
    assert registry.start(task)
    task.thread.join(2)
    assert not task.alive()
    assert gate.calls == 1
    assert task.runs == 1
    assert registry.lookup("once-a") is None
    assert len(registry) == 0


def test_stopping_a_once_task_abandons_its_run() -> None:
    """dev_cron: stop_once_test, without a node: the task's thread ends while
    its run is still under way, and that run's outcome is dropped."""
    registry = TaskRegistry()
    gate = Gate()
    task = CronTask("once-b", gate)
    assert registry.start(task)
    assert gate.entered.wait(2)
    assert registry.lookup("once-b") is task
    assert registry.stop("once-b")
    assert registry.lookup("once-b") is None
    task.thread.join(1)
    assert not task.alive(), "the task's thread outlived stop"
    gate.release.set()
    time.sleep(0.05)
    assert gate.calls == 1
    assert task.runs == 0
    assert not registry.stop("once-b")


def test_every_task_repeats_until_stopped() -> None:
    registry = TaskRegistry()
    calls: list[float] = []

    def run() -> DeviceResult:
        calls.append(time.monotonic())
        return "ok", len(calls)

    task = CronTask("every-a", run, interval_ms=20)
    assert registry.start(task)
    assert wait_for(lambda: len(calls) >= 3)
    assert registry.stop("every-a")
    task.thread.join(1)
    assert not task.alive()
    seen = len(calls)
    time.sleep(0.1)
    assert len(calls) == seen
    # The pause comes between runs.
    assert all(b - a >= 0.015 for a, b in itertools.pairwise(calls))


def test_every_task_survives_failing_runs() -> None:
    """A run that raises or answers an error is logged; the loop goes on."""
    registry = TaskRegistry()
    calls: list[int] = []

    def run() -> DeviceResult:
        calls.append(1)
        if len(calls) % 2:
            raise RuntimeError("boom")
        return "error", "bad"

    task = CronTask("every-b", run, interval_ms=10)
    assert registry.start(task)
    assert wait_for(lambda: len(calls) >= 4)
    assert task.alive()
    assert registry.stop("every-b")


def test_stopping_an_every_task_mid_run() -> None:
    registry = TaskRegistry()
    gate = Gate()
    task = CronTask("every-c", gate, interval_ms=10)
    assert registry.start(task)
    assert gate.entered.wait(2)
    assert registry.stop("every-c")
    task.thread.join(1)
    assert not task.alive()
    gate.release.set()
    time.sleep(0.05)
    assert gate.calls == 1


def test_registry_refuses_a_second_task_with_the_same_id() -> None:
    registry = TaskRegistry()
    first, second = Gate(), Gate()
    task = CronTask("same", first, interval_ms=10_000)
    assert registry.start(task)
    assert not registry.start(CronTask("same", second, interval_ms=10_000))
    assert registry.lookup("same") is task
    assert first.entered.wait(2)
    assert not second.entered.wait(0.05)
    first.release.set()
    registry.stop_all()


def test_stop_all_stops_one_owners_tasks() -> None:
    registry = TaskRegistry()
    node_a, node_b = object(), object()
    gate = Gate(("ok", 1))
    gate.release.set()
    task_a = CronTask("a", gate, interval_ms=10_000, owner=node_a)
    task_b = CronTask("b", gate, interval_ms=10_000, owner=node_b)
    assert registry.start(task_a) and registry.start(task_b)
    assert registry.stop_all(node_a) == 1
    task_a.thread.join(1)
    assert not task_a.alive()
    assert registry.lookup("a") is None
    assert registry.lookup("b") is task_b and task_b.alive()
    assert registry.stop_all() == 1
    task_b.thread.join(1)
    assert not task_b.alive()
    assert len(registry) == 0


class FakeNode:
    def http_opts(self) -> dict[str, Any]:
        return {"cache_control": "always", "force_message": True, "marker": 1}


def test_run_options_use_the_nodes_http_options_without_lookups() -> None:
    """A run stores as the node's HTTP policy says but never looks up, or
    every run after the first would be answered from the cache."""
    opts = run_options({"node": FakeNode(), "other": 2})
    assert opts["marker"] == 1
    assert opts["force_message"] is True
    assert "other" not in opts
    assert opts["cache_control"] == ["store", "no-cache"]


def test_run_options_without_a_node() -> None:
    assert run_options({"x": 1}) == {"x": 1, "cache_control": ["no-cache"]}
    no_store = run_options({"cache_control": ["no-store"]})
    assert no_store["cache_control"] == ["no-store", "no-cache"]


# --- the device, through the resolver -------------------------------------------


def test_registered_as_builtin() -> None:
    assert isinstance(default_registry()["cron@1.0"], CronDevice)


def test_exports() -> None:
    """dev_cron:info/1."""
    assert device_info(CronDevice(), {}, {}) == {"exports": ["info", "once", "every", "stop"]}


def test_info_key() -> None:
    """dev_cron:info/3."""
    status, result = ao.resolve(BASE, "info", OPTS)
    assert status == "ok"
    assert result["status"] == 200
    assert result["body"] == INFO_BODY


def test_once_dispatches_the_cron_path(worker: tuple[str, TestWorker]) -> None:
    """dev_cron: once_executed_test, in-process."""
    test_id, found = worker
    req = {"path": "once", "cron-path": "/~test-device@1.0/update_state", "test-id": test_id}
    status, task_id = ao.resolve(BASE, req, OPTS)
    assert status == "ok"
    assert task_id == message_id(req, "all")
    assert len(task_id) == 43
    assert wait_for(lambda: found.state.get("test-id") == test_id)
    state = found.state
    assert state["path"] == "update_state"
    assert "cron-path" not in state
    # Once done, the task is forgotten.
    assert wait_for(lambda: TASKS.lookup(task_id) is None)
    assert ao.resolve(BASE, {"path": "stop", "task": task_id}, OPTS) == (
        "error",
        "Task not found.",
    )


def test_every_increments_until_stopped(worker: tuple[str, TestWorker]) -> None:
    """dev_cron: every_worker_loop_test and stop_every_test, in-process."""
    test_id, found = worker
    req = {
        "path": "every",
        "cron-path": "/~test-device@1.0/increment_counter",
        "interval": "50-milliseconds",
        "test-id": test_id,
    }
    status, task_id = ao.resolve(BASE, req, OPTS)
    assert status == "ok"
    assert task_id == message_id(req, "all")
    task = TASKS.lookup(task_id)
    assert task is not None and task.alive()
    assert wait_for(lambda: found.state["count"] >= 3)
    status, stopped = ao.resolve(BASE, {"path": "stop", "task": task_id}, OPTS)
    assert status == "ok"
    assert stopped["status"] == 200
    assert stopped["body"] == {"message": "Task stopped successfully", "task_id": task_id}
    assert TASKS.lookup(task_id) is None
    task.thread.join(1)
    assert not task.alive()
    count = found.state["count"]
    time.sleep(0.15)
    assert found.state["count"] == count
    assert ao.resolve(BASE, {"path": "stop", "task": task_id}, OPTS) == (
        "error",
        "Task not found.",
    )


def test_every_drops_its_own_keys_from_the_request(worker: tuple[str, TestWorker]) -> None:
    test_id, found = worker
    req = {
        "path": "every",
        "cron-path": "/~test-device@1.0/update_state",
        "interval": "1-hour",
        "test-id": test_id,
        "extra": "kept",
    }
    status, _ = ao.resolve(BASE, req, OPTS)
    assert status == "ok"
    assert wait_for(lambda: found.state.get("test-id") == test_id)
    state = found.state
    assert state["extra"] == "kept"
    assert "interval" not in state
    assert "cron-path" not in state


def test_the_same_request_twice_runs_one_task(worker: tuple[str, TestWorker]) -> None:
    test_id, found = worker
    req = {
        "path": "every",
        "cron-path": "/~test-device@1.0/increment_counter",
        "interval": "1-hour",
        "test-id": test_id,
    }
    first = ao.resolve(BASE, req, OPTS)
    assert wait_for(lambda: found.state["count"] == 1)
    second = ao.resolve(BASE, req, OPTS)
    assert first == second
    time.sleep(0.1)
    assert found.state["count"] == 1
    assert len(TASKS) == 1


def test_failing_runs_do_not_stop_every() -> None:
    """No worker has this test-id: every run is an error, and the loop goes on."""
    req = {
        "path": "every",
        "cron-path": "/~test-device@1.0/increment_counter",
        "interval": "10-milliseconds",
        "test-id": "nobody",
    }
    status, task_id = ao.resolve(BASE, req, OPTS)
    assert status == "ok"
    task = TASKS.lookup(task_id)
    assert task is not None
    time.sleep(0.1)
    assert task.alive()
    assert task.runs >= 3


@pytest.mark.parametrize(
    ("req", "reason"),
    [
        ({"path": "once"}, "No cron path found in message."),
        ({"path": "every", "interval": "1-seconds"}, "No cron path found in message."),
        ({"path": "every", "cron-path": "/x"}, "No interval found in message."),
        (
            {"path": "every", "cron-path": "/x", "interval": "5-fortnights"},
            "Invalid time unit: fortnights",
        ),
        ({"path": "every", "cron-path": "/x", "interval": "0-seconds"}, "Invalid interval value."),
        ({"path": "every", "cron-path": "/x", "interval": "soon"}, "Invalid interval: soon"),
        ({"path": "stop"}, "No task ID found in message."),
        ({"path": "stop", "task": "no-such-task"}, "Task not found."),
    ],
)
def test_errors(req: dict[str, Any], reason: str) -> None:
    assert ao.resolve(BASE, req, OPTS) == ("error", reason)
    assert len(TASKS) == 0

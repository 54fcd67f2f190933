"""``test-device@1.0``: the eunit tests of upstream dev_test.erl, and its keys."""

from __future__ import annotations

import time

import pytest

from hyperbeam.ao.resolve import get, resolve, set_message
from hyperbeam.devices import default_registry
from hyperbeam.devices.test import (
    INFO_BODY,
    TestDevice,
    TestWorker,
    lookup_worker,
    register_worker,
    unregister_worker,
)
from hyperbeam.message.private import private_of


def test_device_with_function_key_module() -> None:
    """dev_test.erl: device_with_function_key_module_test."""
    msg = {"device": "Test-Device@1.0"}
    assert resolve(msg, "test_func", {}) == ("ok", "GOOD_FUNCTION")


def test_compute() -> None:
    """dev_test.erl: compute_test."""
    msg0 = {"device": "Test-Device@1.0"}
    status, msg1 = resolve(msg0, "init", {})
    assert status == "ok"
    msg2 = set_message({"path": "compute"}, {"slot": 1, "body/number": 1337}, {})
    status, msg3 = resolve(msg1, msg2, {})
    assert status == "ok"
    assert get("results/assignment-slot", msg3, {}) == 1
    msg4 = set_message({"path": "compute"}, {"slot": 2, "body/number": 9001}, {})
    status, msg5 = resolve(msg3, msg4, {})
    assert status == "ok"
    assert get("results/assignment-slot", msg5, {}) == 2
    assert get("already-seen", msg5, {}) == [2, 1]


def test_restore() -> None:
    """dev_test.erl: restore_test."""
    msg1 = {"device": "Test-Device@1.0", "already-seen": [1]}
    status, msg3 = resolve(msg1, "restore", {})
    assert status == "ok"
    started = get("test-key/started-state", private_of(msg3), {"hashpath": "ignore"})
    assert started == [1]


# --- the rest of the device's keys, as dev_test.erl defines them ---------------


def test_registered_as_builtin() -> None:
    """hb_opts.erl: preloaded_devices names ``test-device@1.0``."""
    assert isinstance(default_registry()["test-device@1.0"], TestDevice)


def test_info_key() -> None:
    """dev_test.erl: info/3 (the ``info`` key, apart from the device's info/1)."""
    status, result = resolve({"device": "test-device@1.0"}, "info", {})
    assert status == "ok"
    assert result["status"] == 200
    assert result["body"] == INFO_BODY


def test_unknown_keys_fall_to_message_device() -> None:
    """dev_test.erl: info/1 (``default`` is dev_message)."""
    msg = {"device": "test-device@1.0", "other": "value"}
    assert resolve(msg, "other", {}) == ("ok", "value")
    assert resolve(msg, "keys", {}) == ("ok", ["device", "other"])


def test_restore_without_state() -> None:
    """dev_test.erl: restore/3 (no ``already-seen``)."""
    assert resolve({"device": "test-device@1.0"}, "restore", {}) == (
        "error",
        "No viable state to restore.",
    )


def test_mul() -> None:
    """dev_test.erl: mul/2."""
    msg = {"device": "test-device@1.0", "state": "S"}
    status, result = resolve(msg, {"path": "mul", "args": [6, 7]}, {"hashpath": "ignore"})
    assert status == "ok"
    assert result == {"state": "S", "results": [42]}


def test_snapshot() -> None:
    """dev_test.erl: snapshot/3."""
    status, result = resolve({"device": "test-device@1.0"}, "snapshot", {"hashpath": "ignore"})
    assert status == "ok"
    assert result == {}


def test_delay() -> None:
    """dev_test.erl: delay/3."""
    base = {"device": "test-device@1.0"}
    started = time.monotonic()
    status, result = resolve(base, {"path": "delay", "duration": 50}, {"hashpath": "ignore"})
    assert time.monotonic() - started >= 0.05
    assert (status, result) == ("ok", {"result": "slept"})
    req = {"path": "delay", "duration": 1, "body": "BODY"}
    assert resolve(base, req, {}) == ("ok", "BODY")
    returning = {**base, "duration": 1, "return": "RETURNED"}
    assert resolve(returning, {"path": "delay", "body": "BODY"}, {}) == ("ok", "RETURNED")


@pytest.fixture
def worker_id() -> str:
    return f"worker-{time.monotonic_ns()}"


def test_update_state(worker_id: str) -> None:
    """dev_test.erl: update_state/3."""
    base = {"device": "test-device@1.0"}
    assert resolve(base, "update_state", {}) == ("error", "No test ID found in message.")
    req = {"path": "update_state", "test-id": worker_id}
    assert resolve(base, req, {}) == ("error", "No test worker found.")
    worker = TestWorker()
    assert register_worker(worker_id, worker)
    try:
        assert lookup_worker(worker_id) is worker
        assert resolve(base, req, {}) == ("ok", worker)
        assert worker.state["test-id"] == worker_id
    finally:
        unregister_worker(worker_id)
    assert lookup_worker(worker_id) is None


def test_increment_counter(worker_id: str) -> None:
    """dev_test.erl: increment_counter/3."""
    base = {"device": "test-device@1.0"}
    req = {"path": "increment_counter", "test-id": worker_id}
    assert resolve(base, "increment_counter", {}) == ("error", "No test ID found in message.")
    assert resolve(base, req, {}) == ("error", "No test worker found for increment.")
    worker = TestWorker()
    assert register_worker(worker_id, worker)
    assert not register_worker(worker_id, TestWorker())
    try:
        for _ in range(3):
            assert resolve(base, req, {}) == ("ok", worker)
        assert worker.state["count"] == 3
    finally:
        unregister_worker(worker_id)
    register_worker(worker_id, "not a worker")
    try:
        assert resolve(base, req, {}) == (
            "error",
            "Invalid registration found for test worker.",
        )
    finally:
        unregister_worker(worker_id)

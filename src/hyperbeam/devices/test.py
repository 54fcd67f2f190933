"""``test-device@1.0``: a small device for exercising the resolver.

It covers what a module-backed device can do: keys served by methods of
every arity, a ``default`` that sends unknown keys to ``message@1.0``, an
``info`` key distinct from the device's own info, and the ``init``/``compute``
/``restore``/``snapshot`` shape of a process stack. ``update_state`` and
``increment_counter`` reach test workers registered by name (upstream uses
hb_name for this); ``delay`` sleeps, for use as a slow hook.

The ``test`` key is reserved for tests elsewhere, hence the longer name.

Upstream: dev_test.erl.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from typing import Any

from hyperbeam.ao import resolve as ao
from hyperbeam.ao.device import Device, Result, key
from hyperbeam.message.model import Message
from hyperbeam.message.private import private_of, with_private

INFO_BODY: Message = {
    "description": "Test device for testing the AO-Core framework",
    "version": "1.0",
    "paths": {
        "info": "Get device info",
        "test_func": "Test function",
        "compute": "Compute function",
        "init": "Initialize function",
        "restore": "Restore function",
        "mul": "Multiply function",
        "snapshot": "Snapshot function",
        "response": "Response function",
        "update_state": "Update state function",
    },
}

#: How long ``delay`` sleeps, in milliseconds, unless told otherwise.
DEFAULT_DELAY_MS = 750


# --- named test workers ---------------------------------------------------------


class TestWorker:
    """A stand-in for upstream's test worker process: a counter and a state.

    ``update_state`` replaces the state with the request; ``increment_counter``
    adds one to ``count``. Both are safe to call from many threads.
    """

    __test__ = False  # not a pytest test class

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._state: dict[str, Any] = {"count": 0}

    def update(self, state: Message) -> None:
        with self._lock:
            self._state = dict(state)

    def increment(self) -> None:
        with self._lock:
            self._state["count"] = self._state.get("count", 0) + 1

    @property
    def state(self) -> dict[str, Any]:
        with self._lock:
            return dict(self._state)


_WORKERS: dict[str, Any] = {}
_WORKERS_LOCK = threading.Lock()


def register_worker(test_id: str, worker: Any) -> bool:
    """Register ``worker`` under ``test_id``; False if the name is taken."""
    with _WORKERS_LOCK:
        if test_id in _WORKERS:
            return False
        _WORKERS[test_id] = worker
        return True


def unregister_worker(test_id: str) -> None:
    with _WORKERS_LOCK:
        _WORKERS.pop(test_id, None)


def lookup_worker(test_id: str) -> Any:
    """The worker registered as ``test_id``, or ``None``."""
    with _WORKERS_LOCK:
        return _WORKERS.get(test_id)


# --- the device -----------------------------------------------------------------


def _set_private(msg: Message, updates: Message, opts: Mapping[str, Any]) -> Message:
    """Set ``updates`` inside the private map of ``msg``. Upstream: hb_private:set/3."""
    priv_opts = {**opts, "hashpath": "ignore", "cache_control": ["no-cache", "no-store"]}
    new_priv = ao.set_message(private_of(msg), updates, priv_opts)
    return with_private(msg, new_priv)


class TestDevice(Device):
    """The resolver's test device."""

    __test__ = False  # not a pytest test class

    name = "test-device@1.0"

    def info(self, msg: Any, opts: Mapping[str, Any]) -> dict[str, Any]:
        return {"default": "message@1.0"}

    @key("info")
    def info_key(self, msg: Message, req: Message, opts: Mapping[str, Any]) -> Result:
        """The ``info`` key: a description of the device, as a 200 response."""
        return "ok", {"status": 200, "body": INFO_BODY}

    @key("test_func")
    def test_func(self, msg: Message) -> Result:
        return "ok", "GOOD_FUNCTION"

    @key("compute")
    def compute(self, msg: Message, req: Message, opts: Mapping[str, Any]) -> Result:
        """Record the request's ``slot``: in ``results`` and at the front of ``already-seen``."""
        slot = ao.get("slot", req, opts)
        seen = ao.get("already-seen", msg, opts)
        already_seen = [slot, *seen] if isinstance(seen, list) else [slot]
        updates: Message = {
            "random-key": "random-value",
            "results": {"assignment-slot": slot},
            "already-seen": already_seen,
        }
        return "ok", ao.set_message(msg, updates, opts)

    @key("init")
    def init(self, msg: Message, req: Message, opts: Mapping[str, Any]) -> Result:
        return "ok", ao.set_message(msg, {"already-seen": []}, opts)

    @key("restore")
    def restore(self, msg: Message, req: Message, opts: Mapping[str, Any]) -> Result:
        """Keep ``already-seen`` privately as ``test-key/started-state``."""
        seen = ao.get("already-seen", msg, opts)
        if seen == ao.NOT_FOUND:
            return "error", "No viable state to restore."
        return "ok", _set_private(msg, {"test-key/started-state": seen}, opts)

    @key("mul")
    def mul(self, msg: Message, req: Message) -> Result:
        """Multiply the two ``args`` of the request (an import for a WASM executor)."""
        state = ao.get("state", msg, {"hashpath": "ignore"})
        arg1, arg2 = ao.get("args", req, {"hashpath": "ignore"})
        return "ok", {"state": state, "results": [arg1 * arg2]}

    @key("snapshot")
    def snapshot(self, msg: Message, req: Message, opts: Mapping[str, Any]) -> Result:
        return "ok", {}

    @key("update_state")
    def update_state(self, msg: Message, req: Message, opts: Mapping[str, Any]) -> Result:
        """Replace the state of the test worker named by ``test-id`` with the request."""
        test_id = ao.get("test-id", req, {})
        if test_id == ao.NOT_FOUND:
            return "error", "No test ID found in message."
        worker = lookup_worker(test_id)
        if worker is None:
            return "error", "No test worker found."
        worker.update(req)
        return "ok", worker

    @key("increment_counter")
    def increment_counter(self, msg: Message, req: Message, opts: Mapping[str, Any]) -> Result:
        """Add one to the counter of the test worker named by ``test-id``."""
        test_id = ao.get("test-id", req, {})
        if test_id == ao.NOT_FOUND:
            return "error", "No test ID found in message."
        worker = lookup_worker(test_id)
        if worker is None:
            return "error", "No test worker found for increment."
        if not isinstance(worker, TestWorker):
            return "error", "Invalid registration found for test worker."
        worker.increment()
        return "ok", worker

    @key("delay")
    def delay(self, msg: Message, req: Message, opts: Mapping[str, Any]) -> Result:
        """Sleep ``duration`` ms (base first, then request; default 750), then
        answer the base's ``return``, else the request's ``body``, else
        ``{"result": "slept"}``: the shape of a hook's answer."""
        duration = ao.get_first(
            [(msg, "duration"), (req, "duration")], opts, default=DEFAULT_DELAY_MS
        )
        time.sleep(int(duration) / 1000)
        returned = ao.get("return", msg, opts)
        if returned == ao.NOT_FOUND:
            returned = ao.get("body", req, opts, default={"result": "slept"})
        return "ok", returned

"""The live state of processes, one computation at a time per process.

Upstream keeps a worker (an Erlang process) per process that holds the last
computed state in memory and serializes compute requests. Here a
:class:`ProcessWorkers` holds, per process ID, a lock that one computation
holds at a time, and the most recent state computed (with its private
parts, such as a runtime's memory), so the next slot costs one step. The
states of the least recently used processes are dropped past ``capacity``
states, or past ``max_bytes`` of live runtime memory (what the objects in
their private maps report through ``live_bytes()``, such as a WASM
instance's linear memory); they are then restored from the store. It also
remembers when each process was last snapshotted.

Upstream: dev_process_worker (group/3, server/3, await/5).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from hyperbeam.gate import ComputeGate
from hyperbeam.message.model import Message
from hyperbeam.message.private import private_of

DEFAULT_CAPACITY = 256
#: Live runtime memory kept for idle processes (bytes).
DEFAULT_MAX_BYTES = 4 * 1024**3


def live_bytes(state: Message) -> int:
    """The runtime memory a state holds (its private objects' ``live_bytes()``)."""
    total = 0
    pending: list[Any] = [private_of(state)]
    while pending:
        value = pending.pop()
        if isinstance(value, dict):
            pending.extend(value.values())
        elif hasattr(value, "live_bytes"):
            try:
                total += int(value.live_bytes())
            except Exception:  # a closed runtime holds nothing
                continue
    return total


class ProcessWorkers:
    def __init__(
        self, capacity: int = DEFAULT_CAPACITY, max_bytes: int = DEFAULT_MAX_BYTES
    ) -> None:
        self.capacity = capacity
        self.max_bytes = max_bytes
        self._locks: dict[str, threading.RLock] = {}
        self._states: OrderedDict[str, Message] = OrderedDict()
        self._bytes: dict[str, int] = {}
        self._snapshots: dict[str, tuple[int, float]] = {}
        self._guard = threading.Lock()

    @contextmanager
    def hold(self, process_id: str, gate: ComputeGate | None = None) -> Iterator[None]:
        """Run the block as the only computation of ``process_id``. With a
        ``gate``, a thread that has to wait for another's computation counts
        as waiting for a compute turn (a request for a busy process gets a 503
        rather than hold a resolver thread for as long as that takes)."""
        with self._guard:
            lock = self._locks.setdefault(process_id, threading.RLock())
        if gate is None:
            lock.acquire()
        else:
            gate.acquire_waiting(lock, f"computing {process_id}")
        try:
            yield
        finally:
            lock.release()

    def state(self, process_id: str) -> Message | None:
        """The last state computed for the process, if kept."""
        with self._guard:
            found = self._states.get(process_id)
            if found is not None:
                self._states.move_to_end(process_id)
            return found

    def keep(self, process_id: str, state: Message) -> None:
        size = live_bytes(state)
        with self._guard:
            self._states[process_id] = state
            self._states.move_to_end(process_id)
            self._bytes[process_id] = size
            while len(self._states) > 1 and (
                len(self._states) > self.capacity or sum(self._bytes.values()) > self.max_bytes
            ):
                dropped, _ = self._states.popitem(last=False)
                self._bytes.pop(dropped, None)

    def forget(self, process_id: str) -> None:
        with self._guard:
            self._states.pop(process_id, None)
            self._bytes.pop(process_id, None)

    def processes(self) -> list[str]:
        """The processes whose state is held."""
        with self._guard:
            return list(self._states)

    def snapshotted(self, process_id: str, slot: int) -> None:
        """Note that the state after ``slot`` was stored with a snapshot."""
        with self._guard:
            self._snapshots[process_id] = (slot, time.monotonic())

    def snapshot_slot(self, process_id: str) -> int | None:
        """The slot of the last snapshot stored in this run, if any."""
        with self._guard:
            found = self._snapshots.get(process_id)
            return found[0] if found else None

    def seconds_since_snapshot(self, process_id: str) -> float:
        """Seconds since the last snapshot of this run (infinite before one)."""
        with self._guard:
            found = self._snapshots.get(process_id)
        return float("inf") if found is None else time.monotonic() - found[1]


#: For resolutions that run without a node (tests, ``hyperbeam resolve``).
DEFAULT_WORKERS = ProcessWorkers()

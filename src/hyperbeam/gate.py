"""A node-wide limit on expensive executions (WASM and Lua calls).

At most ``concurrency`` such calls run at once; up to ``queue`` more wait for
a turn; past that a call fails at once with a 503 saying so. Waiting calls
hold a resolver thread each, so the queue is kept below the number of
resolver threads: however many endless modules clients send, threads stay
free for cheap requests (a plain GET is still answered at once). A thread
that already holds a turn (a Lua script resolving a WASM process) goes on
without taking another.

No upstream counterpart (upstream runs each call in its own BEAM process).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any, Protocol

from hyperbeam import metrics
from hyperbeam.errors import HyperbeamError


class Lock(Protocol):
    def acquire(self, blocking: bool = ..., timeout: float = ...) -> bool: ...


#: Where the node's gate lives in the resolution options.
KEY = "compute_gate"


class ComputeBusy(HyperbeamError):
    status = 503


class ComputeGate:
    def __init__(self, concurrency: int = 0, queue: int = 10, wait: float = 60.0) -> None:
        self.concurrency, self.queue = 1, 0
        self.set_limits(concurrency, queue)
        self.wait = wait
        self._cond = threading.Condition()
        self._running = 0
        self._waiting = 0
        self._held = threading.local()

    @contextmanager
    def turn(self, what: str) -> Iterator[None]:
        """Run the block as one of the ``concurrency`` expensive calls."""
        if getattr(self._held, "value", False):
            yield
            return
        with self._cond:
            if self._running >= self.concurrency:
                self._join_queue(what)
                try:
                    if not self._cond.wait_for(
                        lambda: self._running < self.concurrency, timeout=self.wait
                    ):
                        raise ComputeBusy(
                            f"the node is busy: no turn for a WASM/Lua call within "
                            f"{self.wait:g} s; try {what} again later"
                        )
                finally:
                    self._waiting -= 1
            self._running += 1
        metrics.COMPUTE_RUNNING.set(self._running)
        self._held.value = True
        try:
            yield
        finally:
            self._held.value = False
            with self._cond:
                self._running -= 1
                self._cond.notify()
            metrics.COMPUTE_RUNNING.set(self._running)

    def acquire_waiting(self, lock: Lock, what: str) -> None:
        """Take ``lock``; if another thread has it, wait as one of the calls
        waiting for a turn (refused at once if the queue is full)."""
        if lock.acquire(blocking=False):
            return
        with self._cond:
            self._join_queue(what)
        try:
            if not lock.acquire(timeout=self.wait):
                raise ComputeBusy(
                    f"the node is busy: {what} did not start within {self.wait:g} s; "
                    "try again later"
                )
        finally:
            with self._cond:
                self._waiting -= 1

    def _join_queue(self, what: str) -> None:
        """Count the caller among those waiting (the condition held), or
        refuse it when the queue is full."""
        if self._waiting >= self.queue:
            raise ComputeBusy(
                f"the node is busy: {self._running} WASM/Lua calls are running and "
                f"{self._waiting} waiting (settings compute_concurrency, compute_queue); "
                f"try {what} again later"
            )
        self._waiting += 1

    def set_limits(self, concurrency: int, queue: int) -> None:
        """``concurrency`` calls at once (0: one per CPU core), ``queue`` waiting."""
        self.concurrency = concurrency if concurrency > 0 else (os.cpu_count() or 1)
        self.queue = max(queue, 0)

    def state(self) -> dict[str, int]:
        with self._cond:
            return {"running": self._running, "waiting": self._waiting}


#: For resolutions without a node (tests, ``hyperbeam resolve``): no limit
#: beyond the machine's cores, and no queue bound.
DEFAULT_GATE = ComputeGate(0, 1 << 30)


def of(opts: Mapping[str, Any]) -> ComputeGate:
    found = opts.get(KEY)
    return found if isinstance(found, ComputeGate) else DEFAULT_GATE

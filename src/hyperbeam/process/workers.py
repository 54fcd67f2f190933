"""The live state of processes, one computation at a time per process.

Upstream keeps a worker (an Erlang process) per process that holds the last
computed state in memory and serializes compute requests. Here a
:class:`ProcessWorkers` holds, per process ID, a lock that one computation
holds at a time, and the most recent state computed (with its private
parts, such as a runtime's memory), so the next slot costs one step. The
states of the least recently used processes are dropped past ``capacity``;
they are then restored from the store.

Upstream: dev_process_worker (group/3, server/3, await/5).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager

from hyperbeam.message.model import Message

DEFAULT_CAPACITY = 256


class ProcessWorkers:
    def __init__(self, capacity: int = DEFAULT_CAPACITY) -> None:
        self.capacity = capacity
        self._locks: dict[str, threading.RLock] = {}
        self._states: OrderedDict[str, Message] = OrderedDict()
        self._guard = threading.Lock()

    @contextmanager
    def hold(self, process_id: str) -> Iterator[None]:
        """Run the block as the only computation of ``process_id``."""
        with self._guard:
            lock = self._locks.setdefault(process_id, threading.RLock())
        with lock:
            yield

    def state(self, process_id: str) -> Message | None:
        """The last state computed for the process, if kept."""
        with self._guard:
            found = self._states.get(process_id)
            if found is not None:
                self._states.move_to_end(process_id)
            return found

    def keep(self, process_id: str, state: Message) -> None:
        with self._guard:
            self._states[process_id] = state
            self._states.move_to_end(process_id)
            while len(self._states) > self.capacity:
                self._states.popitem(last=False)

    def forget(self, process_id: str) -> None:
        with self._guard:
            self._states.pop(process_id, None)


#: For resolutions that run without a node (tests, ``hyperbeam resolve``).
DEFAULT_WORKERS = ProcessWorkers()

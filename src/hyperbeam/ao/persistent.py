"""Coalescing identical resolutions: one thread computes, the others wait.

A resolution's *group* is named by its device's ``grouper`` (upstream's
process device groups by process) or, when ``await_inprogress`` is true for
every execution, by the pair of messages. The first thread in a group is its
leader; later threads with the same group wait for the leader's result. A
thread meeting a group it already leads is in an infinite recursion.

Upstream: hb_persistent (find_or_register/3, await/4, unregister_notify/4).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any


@dataclass(slots=True)
class _Execution:
    leader: int
    done: threading.Event = field(default_factory=threading.Event)
    result: Any = None
    failed: BaseException | None = None


class Coalescer:
    """Registry of in-flight executions, keyed by group name."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._running: dict[Any, _Execution] = {}

    def find_or_register(self, group: Any) -> tuple[str, _Execution | None]:
        """``("leader", None)``, ``("wait", execution)`` or ``("recursion", None)``."""
        me = threading.get_ident()
        with self._lock:
            current = self._running.get(group)
            if current is None:
                self._running[group] = _Execution(leader=me)
                return "leader", None
            if current.leader == me:
                return "recursion", None
            return "wait", current

    def finish(self, group: Any, result: Any, failed: BaseException | None = None) -> None:
        """Unregister the leader of ``group`` and wake its waiters."""
        with self._lock:
            execution = self._running.pop(group, None)
        if execution is not None:
            execution.result = result
            execution.failed = failed
            execution.done.set()

    @staticmethod
    def wait(execution: _Execution, timeout: float | None = None) -> Any:
        if not execution.done.wait(timeout):
            raise TimeoutError("timed out waiting for an identical resolution")
        if execution.failed is not None:
            raise execution.failed
        return execution.result

    def in_flight(self) -> int:
        with self._lock:
            return len(self._running)


#: The coalescer used when ``opts`` names none.
DEFAULT_COALESCER = Coalescer()


def group_key(value: Any) -> Any:
    """A hashable, structural key for a message (private keys excluded)."""
    if isinstance(value, dict):
        return (
            "m",
            tuple(sorted(((str(k), group_key(v)) for k, v in value.items() if k != "priv"))),
        )
    if isinstance(value, list | tuple):
        return ("l", tuple(group_key(v) for v in value))
    try:
        hash(value)
    except TypeError:
        return ("o", id(value))
    return (type(value).__name__, value)

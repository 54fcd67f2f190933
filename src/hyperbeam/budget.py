"""The work one request may cause, and the limits on it.

An HTTP request gets a :class:`Budget` in its resolution options (under
:data:`KEY`); the resolver charges it one *step* per device call and tracks
how deeply device calls nest, the HTTP edge checks the number of path parts
before resolving and the size of the reply after. Past a limit the request
fails with a 4xx naming the limit and the setting that raises it
(:class:`~hyperbeam.errors.WorkLimitExceeded`). The defaults are far above
what real workloads need: the largest AOS computations we run take a few
thousand steps per request; a path has a handful of parts.

Work that outlives its request (a relayed ``cast``, an ``async`` push) and
each slot a process computes get a fresh budget (:func:`fresh`): a process
with a long schedule is not one request's work.

No upstream counterpart: upstream bounds none of these.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from hyperbeam.errors import WorkLimitExceeded

#: Where a request's budget lives in the resolution options.
KEY = "work-budget"


@dataclass(frozen=True, slots=True)
class Limits:
    """Per-request limits; each is a node setting of the same name."""

    #: Parts of a request's HyperPATH (``/a/b/c`` has 3).
    max_path_parts: int = 512
    #: Device calls one request may make, nested ones included.
    max_resolve_steps: int = 1_000_000
    #: How deeply device calls may nest (a device resolving through another...).
    max_resolve_depth: int = 100
    #: Bytes of the reply body.
    max_reply_bytes: int = 512 * 1024 * 1024


class Budget:
    """What one request has used of its :class:`Limits`."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.steps = 0
        self._depth = threading.local()

    def enter(self) -> None:
        """Charge one device call, nested in those running on this thread
        (:meth:`leave` when it returns)."""
        self.steps += 1
        if self.steps > self.limits.max_resolve_steps:
            raise WorkLimitExceeded(
                f"the request needs more than {self.limits.max_resolve_steps} resolution "
                "steps (setting max_resolve_steps)"
            )
        depth = getattr(self._depth, "value", 0) + 1
        if depth > self.limits.max_resolve_depth:
            raise WorkLimitExceeded(
                f"device calls nest more than {self.limits.max_resolve_depth} deep "
                "(setting max_resolve_depth)"
            )
        self._depth.value = depth

    def leave(self) -> None:
        self._depth.value -= 1


def of(opts: Mapping[str, Any]) -> Budget | None:
    found = opts.get(KEY)
    return found if isinstance(found, Budget) else None


def fresh(opts: Mapping[str, Any]) -> dict[str, Any]:
    """``opts`` with a new budget of the same limits (or none if it had none)."""
    found = of(opts)
    return {**opts, KEY: Budget(found.limits)} if found is not None else dict(opts)


def check_path_parts(count: int, limits: Limits) -> None:
    if count > limits.max_path_parts:
        raise WorkLimitExceeded(
            f"the path has {count} parts; the limit is {limits.max_path_parts} "
            "(setting max_path_parts)",
            status=414,
        )


def check_reply(size: int, limits: Limits) -> None:
    if size > limits.max_reply_bytes:
        raise WorkLimitExceeded(
            f"the reply is {size} bytes; the limit is {limits.max_reply_bytes} "
            "(setting max_reply_bytes)"
        )

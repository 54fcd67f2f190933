"""A bounded store for the resolver's cache of results.

Every request's results are cached (upstream's default ``cache-control`` is
``always``): about 3.3 KB for each distinct request, so unbounded, any
client could fill the disk. :class:`RequestCache` keeps them in two
*generations*, each a store of its own in a numbered directory: writes go to
the newer one; when it holds half of ``max_bytes``, the older one is deleted
and a new, empty one takes the writes. Reads look in both. So the cache
holds at most about ``max_bytes`` (the most recent results, never fewer than
the last ``max_bytes / 2`` worth), survives restarts, and drops old results
in one cheap step without any per-entry bookkeeping.

A result that falls out is computed again when it is asked for; the node's
own data (signed messages, schedules, process states) is never written
here. A link written in the newer generation to a message in the older one
dangles once that one goes: a miss, not an error.
"""

from __future__ import annotations

import logging
import shutil
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from hyperbeam.store.base import Scope, Store, StoreChain, Unit

log = logging.getLogger("hyperbeam.store.rotating")

T = TypeVar("T")


def disk_bytes(path: Path) -> int:
    """Bytes the files under ``path`` take on disk."""
    if not path.exists():
        return 0
    return sum(p.stat().st_blocks * 512 for p in path.rglob("*") if p.is_file())


class RequestCache(StoreChain):
    """Two generations of ``make(directory)`` stores under ``root``."""

    def __init__(self, root: Path, make: Callable[[Path], Store], max_bytes: int) -> None:
        # (No stores until start: StoreChain's constructor wants some.)
        self.stores: list[Store] = []
        self.root = root
        self.make = make
        self.max_bytes = max_bytes
        self._numbers: list[int] = []  # newest first, as self.stores
        self._lock = threading.RLock()
        self._busy = 0
        self._written = 0
        self._measured_at = 0

    @property
    def scope(self) -> Scope:  # type: ignore[override]
        return "local"

    # -- lifecycle ----------------------------------------------------------

    def start(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        found = sorted(
            (int(p.name) for p in self.root.iterdir() if p.is_dir() and p.name.isdigit()),
            reverse=True,
        )
        for stale in found[2:]:
            shutil.rmtree(self.root / str(stale), ignore_errors=True)
        numbers = found[:2] or [0]
        stores = [self.make(self.root / str(n)) for n in numbers]
        for store in stores:
            store.start()
        with self._lock:
            self._numbers, self.stores = numbers, stores
            self._written = self._measured_at = disk_bytes(self.root / str(numbers[0]))

    def size(self) -> int:
        """Bytes both generations take on disk."""
        return sum(disk_bytes(self.root / str(n)) for n in self._numbers)

    # -- writes go to the newest generation ------------------------------------

    def writer(self) -> Store:
        return self

    @contextmanager
    def _writing(self, size: int) -> Iterator[Store]:
        with self._lock:
            self._busy += 1
            current = self.stores[0]
        try:
            yield current
        finally:
            with self._lock:
                self._busy -= 1
                self._written += size
                if self._busy == 0:
                    self._maybe_rotate()

    def atomically(self, work: Callable[[], T]) -> T:
        with self._writing(0) as current:
            return current.atomically(work)

    def apply(self, units: Sequence[Unit]) -> None:
        size = sum(len(path) + len(data) for _, ops in units for _, path, data in ops)
        with self._writing(size) as current:
            current.apply_prepared(current.prepare(units))

    def prepare(self, units: Sequence[Unit]) -> list[Any]:
        return list(units)  # prepared against whichever generation applies them

    def apply_prepared(self, prepared: Sequence[Any]) -> None:
        self.apply(prepared)

    def write(self, key: str, value: bytes) -> None:
        with self._writing(len(key) + len(value)) as current:
            current.write(key, value)

    def make_group(self, path: str) -> None:
        with self._writing(len(path)) as current:
            current.make_group(path)

    def make_link(self, existing: str, new: str) -> None:
        with self._writing(len(existing) + len(new)) as current:
            current.make_link(existing, new)

    def reset(self) -> None:
        for store in self.stores:
            store.reset()

    # -- rotation ---------------------------------------------------------------

    def _maybe_rotate(self) -> None:
        """With no write in flight: when the newest generation holds half the
        bound, drop the oldest and start a new one. (What was counted is the
        data written; the disk is measured each 1/32 of the bound, since a
        store takes more room than the data it holds.)"""
        half = self.max_bytes // 2
        if self._written - self._measured_at >= max(self.max_bytes // 32, 1):
            self._written = max(self._written, disk_bytes(self.root / str(self._numbers[0])))
            self._measured_at = self._written
        if self._written < half:
            return
        number = self._numbers[0] + 1
        fresh = self.make(self.root / str(number))
        fresh.start()
        dropped = self._numbers[1:]
        old_stores = self.stores[1:]
        self._numbers = [number, self._numbers[0]]
        self.stores = [fresh, self.stores[0]]
        self._written = self._measured_at = 0
        for store, n in zip(old_stores, dropped, strict=True):
            try:
                store.stop()
            except Exception as exc:  # a reader may still hold it: it fails as a miss
                log.debug("stopping request cache generation %d: %s", n, exc)
            shutil.rmtree(self.root / str(n), ignore_errors=True)
        log.info("request cache: generation %d started, %s dropped", number, dropped or "none")

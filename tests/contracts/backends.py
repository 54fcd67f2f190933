"""The store backends the contract suite runs against (see ``__init__``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from hyperbeam.store.base import Store
from hyperbeam.store.fs import FsStore
from hyperbeam.store.lmdb import LmdbStore
from hyperbeam.store.memory import MemoryStore

#: Everything a local store does.
LOCAL = frozenset({"write", "persist", "threads", "strict-keys"})


@dataclass(frozen=True)
class Backend:
    name: str
    open: Callable[[Path], Store]
    caps: frozenset[str] = field(default=LOCAL)
    #: For read-only backends: the store to fill so that this one serves it.
    seed: Callable[[Store], Store] | None = None

    def writer(self, store: Store) -> Store:
        return self.seed(store) if self.seed is not None else store


BACKENDS: list[Backend] = [
    Backend("memory", lambda _: MemoryStore(), frozenset({"write", "threads"})),
    # fsync off: the suite checks semantics; the crash test checks durability.
    Backend("fs", lambda d: FsStore(d / "fs", fsync=False)),
    # A small map, so that the suite also exercises map growth.
    Backend("lmdb", lambda d: LmdbStore(d / "lmdb", map_size=1 << 20)),
]

"""A store in memory: for tests, and for nodes that keep nothing.

Upstream has no exact twin (its tests use fs stores); the semantics follow
hb_store_fs / hb_store_rocksdb: groups are created for parents on write,
links are first-writer-wins, and reads follow links.
"""

from __future__ import annotations

import threading

from hyperbeam.store.base import Kind, Store, StoreError, join

#: Links followed before a path is declared circular.
MAX_LINK_DEPTH = 64


class MemoryStore(Store):
    def __init__(self) -> None:
        self._values: dict[str, bytes] = {}
        self._groups: dict[str, set[str]] = {"": set()}
        self._links: dict[str, str] = {}
        self._lock = threading.RLock()

    def reset(self) -> None:
        with self._lock:
            self._values.clear()
            self._groups = {"": set()}
            self._links.clear()

    def _exists(self, key: str) -> bool:
        return key in self._values or key in self._groups or key in self._links

    def _add_to_parents(self, key: str) -> None:
        parts = key.split("/")
        for depth in range(len(parts)):
            parent = "/".join(parts[:depth])
            self._groups.setdefault(parent, set()).add(parts[depth])

    def resolve(self, path: str) -> str:
        with self._lock:
            return self._resolve(join(path), 0)

    def _resolve(self, path: str, depth: int) -> str:
        if depth > MAX_LINK_DEPTH:
            raise StoreError(f"circular links at {path!r}")
        acc = ""
        for segment in path.split("/") if path else []:
            acc = join(acc, segment)
            target = self._links.get(acc)
            if target is not None:
                acc = self._resolve(target, depth + 1)
        return acc

    def read(self, key: str) -> bytes | None:
        with self._lock:
            return self._values.get(self._resolve(join(key), 0))

    def write(self, key: str, value: bytes) -> None:
        key = join(key)
        if not key:
            raise StoreError("cannot write at the root of a store")
        with self._lock:
            self._values[key] = bytes(value)
            self._add_to_parents(key)

    def list(self, path: str) -> list[str] | None:
        with self._lock:
            children = self._groups.get(self._resolve(join(path), 0))
            return sorted(children) if children is not None else None

    def type(self, key: str) -> Kind | None:
        with self._lock:
            resolved = self._resolve(join(key), 0)
            if resolved in self._values:
                return "simple"
            if resolved in self._groups:
                return "composite"
            return None

    def make_group(self, path: str) -> None:
        path = join(path)
        with self._lock:
            self._groups.setdefault(path, set())
            if path:
                self._add_to_parents(path)

    def make_link(self, existing: str, new: str) -> None:
        existing, new = join(existing), join(new)
        if existing == new:
            return
        with self._lock:
            if self._exists(new):
                return
            self._links[new] = existing
            self._add_to_parents(new)

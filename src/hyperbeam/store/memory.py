"""A store in memory: for tests, and for nodes that keep nothing.

Upstream has no exact twin (its tests use fs stores); the semantics follow
hb_store_fs / hb_store_rocksdb: groups are created for parents on write,
links are first-writer-wins, and reads follow links.

This store is the reference the other backends are checked against
(``tests/contracts``). The rules every backend shares:

- Reads, ``type`` and ``list`` resolve the whole path (:meth:`resolve`).
- Mutations resolve the *parent* of the key through links, never the last
  segment: writing ``L/x`` where ``L`` links to ``D`` writes ``D/x`` (so the
  value can be read back by both names), while ``write(L)`` does not write
  through the link.
- A key is one of value, group or link. Writing a value over a group or a
  link, writing beneath a value, or making a group where a value is raises
  :class:`StoreError`; nothing is changed then. A value may be overwritten.
- ``make_link`` never replaces anything (first writer wins); ``make_group``
  resolves its whole path, so a group made through a dangling link appears at
  the link's target.
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
        # Check every ancestor before changing anything, so a failed call
        # leaves the store as it was.
        for depth in range(1, len(parts)):
            ancestor = "/".join(parts[:depth])
            if ancestor in self._values or ancestor in self._links:
                raise StoreError(f"{ancestor!r} is not a group")
        for depth in range(len(parts)):
            parent = "/".join(parts[:depth])
            self._groups.setdefault(parent, set()).add(parts[depth])

    def _place(self, key: str) -> str:
        """``key`` with its parent resolved through links."""
        parent, _, name = key.rpartition("/")
        return join(self._resolve(parent, 0), name) if parent else name

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
        data = bytes(value)
        with self._lock:
            key = self._place(key)
            if key in self._groups:
                raise StoreError(f"cannot write a value over the group {key!r}")
            if key in self._links:
                raise StoreError(f"cannot write a value over the link {key!r}")
            self._add_to_parents(key)
            self._values[key] = data

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
        with self._lock:
            path = self._resolve(join(path), 0)
            if path in self._groups:
                return
            if path in self._values:
                raise StoreError(f"cannot make a group over the value {path!r}")
            self._add_to_parents(path)
            self._groups[path] = set()

    def make_link(self, existing: str, new: str) -> None:
        existing, new = join(existing), join(new)
        if not existing or not new:
            raise StoreError("a link cannot start or end at the root of a store")
        if existing == new:
            return
        with self._lock:
            new = self._place(new)
            if new == existing or self._exists(new):
                return
            self._add_to_parents(new)
            self._links[new] = existing

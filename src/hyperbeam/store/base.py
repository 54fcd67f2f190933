"""The store interface and chains of stores.

A store holds binaries under ``/``-separated keys, *groups* (directories:
keys with children) and *links* (a key that stands for another). Reads,
``type`` and ``list`` follow links; ``resolve`` rewrites a path by replacing
every linked prefix with its target, left to right, so ``ID/key/sub`` works
across linked sub-messages.

A :class:`StoreChain` tries its stores in order, as upstream's store lists
do: a store that answers "not found" (``None``) or raises is skipped; the
first other answer wins, for reads and writes alike.

Upstream: hb_store (behaviour, call_function/3, call_all/3, join/1, scope/2).
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Literal, TypeAlias, TypeVar

from hyperbeam.errors import HyperbeamError

log = logging.getLogger("hyperbeam.store")

Scope: TypeAlias = Literal["local", "remote"]
Kind: TypeAlias = Literal["simple", "composite"]
T = TypeVar("T")


class StoreError(HyperbeamError):
    """A store that cannot do what was asked (full disk, bad path, no viable store)."""

    status = 500


def join(*parts: str | Iterable[str]) -> str:
    """Join key parts with ``/``, dropping empty parts. Upstream: hb_store:join/1."""
    flat: list[str] = []
    for part in parts:
        if isinstance(part, str):
            flat.extend(p for p in part.split("/") if p)
        else:
            flat.extend(p for sub in part for p in sub.split("/") if p)
    return "/".join(flat)


#: One write of a plan: ``("group", path, b"")``, ``("value", path, data)``
#: or ``("link", new, existing)`` (``existing`` as UTF-8 bytes).
Op: TypeAlias = tuple[str, str, bytes]
#: A unit of a plan: a root path and the writes that make it; the unit is
#: skipped when its root exists already (content addressing: same root, same
#: content).
Unit: TypeAlias = tuple[str, list[Op]]


class Store(ABC):
    """One backend. ``None`` from a read means *not found*."""

    #: ``local`` stores are consulted for cached results; ``remote`` ones only
    #: for messages the node does not have.
    scope: Scope = "local"
    #: Whether :meth:`atomically` makes a group of writes all-or-nothing (so a
    #: group that exists was written whole).
    atomic_writes: bool = False

    def start(self) -> None:  # noqa: B027 - most stores need no start-up
        """Open what the store needs (directories, files, connections)."""

    def stop(self) -> None:  # noqa: B027 - nor any shutdown
        """Release it; the store may be started again."""

    def flush(self) -> None:  # noqa: B027 - stores that write through need nothing
        """Make every completed write durable (survive a power loss)."""

    def atomically(self, work: Callable[[], T]) -> T:
        """Run ``work``, whose writes the store may group into one atomic
        transaction (LMDB does); by default each write stands alone."""
        return work()

    def writer(self) -> Store:
        """The store that takes this store's writes (itself, but for chains)."""
        return self

    def apply(self, units: Sequence[Unit]) -> None:
        """Make the writes of a plan (see :data:`Unit`); call it inside
        :meth:`atomically` to make the plan all-or-nothing."""
        self.apply_prepared(self.prepare(units))

    def prepare(self, units: Sequence[Unit]) -> list[Any]:
        """A plan made ready for :meth:`apply_prepared`: the work that needs
        no transaction, which any thread can do ahead of the write. Lists
        from the same store can be concatenated."""
        return list(units)

    def apply_prepared(self, prepared: Sequence[Any]) -> None:
        """Make the writes of prepared plans, one by one. A store may do it
        faster (LMDB puts everything in a few calls)."""
        for root, ops in prepared:
            if self.atomic_writes and self.type(root) is not None:
                continue
            for kind, path, data in ops:
                if kind == "group":
                    self.make_group(path)
                elif kind == "value":
                    if self.type(path) != "simple":
                        self.write(path, data)
                else:
                    self.make_link(data.decode(), path)

    @abstractmethod
    def reset(self) -> None:
        """Delete everything the store holds."""

    @abstractmethod
    def read(self, key: str) -> bytes | None:
        """The binary at ``key`` (links followed), or ``None``."""

    @abstractmethod
    def write(self, key: str, value: bytes) -> None:
        """Store ``value`` at ``key``, creating parent groups. Atomic."""

    @abstractmethod
    def list(self, path: str) -> list[str] | None:
        """The names of a group's children (links followed), or ``None``."""

    @abstractmethod
    def type(self, key: str) -> Kind | None:
        """``simple`` for a binary, ``composite`` for a group, else ``None``."""

    @abstractmethod
    def make_group(self, path: str) -> None:
        """Create an empty group (and its parents); no-op if it exists."""

    @abstractmethod
    def make_link(self, existing: str, new: str) -> None:
        """Make ``new`` stand for ``existing``. A key that already exists is kept
        (first writer wins); linking a key to itself does nothing."""

    @abstractmethod
    def resolve(self, path: str) -> str:
        """``path`` with every linked prefix replaced by its target."""


class StoreChain(Store):
    """Stores tried in order. Upstream: a list of store options."""

    def __init__(self, stores: Sequence[Store]) -> None:
        if not stores:
            raise StoreError("a store chain needs at least one store")
        self.stores = list(stores)

    @property
    def scope(self) -> Scope:  # type: ignore[override]
        return "local" if any(s.scope == "local" for s in self.stores) else "remote"

    def only(self, scope: Scope) -> StoreChain | None:
        """The stores of one scope, or ``None`` if there are none. Upstream: scope/2."""
        kept = [s for s in self.stores if s.scope == scope]
        return StoreChain(kept) if kept else None

    def _first(self, name: str, call: Callable[[Store], T | None]) -> T | None:
        for store in self.stores:
            try:
                found = call(store)
            except Exception as exc:
                log.debug("store %s failed at %s: %s", type(store).__name__, name, exc)
                continue
            if found is not None:
                return found
        return None

    def _first_accepting(self, name: str, call: Callable[[Store], object]) -> None:
        errors: list[str] = []
        for store in self.stores:
            try:
                call(store)
                return
            except Exception as exc:
                errors.append(f"{type(store).__name__}: {exc}")
        raise StoreError(f"no store accepted {name}: {'; '.join(errors)}")

    def start(self) -> None:
        for store in self.stores:
            try:
                store.start()
            except Exception as exc:
                log.warning("store %s did not start: %s", type(store).__name__, exc)

    def stop(self) -> None:
        for store in self.stores:
            store.stop()

    def flush(self) -> None:
        for store in self.stores:
            store.flush()

    def atomically(self, work: Callable[[], T]) -> T:
        """Writes go to the first store that takes them: group them there."""
        return self.stores[0].atomically(work)

    def writer(self) -> Store:
        """The first store, which takes the chain's writes (a chain whose
        first store refuses writes is written through the chain itself)."""
        first = self.stores[0]
        return first.writer() if first.scope == "local" else self

    def prepare(self, units: Sequence[Unit]) -> list[Any]:
        writer = self.writer()
        return super().prepare(units) if writer is self else writer.prepare(units)

    def apply_prepared(self, prepared: Sequence[Any]) -> None:
        writer = self.writer()
        if writer is self:
            super().apply_prepared(prepared)
        else:
            writer.apply_prepared(prepared)

    def reset(self) -> None:
        for store in self.stores:
            store.reset()

    def read(self, key: str) -> bytes | None:
        return self._first("read", lambda s: s.read(key))

    def write(self, key: str, value: bytes) -> None:
        self._first_accepting("write", lambda s: s.write(key, value))

    def list(self, path: str) -> list[str] | None:
        return self._first("list", lambda s: s.list(path))

    def type(self, key: str) -> Kind | None:
        return self._first("type", lambda s: s.type(key))

    def make_group(self, path: str) -> None:
        self._first_accepting("make_group", lambda s: s.make_group(path))

    def make_link(self, existing: str, new: str) -> None:
        self._first_accepting("make_link", lambda s: s.make_link(existing, new))

    def resolve(self, path: str) -> str:
        for store in self.stores:
            try:
                resolved = store.resolve(path)
            except Exception:
                continue
            if resolved != path:
                return resolved
        return path

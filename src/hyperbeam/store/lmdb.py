"""The node's default store: one LMDB environment in a directory.

Layout (``<path>/data.mdb`` and ``<path>/lock.mdb``, two named databases):

``nodes``
    ``pk(key)`` → one tag byte and a payload, the tags of upstream's RocksDB
    store: ``0x01`` + target key (a link), ``0x02`` + bytes (a value),
    ``0x03`` alone (a group). The root group is implicit.
``children``
    ``gid(group) + 0x00 + child`` → the child's name: one entry per member of
    a group, so adding a child is one B-tree insert (upstream's RocksDB store
    rewrites the whole child set instead) and ``list`` is one range scan. The
    root's entries start with ``0x00``.

``pk(key)`` is the key in UTF-8, or ``/`` + the hex SHA-256 of it when it is
longer than LMDB's key limit (511 bytes); joined keys never start with ``/``,
so the two forms cannot meet. ``gid`` is the same with a limit of 445 bytes,
so that a child name too long for its ``children`` key can be replaced there
by ``0xff`` + its hex SHA-256 (the entry's value keeps the name). Keys
containing NUL, or that are not valid Unicode, are refused.

Every operation is one LMDB transaction, parent-group updates included, so a
crash leaves either all of a write or none of it. LMDB serialises writers
across threads and processes and never blocks readers. Writes are not fsynced
by default (``sync=False``): a committed write survives the death of the
process (``tests/integration/test_store_crash.py``), but an OS crash or power
loss can lose the last transactions (LMDB's ``MDB_NOSYNC``; the file stays
consistent on file systems that keep write order). Pass ``sync=True`` (one
fsync per write) or call :meth:`LmdbStore.flush` when that matters. A full
map is grown (doubled) and the operation retried, and a map grown by another
process is adopted.

Several :class:`LmdbStore` objects on one directory in one process share a
single environment, as LMDB requires (the first one's ``map_size`` and
``sync`` apply). An environment open before a ``fork`` is never used by the
child (LMDB forbids it): there the store raises :class:`StoreError`, so open
stores after forking.
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import lmdb

from hyperbeam.store.base import Kind, Store, StoreError, Unit, join

#: Links followed before a path is declared circular (as in MemoryStore).
MAX_LINK_DEPTH = 64
#: The map a new environment starts with; it grows on demand.
DEFAULT_MAP_SIZE = 1 << 30

LINK = 0x01
VALUE = 0x02
GROUP = 0x03
_GROUP_NODE = bytes([GROUP])
_SEP = b"\x00"
#: Bytes a hashed child name and its separator take in a ``children`` key.
_HASHED_CHILD = 66

T = TypeVar("T")
Node = bytes | memoryview


def normal(key: str) -> str:
    """:func:`join` for one key, skipping the work when it is already joined."""
    if key and key[0] != "/" and key[-1] != "/" and "//" not in key:
        return key
    return join(key)


def check_key(key: str) -> bytes:
    """The UTF-8 form of a joined key, or :class:`StoreError` if it cannot be stored."""
    if "\x00" in key:
        raise StoreError(f"a store key cannot contain NUL: {key!r}")
    try:
        return key.encode()
    except UnicodeEncodeError as exc:
        raise StoreError(f"a store key must be valid Unicode: {key!r}") from exc


class _Gate:
    """Many transactions at once, or one map resize alone: LMDB requires that no
    transaction of this process is open while the map changes size.

    Entering costs a list append and a flag check (both atomic in CPython):
    a transaction registers itself first and then checks that no resize is
    waiting; a resize raises its flag first and then waits for the list to
    drain, so the two can never both go ahead."""

    def __init__(self) -> None:
        self._active: list[None] = []
        self._open = threading.Event()
        self._open.set()
        self._resize_lock = threading.Lock()

    def enter(self) -> None:
        active = self._active
        while True:
            active.append(None)
            if self._open.is_set():
                return
            active.pop()
            self._open.wait()

    def leave(self) -> None:
        self._active.pop()

    def exclusive(self, action: Callable[[], None]) -> None:
        """Run ``action`` with no transaction open (never call it from inside one)."""
        with self._resize_lock:
            self._open.clear()
            try:
                while self._active:
                    time.sleep(0.0005)
                action()
            finally:
                self._open.set()


class _Env:
    """One open environment, shared by every store on the same directory."""

    def __init__(self, path: Path, map_size: int, sync: bool) -> None:
        path.mkdir(parents=True, exist_ok=True)
        self.env = lmdb.open(
            str(path),
            map_size=map_size,
            subdir=True,
            max_dbs=2,
            max_readers=1024,
            max_spare_txns=8,
            sync=sync,
            metasync=sync,
        )
        # Free reader slots left behind by processes that died holding them.
        self.env.reader_check()
        self.nodes = self.env.open_db(b"nodes")
        self.children = self.env.open_db(b"children")
        self.max_key = self.env.max_key_size()
        self.gate = _Gate()
        self.write_lock = threading.Lock()
        self.users = 1
        self.generation = _GENERATION[0]

    def grow(self, at_least: int) -> None:
        def resize() -> None:
            current = self.env.info()["map_size"]
            self.env.set_mapsize(max(current * 2, current + at_least))

        self.gate.exclusive(resize)

    def adopt_size(self) -> None:
        self.gate.exclusive(lambda: self.env.set_mapsize(0))


_OPEN: dict[str, _Env] = {}
_OPEN_LOCK = threading.Lock()
#: Bumped in a forked child: environments opened before the fork are unusable there.
_GENERATION = [0]


def _after_fork() -> None:
    _OPEN.clear()
    _GENERATION[0] += 1


os.register_at_fork(after_in_child=_after_fork)


class _MapFull(BaseException):
    """The map filled up inside :meth:`LmdbStore.atomically` (a
    ``BaseException``, so that store chains do not take it for a refusal)."""


class LmdbStore(Store):
    atomic_writes = True

    def __init__(
        self, path: Path | str, map_size: int = DEFAULT_MAP_SIZE, *, sync: bool = False
    ) -> None:
        self.path = Path(path)
        self.map_size = map_size
        self.sync = sync
        self._env: _Env | None = None
        self._lock = threading.Lock()
        self._local = threading.local()

    # -- lifecycle ---------------------------------------------------------

    def start(self) -> None:
        self._open()

    def _open(self) -> _Env:
        env = self._env
        if env is not None and env.generation == _GENERATION[0]:
            return env
        with self._lock:
            if self._env is not None and self._env.generation != _GENERATION[0]:
                self._env = None  # inherited from the parent process
            if self._env is None:
                name = os.path.realpath(self.path)
                with _OPEN_LOCK:
                    shared = _OPEN.get(name)
                    if shared is None:
                        try:
                            shared = _Env(self.path, self.map_size, self.sync)
                        except (lmdb.Error, OSError) as exc:
                            raise StoreError(f"cannot open LMDB store at {name}: {exc}") from exc
                        _OPEN[name] = shared
                    else:
                        shared.users += 1
                self._env = shared
            return self._env

    def stop(self) -> None:
        with self._lock:
            shared, self._env = self._env, None
        if shared is None or shared.generation != _GENERATION[0]:
            return
        with _OPEN_LOCK:
            shared.users -= 1
            if shared.users:
                return
            for name, env in list(_OPEN.items()):
                if env is shared:
                    del _OPEN[name]
        shared.gate.exclusive(shared.env.close)

    def flush(self) -> None:
        """Force committed writes to disk (useful with ``sync=False``)."""
        self._open().env.sync(True)

    def reset(self) -> None:
        def clear(txn: lmdb.Transaction[bytes], env: _Env) -> None:
            txn.drop(env.nodes, delete=False)
            txn.drop(env.children, delete=False)

        self._write(clear)

    # -- transactions ------------------------------------------------------

    def _read(self, action: Callable[[lmdb.Transaction[memoryview], _Env], T]) -> T:
        txn = getattr(self._local, "txn", None)
        if txn is not None:  # see the writes of the transaction in progress
            return action(txn, self._open())
        env = self._open()
        while True:
            env.gate.enter()
            try:
                with env.env.begin(buffers=True) as txn:
                    return action(txn, env)
            except lmdb.MapResizedError:
                pass
            except lmdb.Error as exc:
                raise StoreError(f"LMDB read failed: {exc}") from exc
            finally:
                env.gate.leave()
            env.adopt_size()

    def atomically(self, work: Callable[[], T], size: int = 0) -> T:
        """Run ``work`` with every write it makes (on this thread) in one
        transaction: all of them are committed, or none. Cheaper than one
        transaction per write; retried from the start if the map must grow
        (by at least ``size`` bytes)."""
        if getattr(self._local, "txn", None) is not None:
            return work()  # already inside one
        env = self._open()
        while True:
            with env.write_lock:
                env.gate.enter()
                try:
                    with env.env.begin(write=True) as txn:
                        self._local.txn = txn
                        try:
                            return work()
                        finally:
                            self._local.txn = None
                except (lmdb.MapFullError, _MapFull):
                    grow = True
                except lmdb.MapResizedError:
                    grow = False
                except lmdb.Error as exc:
                    raise StoreError(f"LMDB write failed: {exc}") from exc
                finally:
                    env.gate.leave()
            if grow:
                env.grow(max(2 * size, 1 << 24))
            else:
                env.adopt_size()

    def _write(self, action: Callable[[lmdb.Transaction[bytes], _Env], T], size: int = 0) -> T:
        """One write: in the transaction of :meth:`atomically` if one is open
        on this thread, else in a transaction of its own."""
        txn = getattr(self._local, "txn", None)
        if txn is None:
            return self.atomically(lambda: self._write(action, size), size)
        try:
            return action(txn, self._open())
        except lmdb.MapFullError:
            raise _MapFull from None  # past store chains: `atomically` grows and retries

    # -- key encoding --------------------------------------------------------

    @staticmethod
    def _pk(env: _Env, key: str, limit: int = 0) -> bytes:
        raw = key.encode()
        if len(raw) <= (limit or env.max_key):
            return raw
        return b"/" + hashlib.sha256(raw).hexdigest().encode()

    def _children_prefix(self, env: _Env, group: str) -> bytes:
        """Where a group's entries start in ``children``: short enough that a
        hashed child name still fits in a key."""
        if not group:
            return _SEP
        return self._pk(env, group, env.max_key - _HASHED_CHILD) + _SEP

    @staticmethod
    def _child_key(env: _Env, prefix: bytes, name: bytes) -> bytes:
        key = prefix + name
        if len(key) <= env.max_key:
            return key
        return prefix + b"\xff" + hashlib.sha256(name).hexdigest().encode()

    # -- resolution ----------------------------------------------------------

    def _walk(
        self, txn: lmdb.Transaction[Any], env: _Env, path: str, depth: int
    ) -> tuple[str, Node | None]:
        """The resolved path and the node stored there (``None`` if nothing is)."""
        if depth > MAX_LINK_DEPTH:
            raise StoreError(f"circular links at {path!r}")
        if not path:
            return "", _GROUP_NODE
        acc = ""
        node: Node | None = None
        nodes = env.nodes
        for segment in path.split("/"):
            acc = f"{acc}/{segment}" if acc else segment
            node = txn.get(self._pk(env, acc), db=nodes)
            if node is not None and node[0] == LINK:
                acc, node = self._walk(txn, env, bytes(node[1:]).decode(), depth + 1)
        return acc, node

    def _place(self, txn: lmdb.Transaction[bytes], env: _Env, key: str) -> str:
        """``key`` with its parent resolved through links; the parent must be a
        group or missing."""
        parent, _, name = key.rpartition("/")
        if not parent:
            return name
        resolved, node = self._walk(txn, env, parent, 0)
        if node is not None and node[0] != GROUP:
            raise StoreError(f"{resolved!r} is not a group")
        return f"{resolved}/{name}"

    def _attach(self, txn: lmdb.Transaction[bytes], env: _Env, key: str) -> None:
        """Enter ``key`` in its parent group, creating missing ancestors."""
        child = key
        while True:
            parent, _, name = child.rpartition("/")
            raw = name.encode()
            prefix = self._children_prefix(env, parent)
            txn.put(self._child_key(env, prefix, raw), raw, overwrite=False, db=env.children)
            if not parent:
                return
            parent_pk = self._pk(env, parent)
            node = txn.get(parent_pk, db=env.nodes)
            if node is not None:
                if node[0] != GROUP:
                    raise StoreError(f"{parent!r} is not a group")
                return
            txn.put(parent_pk, _GROUP_NODE, db=env.nodes)
            child = parent

    # -- plans ---------------------------------------------------------------

    def prepare(self, units: Sequence[Unit]) -> list[Any]:
        """Each unit not stored yet as the node and group entries it puts.
        Which roots exist is read here, outside the write transaction (what
        exists is never removed; a unit written meanwhile by another thread
        is written again with the same entries, which changes nothing)."""
        env = self._open()
        roots = [normal(root) for root, _ in units]
        for root in roots:
            check_key(root)
        keys = [self._pk(env, root) for root in roots]
        present = self._read(
            lambda txn, env: {bytes(k) for k, _ in txn.cursor(db=env.nodes).getmulti(keys)}
        )
        prepared: list[Any] = []
        for pk, (_, ops) in zip(keys, units, strict=True):
            if pk in present:
                continue
            present.add(pk)  # a unit planned twice is written once
            nodes: dict[bytes, bytes] = {}
            children: dict[bytes, bytes] = {}
            for kind, raw_path, data in ops:
                path = normal(raw_path)
                check_key(path)
                if kind == "group":
                    node = _GROUP_NODE
                elif kind == "value":
                    node = bytes([VALUE]) + data
                else:
                    target = normal(data.decode())
                    if target == path:
                        continue
                    node = bytes([LINK]) + check_key(target)
                nodes.setdefault(self._pk(env, path), node)
                self._plan_attach(env, path, nodes, children)
            prepared.append((list(nodes.items()), list(children.items())))
        return prepared

    def apply_prepared(self, prepared: Sequence[Any]) -> None:
        """Write prepared plans in two LMDB calls: every node, then every
        group entry, each put only where nothing is (first writer wins, as
        for links; a value is content-addressed). A call into LMDB that lets
        go of the GIL has to wait for it again behind every busy thread, so
        a write that one thread at a time makes (a schedule's commit) must
        make few of them, and read nothing."""

        def work() -> None:
            txn = self._local.txn
            env = self._open()
            nodes = [item for unit_nodes, _ in prepared for item in unit_nodes]
            children = [item for _, unit_children in prepared for item in unit_children]
            txn.cursor(db=env.nodes).putmulti(nodes, overwrite=False)
            txn.cursor(db=env.children).putmulti(children, overwrite=False)

        self.atomically(work, sum(len(v) for unit, _ in prepared for _, v in unit))

    def _plan_attach(
        self, env: _Env, key: str, nodes: dict[bytes, bytes], children: dict[bytes, bytes]
    ) -> None:
        """The entries that put ``key`` in its parent groups (as :meth:`_attach`,
        for paths whose ancestors are groups or missing)."""
        child = key
        while True:
            parent, _, name = child.rpartition("/")
            raw = name.encode()
            children.setdefault(self._child_key(env, self._children_prefix(env, parent), raw), raw)
            if not parent:
                return
            nodes.setdefault(self._pk(env, parent), _GROUP_NODE)
            child = parent

    # -- the store interface -------------------------------------------------

    def resolve(self, path: str) -> str:
        path = normal(path)
        check_key(path)
        return self._read(lambda txn, env: self._walk(txn, env, path, 0)[0])

    def read(self, key: str) -> bytes | None:
        key = normal(key)
        check_key(key)

        def read(txn: lmdb.Transaction[memoryview], env: _Env) -> bytes | None:
            node = self._walk(txn, env, key, 0)[1]
            return bytes(node[1:]) if node is not None and node[0] == VALUE else None

        return self._read(read)

    def type(self, key: str) -> Kind | None:
        key = normal(key)
        check_key(key)

        def kind(txn: lmdb.Transaction[memoryview], env: _Env) -> Kind | None:
            node = self._walk(txn, env, key, 0)[1]
            if node is None:
                return None
            return "simple" if node[0] == VALUE else "composite"

        return self._read(kind)

    def list(self, path: str) -> list[str] | None:
        path = normal(path)
        check_key(path)

        def children(txn: lmdb.Transaction[memoryview], env: _Env) -> list[str] | None:
            resolved, node = self._walk(txn, env, path, 0)
            if node is None or node[0] != GROUP:
                return None
            prefix = self._children_prefix(env, resolved)
            names: list[str] = []
            cursor = txn.cursor(db=env.children)
            if cursor.set_range(prefix):
                for child_key, name in cursor:
                    if bytes(child_key[: len(prefix)]) != prefix:
                        break
                    names.append(bytes(name).decode())
            return sorted(names)

        return self._read(children)

    def write(self, key: str, value: bytes) -> None:
        key = normal(key)
        if not key:
            raise StoreError("cannot write at the root of a store")
        check_key(key)
        data = bytes([VALUE]) + bytes(value)

        def write(txn: lmdb.Transaction[bytes], env: _Env) -> None:
            target = self._place(txn, env, key)
            pk = self._pk(env, target)
            old = txn.get(pk, db=env.nodes)
            if old is not None and old[0] != VALUE:
                kind = "group" if old[0] == GROUP else "link"
                raise StoreError(f"cannot write a value over the {kind} {target!r}")
            if old is None:
                self._attach(txn, env, target)
            txn.put(pk, data, db=env.nodes)

        self._write(write, len(data))

    def make_group(self, path: str) -> None:
        path = normal(path)
        check_key(path)

        def make(txn: lmdb.Transaction[bytes], env: _Env) -> None:
            resolved, node = self._walk(txn, env, path, 0)
            if node is not None:
                if node[0] != GROUP:
                    raise StoreError(f"cannot make a group over the value {resolved!r}")
                return
            self._attach(txn, env, resolved)
            txn.put(self._pk(env, resolved), _GROUP_NODE, db=env.nodes)

        self._write(make)

    def make_link(self, existing: str, new: str) -> None:
        existing, new = normal(existing), normal(new)
        if not existing or not new:
            raise StoreError("a link cannot start or end at the root of a store")
        target_raw = check_key(existing)
        check_key(new)
        if existing == new:
            return

        def link(txn: lmdb.Transaction[bytes], env: _Env) -> None:
            target = self._place(txn, env, new)
            if target == existing:
                return
            pk = self._pk(env, target)
            if txn.get(pk, db=env.nodes) is not None:
                return
            self._attach(txn, env, target)
            txn.put(pk, bytes([LINK]) + target_raw, db=env.nodes)

        self._write(link, len(target_raw))

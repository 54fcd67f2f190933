"""The child process of ``tests/integration/test_store_crash.py``.

Opens a store and writes a burst of keys, printing each key number on stdout
only once ``write`` (and, for every fifth key, ``make_link``) has returned:
a printed number is an acknowledged write. The parent kills it at some point
and checks that the store holds every acknowledged write.

Run: python -m tests.store_writer <lmdb|fs> <directory> <count> [<first> [wait]]
With ``wait``, it reads a line from stdin after ``ready`` before it starts, so
that several writers can be started together.
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

from hyperbeam.store.base import Store
from hyperbeam.store.fs import FsStore
from hyperbeam.store.lmdb import LmdbStore


def open_store(kind: str, directory: Path) -> Store:
    if kind == "lmdb":
        # A small map, so that bursts also grow it (and are killed while doing so).
        return LmdbStore(directory, map_size=256 << 10)
    if kind == "fs":
        return FsStore(directory)
    raise SystemExit(f"unknown store {kind!r}")


def value_for(n: int) -> bytes:
    """A value that depends on ``n`` throughout, between 1 KiB and 256 KiB."""
    size = 256 << 10 if n % 7 == 0 else 1024 * (1 + n % 4)
    block = hashlib.sha256(str(n).encode()).digest()
    return (block * (size // len(block) + 1))[:size]


def key_for(n: int) -> str:
    return f"burst/{n}"


def link_for(n: int) -> str | None:
    return f"links/{n}" if n % 5 == 0 else None


def main(argv: list[str]) -> None:
    kind, directory, count = argv[0], Path(argv[1]), int(argv[2])
    first = int(argv[3]) if len(argv) > 3 else 0
    store = open_store(kind, directory)
    store.start()
    print("ready", flush=True)
    if argv[4:5] == ["wait"]:
        sys.stdin.readline()
    for n in range(first, first + count):
        store.write(key_for(n), value_for(n))
        link = link_for(n)
        if link is not None:
            store.make_link(key_for(n), link)
        print(n, flush=True)
    store.stop()
    print("done", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])

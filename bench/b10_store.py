"""B10: store key benchmark (spec/perf.md section 6, B10).

Workload (upstream ``edge:hb_store:benchmark_key_read_write``): N writes of
keys ``key-1 … key-N``, each with the same 43-character base64url value, then
N uniformly random reads, all found. N = 100,000; median of 3 runs, each on a
fresh store. Backends: memory, lmdb (the node's default, ``sync=False``), and
with smaller N because every write waits for a disk flush: lmdb ``sync=True``
and fs (temp file + fsync + rename per write). fs without fsync runs the full
N for comparison with upstream's fs store, which never fsyncs.

Upstream and reference figures (perf.md):
- upstream ``hb_store_lmdb`` (PR #655, 50k records): 572,843 writes/s,
  556,198 reads/s;
- raw py-lmdb on this workload: 769,455 writes/s (1 txn per key, not synced),
  1,054,604 reads/s; one fsync per write: about 2,941/s (lmdb), 2,958/s (files);
- plain files: about 20k writes/s, 82k reads/s.

Measured here (Intel Xeon, 2 cores, Python 3.11.7, lmdb 3.0.0; medians of 3):
memory 576k writes/s, 450k reads/s; lmdb 117k writes/s (one commit per
write, no writemap), 380k reads/s; lmdb sync=True 2,954 writes/s; fs without
fsync 22k writes/s, 99k reads/s; fs with fsync 1,619 writes/s.

Message half (upstream ``hb_cache`` benchmark): 250 messages, each with a
1 KiB body and a few keys, committed (signed) by one wallet, written with
:func:`hyperbeam.cache.write`, then read back in random order with
:func:`hyperbeam.cache.read` (a full load of every key); median of 3, lmdb and
fs. Upstream: 557 message writes/s, 1,760 message reads/s.

Run: .venv/bin/python -m bench.b10_store [N]
"""

from __future__ import annotations

import random
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from bench._common import machine_line, median_of, report
from hyperbeam import cache
from hyperbeam.crypto.wallet import Wallet
from hyperbeam.message import commit
from hyperbeam.store.base import Store
from hyperbeam.store.fs import FsStore
from hyperbeam.store.lmdb import LmdbStore
from hyperbeam.store.memory import MemoryStore

VALUE = b"Uf3Qx0fWz7GzJm2cJ2bqL8s9tPpN4vY1rHkX6aDqE0w"  # 43 characters
assert len(VALUE) == 43


def run_once(store: Store, count: int, label: str) -> tuple[float, float]:
    store.start()
    store.reset()
    keys = [f"key-{n}" for n in range(1, count + 1)]
    start = time.perf_counter()
    for key in keys:
        store.write(key, VALUE)
    write_rate = report(f"{label} write", count, time.perf_counter() - start)
    order = [random.choice(keys) for _ in range(count)]
    start = time.perf_counter()
    for key in order:
        if store.read(key) != VALUE:
            raise AssertionError(f"{label}: {key} not found")
    read_rate = report(f"{label} read", count, time.perf_counter() - start)
    store.stop()
    return write_rate, read_rate


def bench(label: str, make: Callable[[Path], Store], count: int, runs: int = 3) -> None:
    writes: list[float] = []
    reads: list[float] = []
    for _ in range(runs):
        directory = Path(tempfile.mkdtemp(prefix="b10-"))
        try:
            write_rate, read_rate = run_once(make(directory), count, label)
        finally:
            shutil.rmtree(directory, ignore_errors=True)
        writes.append(write_rate)
        reads.append(read_rate)
    print(f"{label} write median: {median_of(writes):,.0f}/s")
    print(f"{label} read median: {median_of(reads):,.0f}/s", flush=True)


def bench_messages(label: str, make: Callable[[Path], Store], runs: int = 3) -> None:
    wallet = Wallet.generate()
    messages = [
        commit.commit(
            {"body": random.randbytes(1024), "n": n, "kind": "bench", "nested": {"slot": n}},
            wallet,
        )
        for n in range(250)
    ]
    writes: list[float] = []
    reads: list[float] = []
    for _ in range(runs):
        directory = Path(tempfile.mkdtemp(prefix="b10m-"))
        try:
            store = make(directory)
            store.start()
            start = time.perf_counter()
            ids = [cache.write(msg, store) for msg in messages]
            writes.append(report(f"{label} message write", len(ids), time.perf_counter() - start))
            order = random.sample(ids, len(ids))
            start = time.perf_counter()
            for msg_id in order:
                if cache.read(msg_id, store) is None:
                    raise AssertionError(f"{label}: message {msg_id} not found")
            reads.append(report(f"{label} message read", len(order), time.perf_counter() - start))
            store.stop()
        finally:
            shutil.rmtree(directory, ignore_errors=True)
    print(f"{label} message write median: {median_of(writes):,.0f}/s")
    print(f"{label} message read median: {median_of(reads):,.0f}/s", flush=True)


def main(count: int = 100_000) -> None:
    print(machine_line())
    bench_messages("lmdb", lambda d: LmdbStore(d / "db"))
    bench_messages("fs", lambda d: FsStore(d / "fs"))
    synced = max(count // 20, 1)
    bench("memory", lambda _: MemoryStore(), count)
    bench("lmdb", lambda d: LmdbStore(d / "db"), count)
    bench(f"lmdb sync=True (N={synced})", lambda d: LmdbStore(d / "db", sync=True), synced)
    bench("fs fsync=False", lambda d: FsStore(d / "fs", fsync=False), count)
    bench(f"fs fsync=True (N={synced})", lambda d: FsStore(d / "fs"), synced)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000)

"""The bounded request cache (``hyperbeam.store.rotating``) on real LMDB."""

from __future__ import annotations

from pathlib import Path

from hyperbeam import cache
from hyperbeam.store.lmdb import LmdbStore
from hyperbeam.store.rotating import RequestCache, disk_bytes

BOUND = 400_000


def _cache(root: Path) -> RequestCache:
    found = RequestCache(root, LmdbStore, BOUND)
    found.start()
    return found


def test_old_results_go_recent_ones_stay_and_the_disk_keeps_to_the_bound(tmp_path: Path) -> None:
    store = _cache(tmp_path / "rc")
    ids = [cache.write({"n": str(i), "pad": "x" * 1000}, store) for i in range(1500)]
    assert cache.read(ids[-1], store) == {"n": "1499", "pad": "x" * 1000}
    assert cache.read(ids[0], store) is None  # dropped with its generation
    generations = sorted(int(p.name) for p in (tmp_path / "rc").iterdir())
    assert len(generations) == 2 and generations[0] >= 2
    assert disk_bytes(tmp_path / "rc") <= BOUND * 1.25
    # Links and values written straight to the store count too.
    for i in range(2000):
        store.write(f"data/{i}", b"y" * 500)
    assert disk_bytes(tmp_path / "rc") <= BOUND * 1.25
    assert store.read("data/1999") == b"y" * 500


def test_a_restart_keeps_the_two_newest_generations(tmp_path: Path) -> None:
    store = _cache(tmp_path / "rc")
    ids = [cache.write({"n": str(i), "pad": "x" * 1000}, store) for i in range(600)]
    before = sorted(p.name for p in (tmp_path / "rc").iterdir())
    store.stop()
    (tmp_path / "rc" / "0").mkdir(exist_ok=True)  # a stale generation left behind
    again = _cache(tmp_path / "rc")
    assert sorted(p.name for p in (tmp_path / "rc").iterdir()) == before
    assert cache.read(ids[-1], again) == {"n": "599", "pad": "x" * 1000}
    again.stop()


def test_the_cache_writer_drops_writes_when_far_behind_but_never_a_run() -> None:
    """The soak benchmark's heap growth: a backlog of cache writes held every
    request's messages. Cache writes past the limit are dropped; ``run``
    writes (process states) wait for room instead."""
    import threading

    from hyperbeam import metrics
    from hyperbeam.cache_control import BackgroundWriter

    writer = BackgroundWriter(limit=2)
    gate = threading.Event()
    ran: list[str] = []
    writer.run(gate.wait)  # the writer is busy until the gate opens
    before = metrics.CACHE_WRITES_DROPPED._value.get()
    for _ in range(5):
        writer.submit(({}, {}, "x", None))  # (never written: dropped or failing harmlessly)
    dropped = metrics.CACHE_WRITES_DROPPED._value.get() - before
    assert dropped >= 3
    threading.Timer(0.2, gate.set).start()
    writer.run(lambda: ran.append("state"))  # waits for room, then runs
    writer.drain()
    assert ran == ["state"]

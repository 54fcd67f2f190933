"""Scheduler servers: modes, failures and recovery (hyperbeam.scheduler.server).

The happy paths, concurrency and crash safety are covered through the device
(tests/conformance/test_dev_scheduler.py) and real nodes
(tests/integration/test_scheduler_crash.py); these are the corners.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest

from hyperbeam.crypto.wallet import Wallet
from hyperbeam.message import commit
from hyperbeam.scheduler import cache as schedule_cache
from hyperbeam.scheduler import verify_chain
from hyperbeam.scheduler.server import SchedulerError, SchedulerRegistry, SchedulerServer
from hyperbeam.store.lmdb import LmdbStore
from hyperbeam.store.memory import MemoryStore

PROC = "Q" * 43


@pytest.fixture(scope="module")
def wallet() -> Wallet:
    return Wallet.generate()


def _messages(wallet: Wallet, n: int) -> list[dict[str, Any]]:
    return [commit.commit({"type": "Message", "n": i}, wallet) for i in range(n)]


def test_disabled_mode_refuses_to_start(wallet: Wallet) -> None:
    registry = SchedulerRegistry(MemoryStore(), wallet, mode="disabled")
    with pytest.raises(SchedulerError, match="disabled"):
        registry.find(PROC, start=True)


def test_aggressive_mode_answers_before_the_write(wallet: Wallet) -> None:
    store = MemoryStore()
    written = threading.Event()
    release = threading.Event()
    original = store.apply_prepared

    def slow_apply(prepared: Any) -> None:
        release.wait(5)
        original(prepared)
        written.set()

    store.apply_prepared = slow_apply  # type: ignore[method-assign]
    server = SchedulerServer(PROC, store, wallet, mode="aggressive")
    (message,) = _messages(wallet, 1)
    assignment = server.schedule(message)  # returns although the write waits
    assert assignment["slot"] == 0
    assert schedule_cache.read(PROC, 0, store) is None
    release.set()
    assert written.wait(5)
    assert schedule_cache.read(PROC, 0, store) is not None


def test_a_failed_write_loses_only_unacknowledged_slots(tmp_path: Path, wallet: Wallet) -> None:
    store = LmdbStore(tmp_path / "lmdb")
    server = SchedulerServer(PROC, store, wallet)
    first, second, third = _messages(wallet, 3)
    server.schedule(first)
    original = store.apply_prepared
    calls = {"n": 0}

    def failing(prepared: Any) -> None:
        calls["n"] += 1
        if calls["n"] == 1:
            raise OSError("disk full")
        original(prepared)

    store.apply_prepared = failing  # type: ignore[method-assign]
    with pytest.raises(SchedulerError, match="not stored"):
        server.schedule(second)
    # The server went back to what the store holds, and goes on from there.
    assert server.current == 0
    assignment = server.schedule(third)
    assert assignment["slot"] == 1
    stored = [schedule_cache.read(PROC, s, store) for s in (0, 1)]
    assert verify_chain(stored)  # type: ignore[arg-type]
    assert schedule_cache.read(PROC, 2, store) is None
    store.stop()


def test_a_failed_signature_resets_later_slots(wallet: Wallet) -> None:
    store = MemoryStore()
    server = SchedulerServer(PROC, store, wallet)

    class Broken:
        address = wallet.address
        owner = wallet.owner

        def sign(self, data: bytes, digest: str = "sha256") -> bytes:
            raise RuntimeError("no key")

    (message,) = _messages(wallet, 1)
    server.wallet = Broken()  # type: ignore[assignment]
    with pytest.raises(SchedulerError, match="could not sign"):
        server.schedule(message)
    server.wallet = wallet
    assert server.schedule(message)["slot"] == 0


def test_batches_are_written_in_slot_order(tmp_path: Path, wallet: Wallet) -> None:
    """Callers that finish signing out of order still get a schedule without
    gaps, written in order (slot N never lands before N - 1)."""
    store = LmdbStore(tmp_path / "lmdb")
    server = SchedulerServer(PROC, store, wallet)
    seen: list[int] = []
    original = store.apply_prepared

    def record(prepared: Any) -> None:
        original(prepared)
        seen.append(max(schedule_cache.list_slots(PROC, store)))

    store.apply_prepared = record  # type: ignore[method-assign]
    messages = _messages(wallet, 24)
    threads = [threading.Thread(target=server.schedule, args=(m,)) for m in messages]
    for thread in threads:
        thread.start()
        time.sleep(0.001)
    for thread in threads:
        thread.join()
    assert seen == sorted(seen)
    assert schedule_cache.list_slots(PROC, store) == list(range(24))
    assert server.current == 23
    store.stop()

"""Durability with real processes: a writer killed with SIGKILL mid-burst
leaves a store that opens cleanly and holds every write it acknowledged; and
two processes can write one LMDB store at once, even when one of them dies.

The writer is ``tests/store_writer.py``; it prints a key's number only after
``write`` returned.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.store_writer import key_for, link_for, open_store, value_for

ROOT = Path(__file__).resolve().parents[2]
RUNS = 4


def _spawn(
    kind: str, directory: Path, count: int, first: int = 0, wait: bool = False
) -> subprocess.Popen[str]:
    args = [kind, str(directory), str(count), str(first)] + (["wait"] if wait else [])
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.store_writer", *args],
        cwd=ROOT,
        stdin=subprocess.PIPE if wait else subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if line != "ready\n":
        proc.kill()
        _, err = proc.communicate()
        raise AssertionError(f"writer did not start: {line!r} {err}")
    return proc


def _acks(lines: list[str]) -> list[int]:
    # Only whole lines count: a number cut short by the kill was not acknowledged.
    return [int(line) for line in lines if line.endswith("\n") and line.strip().isdigit()]


def _kill_after(proc: subprocess.Popen[str], wanted: int) -> list[int]:
    """Read ``wanted`` acknowledgements, SIGKILL the writer, and return every
    acknowledgement it printed."""
    assert proc.stdout is not None
    lines = [proc.stdout.readline() for _ in range(wanted)]
    proc.send_signal(signal.SIGKILL)
    rest, _ = proc.communicate(timeout=10)
    assert proc.returncode == -signal.SIGKILL, "the writer finished before it was killed"
    lines += rest.splitlines(keepends=True)
    return _acks(lines)


def _check(kind: str, directory: Path, acked: list[int]) -> None:
    store = open_store(kind, directory)
    store.start()
    try:
        for n in acked:
            assert store.read(key_for(n)) == value_for(n), f"acknowledged key {n} lost"
            link = link_for(n)
            if link is not None:
                assert store.read(link) == value_for(n), f"acknowledged link {n} lost"
        listed = store.list("burst") or []
        assert {key_for(n).rpartition("/")[2] for n in acked} <= set(listed)
        # Whatever else is there (the write in flight) is whole.
        for name in listed:
            assert store.read(f"burst/{name}") == value_for(int(name)), f"torn value {name}"
        store.write("after/crash", b"ok")  # and the store still takes writes
        assert store.read("after/crash") == b"ok"
    finally:
        store.stop()


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["lmdb", "fs"])
def test_a_killed_writer_loses_no_acknowledged_write(kind: str, tmp_path: Path) -> None:
    rng = random.Random(f"crash-{kind}")
    directory = tmp_path / kind
    for run in range(RUNS):
        # Later runs write on top of earlier ones: recovery after recovery.
        proc = _spawn(kind, directory, count=100_000, first=run * 100_000)
        acked = _kill_after(proc, rng.randint(20, 300))
        assert acked, "no acknowledged writes"
        _check(kind, directory, acked)


@pytest.mark.slow
def test_two_processes_write_one_lmdb_store_and_one_dies(tmp_path: Path) -> None:
    directory = tmp_path / "shared"
    survivor = _spawn("lmdb", directory, count=400, first=0, wait=True)
    victim = _spawn("lmdb", directory, count=100_000, first=1_000_000, wait=True)
    for proc in (survivor, victim):
        assert proc.stdin is not None
        proc.stdin.write("go\n")
        proc.stdin.flush()
    acked = _kill_after(victim, 150)
    out, err = survivor.communicate(timeout=60)
    assert survivor.returncode == 0, err
    assert out.endswith("done\n")
    _check("lmdb", directory, acked + list(range(400)))

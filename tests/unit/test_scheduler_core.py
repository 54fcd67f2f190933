"""The scheduler core: assignments, hash chain, formats, assignment cache.

Upstream eunit tests of dev_scheduler_server, dev_scheduler_formats and
dev_scheduler_cache that need no HTTP or scheduler processes are ported
where cited; the rest checks the properties the devices rely on.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from hyperbeam.crypto.wallet import Wallet
from hyperbeam.message import commit
from hyperbeam.message.ids import human_id, sha256
from hyperbeam.message.model import Message
from hyperbeam.scheduler import cache as sched_cache
from hyperbeam.scheduler import formats
from hyperbeam.scheduler.assignment import make_assignment, next_hash_chain, verify_chain
from hyperbeam.store.base import Store
from hyperbeam.store.lmdb import LmdbStore
from hyperbeam.store.memory import MemoryStore

PROC = "P" * 43


@pytest.fixture(scope="module")
def wallet() -> Wallet:
    return Wallet.generate()


def _schedule(wallet: Wallet, messages: list[Message], proc: str = PROC) -> list[Message]:
    out: list[Message] = []
    for slot, msg in enumerate(messages):
        prev = out[-1] if out else None
        out.append(make_assignment(proc, slot, msg, prev, wallet, timestamp=1000 + slot))
    return out


@pytest.fixture(scope="module")
def three(wallet: Wallet) -> list[Message]:
    msgs = [
        commit.commit({"data": "test", "random-key": 42}, wallet),
        commit.commit({"data": "test2"}, wallet),
        commit.commit({"data": "test2", "deep-key": {"data": "test3"}}, wallet),
    ]
    return _schedule(wallet, msgs)


def test_new_proc(three: list[Message]) -> None:
    """Upstream: dev_scheduler_server new_proc_test_ (three messages, one
    with a nested key, give current slot 2), without the server process."""
    assert [a["slot"] for a in three] == [0, 1, 2]
    assert three[2]["body"]["deep-key"]["data"] == "test3"


def test_assignment_keys(wallet: Wallet, three: list[Message]) -> None:
    a = three[0]
    assert a["data-protocol"] == "ao"
    assert a["variant"] == "ao.N.1"
    assert a["epoch"] == "0"
    assert a["process"] == PROC
    assert a["path"] == "compute"
    assert a["block-height"] == 0
    assert a["block-timestamp"] == 0
    assert a["block-hash"] == human_id(bytes(32))
    assert a["timestamp"] == 1000
    assert commit.signers(a) == [wallet.address]


def test_path_is_taken_from_the_message(wallet: Wallet) -> None:
    msg = commit.commit({"path": "schedule", "data": "x"}, wallet)
    a = make_assignment(PROC, 0, msg, None, wallet, timestamp=0)
    assert a["path"] == ["schedule"]


def test_hash_chain_links(three: list[Message]) -> None:
    first = sha256(commit.id(three[0]["body"], "all").encode())
    assert three[0]["hash-chain"] == human_id(first)
    second = sha256(first + commit.id(three[1]["body"], "all").encode())
    assert three[1]["hash-chain"] == human_id(second)
    assert next_hash_chain(three[0]["hash-chain"], three[1]["body"]) == second


def test_signed_assignments_verify(three: list[Message]) -> None:
    assert all(commit.verify(a) for a in three)
    assert verify_chain(three)
    assert verify_chain([])


def test_chain_rejects_reordering(three: list[Message]) -> None:
    assert not verify_chain([three[1], three[0], three[2]])
    assert not verify_chain(three[1:])
    assert verify_chain(three[1:], three[0]["hash-chain"])


def test_chain_rejects_tampering(wallet: Wallet, three: list[Message]) -> None:
    changed_body = dict(three[1], body=commit.commit({"data": "other"}, wallet))
    assert not verify_chain([three[0], changed_body, three[2]])
    assert not verify_chain([three[0], changed_body, three[2]], signatures=False)
    # The same tampered content re-chained but not re-signed breaks the signature.
    rechained = dict(
        changed_body,
        **{"hash-chain": human_id(next_hash_chain(three[0]["hash-chain"], changed_body["body"]))},
    )
    assert not verify_chain([three[0], rechained])
    assert verify_chain([three[0], rechained], signatures=False)
    other_proc = make_assignment("Q" * 43, 1, three[1]["body"], three[0], wallet, timestamp=0)
    assert not verify_chain([three[0], other_proc])


def test_unsigned_assignment_fails(three: list[Message]) -> None:
    bare = {k: v for k, v in three[0].items() if k != "commitments"}
    assert not verify_chain([bare])
    assert verify_chain([bare], signatures=False)


def test_negative_slot_refused(wallet: Wallet) -> None:
    with pytest.raises(ValueError):
        make_assignment(PROC, -1, {"data": "x"}, None, wallet)


# --- formats ---------------------------------------------------------------------


def test_bundle_format(three: list[Message]) -> None:
    """Shape of dev_scheduler_formats:assignments_to_bundle/5."""
    out = formats.assignments_to_bundle(PROC, three, False, (7, 8, bytes(32)))
    assert out["type"] == "schedule"
    assert out["process"] == PROC
    assert out["continues"] is False
    assert (out["timestamp"], out["block-height"]) == (7, 8)
    assert out["block-hash"] == human_id(bytes(32))
    assert sorted(out["assignments"]) == ["0", "1", "2"]
    assert out["assignments"]["2"] is three[2]


def test_aos2_format(three: list[Message]) -> None:
    """Shape of dev_scheduler_formats:assignments_to_aos2/4 (as read by
    upstream's http_get_legacy_schedule_as_aos2_test_: edges with cursor
    and node.message/node.assignment)."""
    by_slot = {str(a["slot"]): a for a in reversed(three)}
    body = json.loads(formats.to_aos2_json(by_slot, PROC, True, (7, 8, bytes(32))))
    assert body["page_info"] == {
        "process": PROC,
        "has_next_page": True,
        "timestamp": "7",
        "block-height": "8",
        "block-hash": human_id(bytes(32)),
    }
    assert [e["cursor"] for e in body["edges"]] == [0, 1, 2]
    node = body["edges"][0]["node"]
    assert node["message"]["Id"] == commit.id(three[0]["body"], "all")
    assert node["message"]["Data"] == "test"
    tags = {t["name"]: t["value"] for t in node["assignment"]["Tags"]}
    assert tags["Process"] == PROC
    assert tags["Variant"] == "ao.N.1"
    assert "Body" not in tags
    resp = formats.assignments_to_aos2(PROC, three, False)
    assert resp["content-type"] == "application/json"
    assert json.loads(resp["body"])["page_info"]["has_next_page"] is False


def test_aos2_normalize_types() -> None:
    out = formats.aos2_normalize_types({"timestamp": "5", "nonce": "3", "epoch": "0"})
    assert out == {
        "timestamp": 5,
        "nonce": "3",
        "slot": 3,
        "epoch": 0,
        "block-hash": human_id(bytes(32)),
    }


# --- cache -----------------------------------------------------------------------

STORES: dict[str, Callable[[Path], Store]] = {
    "memory": lambda d: MemoryStore(),
    "lmdb": lambda d: LmdbStore(d / "lmdb", map_size=8 << 20),
}


@pytest.mark.parametrize("kind", sorted(STORES))
def test_store_round_trip(kind: str, tmp_path: Path, three: list[Message]) -> None:
    store = STORES[kind](tmp_path)
    assert sched_cache.latest(PROC, store) is None
    assert sched_cache.read(PROC, 0, store) is None
    for a in three:
        sched_cache.write(a, store)
    assert sched_cache.list_slots(PROC, store) == [0, 1, 2]
    back = [sched_cache.read(PROC, slot, store) for slot in range(3)]
    for a, b in zip(three, back, strict=True):
        assert b is not None
        assert b == a
    assert verify_chain([b for b in back if b is not None])
    found = sched_cache.latest(PROC, store)
    assert found is not None and found[0] == 2
    assert found[1]["hash-chain"] == three[2]["hash-chain"]
    assert sched_cache.latest("Q" * 43, store) is None


def test_latest_after_reopen(tmp_path: Path, wallet: Wallet, three: list[Message]) -> None:
    store = LmdbStore(tmp_path / "lmdb", map_size=8 << 20)
    for a in three[:2]:
        sched_cache.write(a, store)
    store.stop()
    reopened = LmdbStore(tmp_path / "lmdb", map_size=8 << 20)
    found = sched_cache.latest(PROC, reopened)
    assert found is not None and found[0] == 1
    slot, prev = found
    nxt = make_assignment(PROC, slot + 1, three[2]["body"], prev, wallet, timestamp=1002)
    assert nxt["hash-chain"] == three[2]["hash-chain"]
    sched_cache.write(nxt, reopened)
    latest = sched_cache.latest(PROC, reopened)
    assert latest is not None and latest[0] == 2
    back = [a for a in (sched_cache.read(PROC, s, reopened) for s in range(3)) if a]
    assert verify_chain(back)


def test_signatures_survive_store(three: list[Message]) -> None:
    store = MemoryStore()
    for a in three:
        sched_cache.write(a, store)
    back = [sched_cache.read(PROC, slot, store) for slot in range(3)]
    assert all(b is not None and commit.verify(b) for b in back)

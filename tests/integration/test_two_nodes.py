"""A process scheduled on one node computes to the same state, with the same
hashpaths, on a second node that only reads the schedule (over real HTTP).

Node A schedules; node B knows nothing but A's URL as a remote store (for the
process message) and A's signed scheduler location record (which A's
operator publishes and B is given, as a peer would be told). B reads the
schedule from A, keeps it, and computes.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from hyperbeam.crypto.wallet import Wallet
from hyperbeam.http import client
from hyperbeam.message import commit
from hyperbeam.message.ids import human_id
from hyperbeam.message.private import private_of
from hyperbeam.scheduler import cache as schedule_cache
from hyperbeam.scheduler import verify_chain
from tests.conftest import LocalNode

MESSAGES = 5


@pytest.fixture
def nodes(tmp_path: Path) -> Iterator[tuple[LocalNode, LocalNode]]:
    a = LocalNode(tmp_path / "a").start()
    b = LocalNode(tmp_path / "b", remote_stores=a.url).start()
    try:
        yield a, b
    finally:
        b.stop()
        a.stop()


#: Keys of a decoded reply that belong to its HTTP encoding, not to the state.
ENCODING = ("status", "content-type", "body-keys")


def _state(reply: dict[str, Any]) -> dict[str, Any]:
    """A computed state as a node answered it, without the node's own signature."""
    return {k: v for k, v in commit.uncommitted(reply).items() if k not in ENCODING}


def test_second_node_recomputes_the_same_state(nodes: tuple[LocalNode, LocalNode]) -> None:
    a, b = nodes
    assert a.node.wallet is not None and b.node.wallet is not None
    user = Wallet.generate()
    proc = commit.commit(
        {
            "device": "process@1.0",
            "scheduler": a.node.wallet.address,
            "type": "Process",
            "execution-device": "stack@1.0",
            "device-stack": ["test-device@1.0", "test-device@1.0"],
            "seed": random.randint(1, 10**9),
        },
        user,
    )
    pid = human_id(commit.id(proc, "all"))
    post = commit.commit({"path": "/~scheduler@1.0/schedule", "method": "POST", "body": proc}, user)
    assert client.post(a.url, post)[0] == "ok"
    for n in range(MESSAGES):
        msg = commit.commit({"type": "Message", "target": pid, "n": n}, user)
        assert client.post(a.url, {"path": f"/{pid}/schedule", **msg})[0] == "ok"
    # A's operator publishes A's location; B is told of it.
    location = {"path": "/~scheduler@1.0/location", "method": "POST", "url": a.url, "nonce": 1}
    status, record = client.post(a.url, commit.commit(location, a.node.wallet))
    assert status == "ok", record
    status, kept = client.post(
        b.url, {**record, "path": "/~scheduler@1.0/location", "method": "POST"}
    )
    assert status == "ok", kept
    # Before it is told, B cannot know where the process is scheduled.
    assert b.node.store is not None
    # B computes the last slot, reading the schedule from A.
    last = MESSAGES  # slot 0 is the process itself
    status, on_b = client.get(b.url, {"path": f"/{pid}~process@1.0/compute", "slot": last})
    assert status == "ok", on_b
    status, on_a = client.get(a.url, {"path": f"/{pid}~process@1.0/compute", "slot": last})
    assert status == "ok", on_a
    assert _state(on_a) == _state(on_b)
    assert on_b["already-seen"] == [n for s in range(last, -1, -1) for n in (s, s)]
    # The same hashpaths: the live states chain every assignment's ID.
    state_a = a.node.workers.state(pid)
    state_b = b.node.workers.state(pid)
    assert state_a is not None and state_b is not None
    assert private_of(state_a)["hashpath"] == private_of(state_b)["hashpath"]
    # B kept the schedule it read: verified, and chained as A wrote it.
    stored_b = [schedule_cache.read(pid, s, b.node.store) for s in range(last + 1)]
    assert all(x is not None for x in stored_b)
    assert verify_chain(stored_b)  # type: ignore[arg-type]
    # B's slot is A's (B asks A).
    res = httpx.get(f"{b.url}/~scheduler@1.0/slot?target={pid}", timeout=30)
    assert res.status_code == 200
    assert res.headers["current"] == str(last)
    # A message posted to B is forwarded to A, its scheduler.
    msg = commit.commit({"type": "Message", "target": pid, "n": "via-b"}, user)
    status, assignment = client.post(b.url, {"path": f"/{pid}/schedule", **msg})
    assert status == "ok", assignment
    assert assignment["slot"] == last + 1
    assert commit.signers(assignment) == [a.node.wallet.address] or (
        a.node.wallet.address in commit.signers(assignment)
    )


def test_push_between_processes_on_two_nodes(tmp_path: Path) -> None:
    """Upstream: dev_push.erl multi_process_push_test_ across two schedulers:
    a process on node A pings one scheduled by node B; A forwards the ping to
    B's scheduler, computes B's process from B's schedule, and delivers the
    answer back to its own process."""
    b = LocalNode(tmp_path / "b").start()
    a = LocalNode(tmp_path / "a", remote_stores=b.url).start()
    try:
        assert a.node.wallet is not None and b.node.wallet is not None
        user = Wallet.generate()

        def ping_process(scheduler: str) -> dict[str, Any]:
            return commit.commit(
                {
                    "device": "process@1.0",
                    "scheduler": scheduler,
                    "type": "Process",
                    "execution-device": "stack@1.0",
                    "device-stack": ["test-ping@1.0"],
                    "seed": random.randint(1, 10**9),
                },
                user,
            )

        p1, p2 = ping_process(a.node.wallet.address), ping_process(b.node.wallet.address)
        pid1, pid2 = (human_id(commit.id(p, "all")) for p in (p1, p2))
        for node, proc in ((a, p1), (b, p2)):
            post = {"path": "/~scheduler@1.0/schedule", "method": "POST", "body": proc}
            assert client.post(node.url, commit.commit(post, user))[0] == "ok"
        # A learns where B schedules.
        location = {"path": "/~scheduler@1.0/location", "method": "POST", "url": b.url, "nonce": 1}
        status, record = client.post(b.url, commit.commit(location, b.node.wallet))
        assert status == "ok", record
        assert client.post(a.url, {**record, "path": "/~scheduler@1.0/location"})[0] == "ok"
        send = commit.commit(
            {"type": "Message", "target": pid1, "action": "Send", "to": pid2}, user
        )
        status, assignment = client.post(a.url, {**send, "path": f"/{pid1}/schedule"})
        assert status == "ok", assignment
        status, pushed = client.post(
            a.url, {"path": f"/{pid1}~process@1.0/push", "slot": assignment["slot"]}
        )
        assert status == "ok", pushed
        assert pushed["1"]["target"] == pid2
        # The ping is in B's schedule, signed by A and from process 1.
        status, page = client.get(b.url, {"path": f"/{pid2}/schedule", "from": 1})
        assert status == "ok"
        ping = page["assignments"]["1"]["body"]
        assert ping["action"] == "Ping" and ping["from-process"] == pid1
        assert commit.signers(ping) == [a.node.wallet.address]
        assert commit.signers(page["assignments"]["1"]) == [b.node.wallet.address] or (
            b.node.wallet.address in commit.signers(page["assignments"]["1"])
        )
        # B's process answered, and the answer reached process 1 on A.
        res = httpx.get(f"{a.url}/{pid1}~process@1.0/now/results/data", timeout=30)
        assert res.content == b"GOT PONG"
        assert httpx.get(f"{b.url}/{pid2}~process@1.0/now/pings", timeout=30).content == b"1"
    finally:
        a.stop()
        b.stop()

"""A node finds where a process is scheduled from the scheduler's location
record on an Arweave gateway (arlocal, GraphQL ``Type: Scheduler-Location``
signed by the scheduler), reads the schedule there and computes.
Upstream: dev_scheduler:find_remote_scheduler/3, hb_gateway_client:scheduler_location/2."""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path

import pytest

from hyperbeam.codecs import ans104
from hyperbeam.crypto.wallet import Wallet
from hyperbeam.http import client
from hyperbeam.message import commit
from hyperbeam.message.ids import human_id
from hyperbeam.scheduler import cache as schedule_cache
from tests.arlocal import Arlocal, start_arlocal, stop_arlocal
from tests.conftest import LocalNode


@pytest.fixture
def arlocal(tmp_path: Path) -> Iterator[Arlocal]:
    (tmp_path / "arlocal").mkdir()
    running = start_arlocal(tmp_path / "arlocal")
    yield running
    stop_arlocal(running)


def test_location_from_the_gateway(tmp_path: Path, arlocal: Arlocal) -> None:
    a = LocalNode(tmp_path / "a").start()
    b = LocalNode(tmp_path / "b", remote_stores=a.url, gateway=arlocal.url).start()
    try:
        assert a.node.wallet is not None and b.node.store is not None
        scheduler = a.node.wallet
        # The scheduler publishes its location on Arweave, as upstream's
        # `POST /~scheduler@1.0/location` uploads it.
        record = ans104.sign(
            ans104.DataItem(
                data=b"",
                tags=[
                    (b"Data-Protocol", b"ao"),
                    (b"Variant", b"ao.N.1"),
                    (b"Type", b"Scheduler-Location"),
                    (b"Url", a.url.encode()),
                    (b"Nonce", b"1"),
                    (b"Time-To-Live", b"3600000"),
                ],
            ),
            scheduler,
        )
        arlocal.post_items(Wallet.generate(), [record])
        user = Wallet.generate()
        proc = commit.commit(
            {
                "device": "process@1.0",
                "scheduler": scheduler.address,
                "type": "Process",
                "execution-device": "stack@1.0",
                "device-stack": ["test-device@1.0"],
                "seed": random.randint(1, 10**9),
            },
            user,
        )
        pid = human_id(commit.id(proc, "all"))
        post = {"path": "/~scheduler@1.0/schedule", "method": "POST", "body": proc}
        assert client.post(a.url, commit.commit(post, user))[0] == "ok"
        for n in range(3):
            msg = commit.commit({"type": "Message", "target": pid, "n": n}, user)
            assert client.post(a.url, {"path": f"/{pid}/schedule", **msg})[0] == "ok"
        assert schedule_cache.read_location(scheduler.address, b.node.store) is None
        status, state = client.get(b.url, {"path": f"/{pid}~process@1.0/compute", "slot": 3})
        assert status == "ok", state
        assert state["already-seen"] == [3, 2, 1, 0]
        kept = schedule_cache.read_location(scheduler.address, b.node.store)
        assert kept is not None and kept["url"] == a.url
    finally:
        b.stop()
        a.stop()

"""Killing a node (``kill -9``) during a burst of schedule requests loses no
acknowledged assignment and never gives two messages one slot; the restarted
node continues the schedule and its hash chain."""

from __future__ import annotations

import os
import random
import signal
import threading
import time
from pathlib import Path
from typing import Any

from hyperbeam.crypto.wallet import Wallet
from hyperbeam.http import client
from hyperbeam.message import commit
from hyperbeam.message.ids import human_id
from hyperbeam.scheduler import verify_chain
from tests.conftest import start_node, stop_node

CLIENTS = 8


def test_kill_during_a_burst_loses_nothing_acknowledged(tmp_path: Path) -> None:
    node = start_node(tmp_path)
    operator = Wallet.load(node.data_dir / "wallet.json")
    user = Wallet.generate()
    proc = commit.commit(
        {
            "device": "process@1.0",
            "type": "Process",
            "scheduler": operator.address,
            "seed": random.randint(1, 10**9),
        },
        user,
    )
    pid = human_id(commit.id(proc, "all"))
    post = commit.commit({"path": "/~scheduler@1.0/schedule", "method": "POST", "body": proc}, user)
    assert client.post(node.url, post)[0] == "ok"
    # Pre-signed messages, so the burst is as fast as the node allows.
    bodies = [
        commit.commit({"type": "Message", "target": pid, "n": n}, user) for n in range(CLIENTS * 60)
    ]
    acked: dict[int, str] = {}  # slot -> message ID, for every 200 the clients got
    problems: list[str] = []
    lock = threading.Lock()
    stop = threading.Event()

    def burst(offset: int) -> None:
        for body in bodies[offset::CLIENTS]:
            if stop.is_set():
                return
            status, res = client.post(node.url, {"path": f"/{pid}/schedule", **body}, timeout=10)
            if status != "ok":
                if not stop.is_set() and res.get("status") != 502:
                    problems.append(f"refused: {res}")
                return  # 502: the node died under us
            with lock:
                if res["slot"] in acked:
                    problems.append(f"slot {res['slot']} was given twice")
                acked[res["slot"]] = human_id(commit.id(res["body"], "all"))

    threads = [threading.Thread(target=burst, args=(n,)) for n in range(CLIENTS)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 20
    while len(acked) < 40 and time.monotonic() < deadline:
        time.sleep(0.01)
    os.kill(node.process.pid, signal.SIGKILL)
    node.process.wait()
    stop.set()
    for thread in threads:
        thread.join()
    assert not problems, problems
    assert len(acked) >= 40

    restarted = start_node(tmp_path)
    try:
        status, page = client.get(
            restarted.url, {"path": "/~scheduler@1.0/schedule", "target": pid}
        )
        assert status == "ok", page
        stored: dict[str, Any] = page["assignments"]
        slots = sorted(int(s) for s in stored)
        # No gap: every slot from 0 up to the highest stored one.
        assert slots == list(range(len(slots)))
        ordered = [stored[str(s)] for s in slots]
        assert verify_chain(ordered)
        # Every acknowledged assignment is there, with its message.
        for slot, message_id in acked.items():
            assert human_id(commit.id(stored[str(slot)]["body"], "all")) == message_id
        # No message was scheduled twice.
        ids = [human_id(commit.id(a["body"], "all")) for a in ordered]
        assert len(ids) == len(set(ids))
        # The schedule goes on at the next slot.
        extra = commit.commit({"type": "Message", "target": pid, "n": "after"}, user)
        status, res = client.post(restarted.url, {"path": f"/{pid}/schedule", **extra})
        assert status == "ok", res
        assert res["slot"] == len(slots)
        query = {"path": "/~scheduler@1.0/schedule", "target": pid, "from": len(slots) - 1}
        status, page = client.get(restarted.url, query)
        tail = [page["assignments"][str(s)] for s in (len(slots) - 1, len(slots))]
        assert verify_chain(tail[1:], tail[0]["hash-chain"])
    finally:
        stop_node(restarted)

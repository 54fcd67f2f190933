"""A network of three ``hyperbeam serve`` processes (issue 14, item 5): a
router and two workers. The router's request hook (``router@1.0``
``preprocess``) relays what its routes name to the workers, and runs the
rest itself: a process is created and scheduled on worker 1 through the
router, and computed on worker 2 (which reads worker 1's schedule), as the
routes say; node information comes from worker 2; when worker 2 is killed,
what was routed to it gets a clear error and the rest keeps being served."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from hyperbeam.crypto.wallet import Wallet
from hyperbeam.http import client
from hyperbeam.message import commit
from hyperbeam.message.ids import human_id
from tests.conftest import RunningNode, start_node, stop_node

Network = tuple[RunningNode, RunningNode, RunningNode]


@pytest.fixture
def network(tmp_path: Path) -> Iterator[Network]:
    for name in ("w1", "w2", "router"):
        (tmp_path / name).mkdir()
    worker1 = start_node(tmp_path / "w1")
    # Worker 2 reads what it lacks (the processes) from worker 1's store.
    worker2 = start_node(tmp_path / "w2", "--set", f"remote-stores={worker1.url}")
    config = tmp_path / "router.json"
    config.write_text(
        json.dumps(
            {
                "routes": [
                    {"template": "~process@1.0/compute", "node": {"prefix": worker2.url}},
                    {"template": "~process@1.0", "node": {"prefix": worker1.url}},
                    {"template": "^/~scheduler@1.0/", "node": {"prefix": worker1.url}},
                    {"template": "^/~meta@1.0/info/address", "node": {"prefix": worker2.url}},
                ],
                "on": {"request": {"device": "router@1.0", "path": "preprocess"}},
            }
        )
    )
    router = start_node(tmp_path / "router", "--config", str(config))
    try:
        yield router, worker1, worker2
    finally:
        for node in (router, worker2, worker1):
            if node.alive():
                stop_node(node)


def address_of(node: RunningNode) -> str:
    return Wallet.load(node.data_dir / "wallet.json").address


def test_requests_follow_the_routes_and_a_dead_peer_is_a_clear_error(network: Network) -> None:
    router, worker1, worker2 = network
    # Node information comes from worker 2; what no route names, from the router.
    assert httpx.get(f"{router.url}/~meta@1.0/info/address").text == address_of(worker2)
    assert httpx.get(f"{router.url}/~message@1.0&k=v/k").text == "v"

    # A process made and scheduled on worker 1, through the router.
    user = Wallet.generate()
    process = commit.commit(
        {
            "device": "process@1.0",
            "type": "Process",
            "scheduler": address_of(worker1),
            "execution-device": "stack@1.0",
            "device-stack": ["test-device@1.0"],
        },
        user,
    )
    pid = human_id(commit.id(process, "all"))
    status, res = client.post(
        router.url,
        commit.commit(
            {"path": "/~scheduler@1.0/schedule", "method": "POST", "body": process}, user
        ),
    )
    assert status == "ok", res
    for n in range(2):
        msg = commit.commit({"type": "Message", "target": pid, "n": str(n)}, user)
        status, res = client.post(router.url, {**msg, "path": f"/{pid}~process@1.0/schedule"})
        assert status == "ok", res
        assert int(res["slot"]) == n + 1
    status, slot = client.get(router.url, {"path": "/~scheduler@1.0/slot", "target": pid})
    assert status == "ok" and int(slot["current"]) == 2, slot
    # ... and it is worker 1's: worker 2 does not schedule it.
    for worker, schedules in ((worker1, True), (worker2, False)):
        status, info = client.get(worker.url, {"path": "/~scheduler@1.0/status"})
        assert status == "ok" and (pid in str(info.get("processes"))) is schedules, info

    # Worker 1's operator publishes where it schedules; worker 2 is told.
    operator1 = Wallet.load(worker1.data_dir / "wallet.json")
    location = {"path": "/~scheduler@1.0/location", "method": "POST", "url": worker1.url}
    status, record = client.post(worker1.url, commit.commit({**location, "nonce": 1}, operator1))
    assert status == "ok", record
    status, _ = client.post(
        worker2.url, {**record, "path": "/~scheduler@1.0/location", "method": "POST"}
    )
    assert status == "ok"
    # Computing goes to worker 2, which reads the schedule from worker 1.
    status, via_router = client.get(router.url, {"path": f"/{pid}~process@1.0/compute", "slot": 2})
    assert status == "ok", via_router
    assert commit.signers(via_router) == [address_of(worker2)]
    status, on_worker1 = client.get(worker1.url, {"path": f"/{pid}~process@1.0/compute", "slot": 2})
    assert status == "ok", on_worker1
    assert via_router["already-seen"] == on_worker1["already-seen"]

    # Worker 2 dies: its route fails clearly, the rest is served.
    worker2.process.kill()
    worker2.process.wait()
    dead = httpx.get(f"{router.url}/~meta@1.0/info/address", timeout=60)
    assert dead.status_code == 502
    assert worker2.url in dead.text
    assert httpx.get(f"{router.url}/~message@1.0&k=v/k").text == "v"
    status, slot = client.get(router.url, {"path": "/~scheduler@1.0/slot", "target": pid})
    assert status == "ok" and int(slot["current"]) == 2, slot


def test_a_worker_registers_with_a_dynamic_router(tmp_path: Path) -> None:
    """docs/run/joining-running-a-router.md, with upstream's
    scripts/dynamic-router.lua as the router's ``router`` node process: a
    worker offers itself (``/~router@1.0/register``) and the router's routes,
    read through ``route_provider``, then send matching requests to it."""
    script = Path(__file__).parents[1] / "vectors" / "lua" / "upstream" / "dynamic-router.lua"
    for name in ("router", "worker"):
        (tmp_path / name).mkdir()
    router_config = tmp_path / "router.json"
    router_config.write_text(
        json.dumps(
            {
                "node_processes": {
                    "router": {
                        "device": "process@1.0",
                        "execution-device": "lua@5.3a",
                        "scheduler-device": "scheduler@1.0",
                        "module": {
                            "content-type": "text/x-lua",
                            "name": "scripts/dynamic-router.lua",
                            "body": script.read_text(),
                        },
                    }
                },
                "route_provider": "/router~node-process@1.0/now/routes",
                "on": {"request": {"device": "router@1.0", "path": "preprocess"}},
            }
        )
    )
    router = start_node(tmp_path / "router", "--config", str(router_config))
    worker = None
    try:
        worker_config = tmp_path / "worker.json"
        worker_config.write_text(
            json.dumps(
                {
                    "router_peer_location": router.url,
                    "router_template": "^/~meta@1.0/info/address",
                    "router_price": 5,
                }
            )
        )
        worker = start_node(tmp_path / "worker", "--config", str(worker_config))
        # (The worker's own URL is known once it runs.)
        operator = Wallet.load(worker.data_dir / "wallet.json")
        status, _ = client.post(
            worker.url,
            commit.commit(
                {"path": "/~meta@1.0/info", "method": "POST", "router_prefix": worker.url},
                operator,
            ),
        )
        assert status == "ok"
        res = httpx.get(f"{worker.url}/~router@1.0/register", timeout=60)
        assert (res.status_code, res.text) == (200, "Route registered."), res.text
        again = httpx.get(f"{worker.url}/~router@1.0/register", timeout=60)
        assert again.status_code == 400 and "already" in again.text
        routes = httpx.get(f"{router.url}/~router@1.0/routes/1/nodes/1/prefix", timeout=60)
        assert routes.text == worker.url
        # The router now sends that path to the worker.
        assert httpx.get(f"{router.url}/~meta@1.0/info/address").text == operator.address
    finally:
        if worker is not None:
            stop_node(worker)
        stop_node(router)

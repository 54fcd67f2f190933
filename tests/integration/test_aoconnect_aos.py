"""The AO client flow: ``@permaweb/aoconnect`` (0.0.98, mainnet mode) spawns an
AOS process on a real node, sends it messages and reads their results
(tests/js/aoconnect_aos.mjs).

aoconnect sends ANS-104 data items: ``POST /push`` with ``Type: Process``
and ``execution-device: genesis-wasm@1.0`` (run here by the AOS stack, the
image named by ``Module``), ``POST /<pid>~process@1.0/push`` for a message
(``require-codec: application/json``; it reads ``slot``), and ``POST
/<pid>~process@1.0/compute/results=<slot>`` for a result (it reads ``raw``).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from hyperbeam.crypto.wallet import Wallet
from hyperbeam.http import client
from hyperbeam.message import commit
from tests.conftest import RunningNode, start_node, stop_node
from tests.interop.js import run_script
from tests.processes import aos_image


@pytest.fixture(scope="module")
def aoc_node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningNode]:
    running = start_node(tmp_path_factory.mktemp("aoconnect"))
    yield running
    stop_node(running)


def test_aoconnect_spawns_messages_and_reads_results(aoc_node: RunningNode) -> None:
    operator = Wallet.load(aoc_node.data_dir / "wallet.json")
    status, written = client.post(
        aoc_node.url,
        commit.commit(
            {"path": "/~cache@1.0/write", "method": "POST", "body": {"body": aos_image()}},
            operator,
        ),
    )
    assert status == "ok", written
    user = Wallet.generate()
    out: dict[str, Any] = run_script(
        "aoconnect_aos.mjs",
        {
            "url": aoc_node.url,
            "jwk": user.to_jwk(),
            "module": written["path"],
            "scheduler": operator.address,
            "evals": ["return 1+1", "Name = 'aoconnect'", "return Name .. ' ok'"],
        },
        package="@permaweb/aoconnect",
        timeout=240,
    )
    assert "error" not in out, out
    slots = [int(r["slot"]) for r in out["results"]]
    assert slots == [1, 2, 3]
    outputs = [r["result"]["Output"].get("data") for r in out["results"]]
    assert outputs == ["2", "", "aoconnect ok"]
    assert all(r["result"]["Messages"] == [] for r in out["results"])
    # The process aoconnect made is an ordinary process of this node.
    status, slot = client.get(
        aoc_node.url, {"path": "/~scheduler@1.0/slot", "target": out["process"]}
    )
    assert status == "ok" and int(slot["current"]) == 3, slot

"""``@permaweb/aoconnect`` 0.0.98's ``dryrun`` against a real node, in both
its modes (tests/js/aoconnect_dryrun.mjs).

aoconnect spawns an AOS process (``genesis-wasm@1.0``, run here by the AOS
stack) and sets ``Counter = 41`` with a real message; a hyper-aos process
(``lua@5.3a``) is set up the same way by this test (hyper-aos trusts its
owner by an httpsig commitment, which aoconnect's ANS-104 messages lack).
Then, for both processes, aoconnect dry-runs ``return Counter + 1`` in its
mainnet mode (``/<pid>~process@1.0/as=execution/compute&Action=Eval``,
ANS-104-signed) and in its legacy mode (``POST /dry-run?process-id=<pid>``
with the node as its ``CU_URL``): 42 both ways. A dry run of ``Counter =
1000`` changes nothing: a later dry run and the next real message read 41,
and no dry run took a slot.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from hyperbeam.crypto.wallet import Wallet
from hyperbeam.http import client
from hyperbeam.message import commit
from hyperbeam.message.ids import human_id
from tests.conftest import RunningNode, start_node, stop_node
from tests.interop.js import run_script
from tests.processes import aos_image, hyper_aos_code, hyper_aos_process


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningNode]:
    running = start_node(tmp_path_factory.mktemp("aoconnect-dryrun"))
    yield running
    stop_node(running)


def write(node: RunningNode, operator: Wallet, body: dict[str, Any]) -> str:
    status, res = client.post(
        node.url,
        commit.commit({"path": "/~cache@1.0/write", "method": "POST", "body": body}, operator),
    )
    assert status == "ok", res
    return str(res["path"])


def hyper_aos_with_counter(node: RunningNode, operator: Wallet, user: Wallet) -> str:
    module = write(node, operator, {"content-type": "application/lua", "data": hyper_aos_code()})
    proc = commit.commit(hyper_aos_process(operator.address, module), user)
    status, res = client.post(
        node.url,
        commit.commit({"path": "/~scheduler@1.0/schedule", "method": "POST", "body": proc}, user),
    )
    assert status == "ok", res
    pid = human_id(commit.id(proc, "all"))
    msg = commit.commit(
        {"type": "Message", "target": pid, "action": "Eval", "data": "Counter = 41"}, user
    )
    status, res = client.post(node.url, {**msg, "path": f"/{pid}~process@1.0/schedule"})
    assert status == "ok", res
    res = httpx.get(f"{node.url}/{pid}~process@1.0/compute&slot=1/at-slot", timeout=120)
    assert res.status_code == 200, res.text
    return pid


def data(result: dict[str, Any]) -> Any:
    """``Output.data`` of what aoconnect's ``dryrun`` or ``result`` gave."""
    out = result.get("Output")
    return out.get("data") if isinstance(out, dict) else out


def current_slot(node: RunningNode, pid: str) -> int:
    res = httpx.get(f"{node.url}/{pid}~process@1.0/slot/current", timeout=120)
    assert res.status_code == 200, res.text
    return int(res.text)


def test_aoconnect_dryrun_in_mainnet_and_legacy_modes(node: RunningNode) -> None:
    operator = Wallet.load(node.data_dir / "wallet.json")
    user = Wallet.generate()
    image = write(node, operator, {"body": aos_image()})
    lua = hyper_aos_with_counter(node, operator, user)
    out: dict[str, Any] = run_script(
        "aoconnect_dryrun.mjs",
        {
            "url": node.url,
            "jwk": user.to_jwk(),
            "owner": user.address,
            "module": image,
            "scheduler": operator.address,
            "processes": [lua],
        },
        package="@permaweb/aoconnect",
        timeout=240,
    )
    assert "error" not in out, out
    aos = out["spawned"]
    assert set(out["dryruns"]) == {aos, lua}
    for pid, runs in out["dryruns"].items():
        assert data(runs["mainnet"]) == "42", (pid, runs)
        assert data(runs["legacy"]) == "42", (pid, runs)
        assert runs["legacy"]["Messages"] == [] and "GasUsed" in runs["legacy"], runs
        assert data(runs["after"]) == "41", (pid, runs)
    # No dry run took a slot: aoconnect's process has its spawn, `Counter =
    # 41` and the last message; the Lua one its spawn and `Counter = 41`.
    assert int(out["last"]) == int(out["slot"]) + 1 == 2
    assert data(out["after"]) == "41", out["after"]
    assert current_slot(node, aos) == 2
    assert current_slot(node, lua) == 1

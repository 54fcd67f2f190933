"""Dry runs on a real node (issue 16, item 3): a message evaluated against a
process's latest state without scheduling it, over HTTP.

Mainnet form (aoconnect's ``dryrun``): ``POST /<pid>~process@1.0/
as=execution/compute`` with the message's keys; legacy compute-unit form:
``POST /dry-run?process-id=<pid>`` with ``{Id, Target, Owner, Anchor, Data,
Tags}`` JSON. For an AOS (WASM) process and a hyper-aos (``lua@5.3a``)
process: state set by real messages is read (``Counter = 41``, then ``return
Counter + 1`` gives 42), a dry run that changes the state changes nothing
(no slot is taken; the next real message still sees 41), and a missing
process or a malformed request is a clear 404 or 400.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from hyperbeam.crypto.wallet import Wallet
from hyperbeam.http import client
from hyperbeam.message import commit
from hyperbeam.message.ids import human_id
from tests.conftest import RunningNode, start_node, stop_node
from tests.processes import aos_image, aos_process, hyper_aos_code, hyper_aos_process

TIMEOUT = 120


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningNode]:
    running = start_node(tmp_path_factory.mktemp("dry-run"))
    yield running
    stop_node(running)


@pytest.fixture(scope="module")
def operator(node: RunningNode) -> Wallet:
    return Wallet.load(node.data_dir / "wallet.json")


@pytest.fixture(scope="module")
def user() -> Wallet:
    return Wallet.generate()


def write(node: RunningNode, operator: Wallet, body: dict[str, Any]) -> str:
    status, res = client.post(
        node.url,
        commit.commit({"path": "/~cache@1.0/write", "method": "POST", "body": body}, operator),
    )
    assert status == "ok", res
    return str(res["path"])


def spawn(node: RunningNode, user: Wallet, process: dict[str, Any]) -> str:
    proc = commit.commit(process, user)
    status, res = client.post(
        node.url,
        commit.commit({"path": "/~scheduler@1.0/schedule", "method": "POST", "body": proc}, user),
    )
    assert status == "ok", res
    return human_id(commit.id(proc, "all"))


def eval_message(user: Wallet, pid: str, code: str) -> dict[str, Any]:
    return commit.commit({"type": "Message", "target": pid, "action": "Eval", "data": code}, user)


def send(node: RunningNode, user: Wallet, pid: str, code: str) -> int:
    msg = eval_message(user, pid, code)
    status, res = client.post(node.url, {**msg, "path": f"/{pid}~process@1.0/schedule"})
    assert status == "ok", res
    return int(res["slot"])


def current_slot(node: RunningNode, pid: str) -> int:
    res = httpx.get(f"{node.url}/{pid}~process@1.0/slot/current", timeout=TIMEOUT)
    assert res.status_code == 200, res.text
    return int(res.text)


def output_at(node: RunningNode, pid: str, slot: int) -> str:
    """What the message of ``slot`` printed (the AOS response aoconnect reads)."""
    status, results = client.get(
        node.url, {"path": f"/{pid}~process@1.0/compute/results", "slot": slot}, timeout=TIMEOUT
    )
    assert status == "ok", results
    return _output(results)


def _output(results: dict[str, Any]) -> str:
    """``Output.data`` of a results message's ``raw`` AOS response."""
    return _data(json.loads(results["raw"]["body"]))


def _data(response: dict[str, Any]) -> str:
    """``Output.data`` of an AOS response."""
    out = response.get("Output", "")
    return str(out.get("data", "") if isinstance(out, dict) else out)


def dry_run(node: RunningNode, user: Wallet, pid: str, code: str) -> dict[str, Any]:
    """aoconnect's mainnet form, signed (httpsig) by ``user``."""
    status, res = client.post(
        node.url,
        {**eval_message(user, pid, code), "path": f"/{pid}~process@1.0/as=execution/compute"},
        timeout=TIMEOUT,
    )
    assert status == "ok", res
    assert isinstance(res, dict)
    return res


def legacy_dry_run(node: RunningNode, pid: str, body: Any) -> httpx.Response:
    """A legacy compute unit's form, as aoconnect's legacy mode sends it."""
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return httpx.post(
        f"{node.url}/dry-run?process-id={pid}",
        content=content,
        headers={"content-type": "application/json"},
        timeout=TIMEOUT,
    )


def legacy_eval(pid: str, owner: str, code: str) -> dict[str, Any]:
    return {
        "Id": "1234",
        "Target": pid,
        "Owner": owner,
        "Anchor": "0",
        "Data": code,
        "Tags": [{"name": "Action", "value": "Eval"}],
    }


@pytest.fixture(scope="module")
def aos_pid(node: RunningNode, operator: Wallet, user: Wallet) -> str:
    image = write(node, operator, {"body": aos_image()})
    return spawn(node, user, aos_process(operator.address, image))


@pytest.fixture(scope="module")
def lua_pid(node: RunningNode, operator: Wallet, user: Wallet) -> str:
    module = write(node, operator, {"content-type": "application/lua", "data": hyper_aos_code()})
    return spawn(node, user, hyper_aos_process(operator.address, module))


@pytest.mark.parametrize("kind", ["aos", "hyper-aos"])
def test_a_dry_run_reads_the_latest_state_and_changes_nothing(
    node: RunningNode, user: Wallet, aos_pid: str, lua_pid: str, kind: str
) -> None:
    pid = aos_pid if kind == "aos" else lua_pid
    set_at = send(node, user, pid, "Counter = 41")
    output_at(node, pid, set_at)  # computed: the live state holds Counter = 41
    assert current_slot(node, pid) == set_at

    assert _output(dry_run(node, user, pid, "return Counter + 1")) == "42"
    # A dry run that sets the state, then one that reads it: each starts
    # from the process's state, and neither took a slot.
    dry_run(node, user, pid, "Counter = 1000")
    assert _output(dry_run(node, user, pid, "return Counter")) == "41"
    res = legacy_dry_run(node, pid, legacy_eval(pid, user.address, "return Counter + 1"))
    assert res.status_code == 200, res.text
    answer = res.json()
    assert _data(answer) == "42", answer
    assert answer["Messages"] == [] and answer["Spawns"] == [] and "GasUsed" in answer
    assert current_slot(node, pid) == set_at

    # The next real message computes as if the dry runs never happened.
    assert output_at(node, pid, send(node, user, pid, "return Counter")) == "41"


def test_a_dry_run_sees_its_sender(
    node: RunningNode, user: Wallet, aos_pid: str, lua_pid: str
) -> None:
    """Eval is for the process's owner: a dry run signed by someone else,
    or naming no owner, is handled as that sender's message would be."""
    stranger = Wallet.generate()
    for pid in (aos_pid, lua_pid):
        assert _output(dry_run(node, user, pid, "return 6 * 7")) == "42"
        assert _output(dry_run(node, stranger, pid, "return 6 * 7")) != "42"
        anonymous = legacy_eval(pid, "", "return 6 * 7")
        del anonymous["Owner"]
        res = legacy_dry_run(node, pid, anonymous)
        assert res.status_code == 200, res.text
        assert _data(res.json()) != "42", res.json()
        res = legacy_dry_run(node, pid, legacy_eval(pid, user.address, "return 6 * 7"))
        assert _data(res.json()) == "42", res.json()


def test_a_lua_state_without_a_snapshot_is_replayed_for_a_dry_run(
    node: RunningNode, operator: Wallet, user: Wallet
) -> None:
    """A Lua state holding a suspended coroutine cannot be copied by a
    snapshot: the dry run replays the slots after the latest stored one."""
    module = write(node, operator, {"content-type": "application/lua", "data": hyper_aos_code()})
    pid = spawn(node, user, hyper_aos_process(operator.address, module))
    send(node, user, pid, "Counter = 41")
    slot = send(
        node,
        user,
        pid,
        "Waiting = coroutine.create(function() coroutine.yield() end); coroutine.resume(Waiting)",
    )
    output_at(node, pid, slot)
    assert _output(dry_run(node, user, pid, "return Counter + 1")) == "42"
    assert f"no snapshot of the live state of {pid}" in node.log.read_text()
    assert output_at(node, pid, send(node, user, pid, "return Counter")) == "41"


def test_a_dry_run_of_no_process_is_a_404(node: RunningNode, user: Wallet) -> None:
    missing = human_id(bytes(32))
    status, res = client.post(
        node.url,
        {
            **eval_message(user, missing, "1"),
            "path": f"/{missing}~process@1.0/as=execution/compute",
        },
    )
    assert status == "error" and res["status"] == 404, res
    res = legacy_dry_run(node, missing, legacy_eval(missing, user.address, "1"))
    assert res.status_code == 404, res.text
    assert missing in res.json()["Error"]


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"{not json", "JSON"),
        (b"[1, 2]", "JSON object"),
        ({"Target": "x", "Tags": [{"value": "no name"}]}, "Tags"),
        ({"Tags": "Action=Eval"}, "Tags"),
        ({"Data": {"a": 1}}, "Data"),
    ],
)
def test_a_malformed_legacy_dry_run_is_a_400(
    node: RunningNode, aos_pid: str, body: Any, reason: str
) -> None:
    res = legacy_dry_run(node, aos_pid, body)
    assert res.status_code == 400, res.text
    assert reason in res.json()["Error"]


def test_a_malformed_dry_run_is_a_400(
    node: RunningNode, operator: Wallet, user: Wallet, aos_pid: str
) -> None:
    # No process named (in the query or as Target).
    res = httpx.post(f"{node.url}/dry-run", json={"Tags": []}, timeout=TIMEOUT)
    assert res.status_code == 400 and "process-id" in res.json()["Error"], res.text
    # Only the execution device answers dry runs.
    status, res = client.post(
        node.url,
        {**eval_message(user, aos_pid, "1"), "path": f"/{aos_pid}~process@1.0/as=scheduler/slot"},
    )
    assert status == "error" and res["status"] == 400, res
    # A message that is not a process.
    other = write(node, operator, {"body": "not a process"})
    status, res = client.post(
        node.url,
        {**eval_message(user, other, "1"), "path": f"/{other}~process@1.0/as=execution/compute"},
    )
    assert status == "error" and res["status"] == 400, res

"""``json-iface@1.0``: the eunit tests of dev_json_iface.erl, in-process
against a real node with the AOS build of tests/js/aos, and the shapes it
converts between (messages to AOS's JSON, AOS's answers to results).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

from hyperbeam import cache
from hyperbeam.ao.resolve import get, resolve
from hyperbeam.config import NodeConfig
from hyperbeam.devices import json_iface
from hyperbeam.message import commit
from hyperbeam.message.ids import human_id
from hyperbeam.node import Node
from tests.processes import AOS_STACK, aos_image


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Node]:
    """One node for the module: the tests share nothing but its store
    (each writes its own messages) and its WASM runtime (compiled modules)."""
    running = Node(NodeConfig(data_dir=tmp_path_factory.mktemp("node"), gateway=""))
    running.prepare()
    yield running
    running.close()


def generate_stack(node: Node) -> dict[str, Any]:
    """Upstream: dev_json_iface.erl generate_stack/1: the AOS stack run
    directly (no process device), with a signed process under ``process``."""
    assert node.store is not None and node.wallet is not None
    local = node.store.only("local")
    assert local is not None
    image_id = cache.write({"body": aos_image()}, local)
    msg1 = {
        "device": "Stack@1.0",
        "image": image_id,
        "device-stack": AOS_STACK,
        "input-prefix": "process",
        "output-prefix": "wasm",
        "passes": 2,
        "stack-keys": ["init", "compute"],
        "process": commit.commit(
            {
                "type": "Process",
                "image": image_id,
                "scheduler": node.wallet.address,
                "authority": node.wallet.address,
            },
            node.wallet,
        ),
    }
    status, msg2 = resolve(msg1, "init", node.opts())
    assert status == "ok", msg2
    result: dict[str, Any] = msg2
    return result


def generate_aos_msg(node: Node, body: dict[str, Any]) -> dict[str, Any]:
    """Upstream: dev_json_iface.erl generate_aos_msg/2: a signed ``compute``
    request carrying the message (signed) as its body."""
    assert node.wallet is not None
    signed = body if "commitments" in body else commit.commit(body, node.wallet)
    return commit.commit({"path": "compute", "body": signed, "block-height": 1}, node.wallet)


def booted_stack(node: Node) -> tuple[dict[str, Any], str]:
    """The stack after AOS has seen its process message (which this AOS
    build needs first, to learn its owner); and the process ID."""
    stack = generate_stack(node)
    proc = stack["process"]
    status, booted = resolve(stack, generate_aos_msg(node, proc), node.opts())
    assert status == "ok", booted
    return booted, human_id(commit.id(proc, "all"))


def eval_msg(node: Node, pid: str, code: str) -> dict[str, Any]:
    return generate_aos_msg(node, {"Action": "Eval", "Data": code, "Target": pid})


def test_basic_aos_call(node: Node) -> None:
    """Upstream: dev_json_iface.erl basic_aos_call_test_."""
    stack, pid = booted_stack(node)
    status, msg3 = resolve(stack, eval_msg(node, pid, "return 1+1"), node.opts())
    assert status == "ok", msg3
    assert get("results/data", msg3, node.opts()) == "2"
    assert msg3["results"]["wasm"]["type"] == "ok"
    answer = json.loads(msg3["results"]["raw"]["body"])
    assert answer["Output"]["data"] == "2"
    assert msg3["results"]["raw"]["content-type"] == "application/json"


def test_aos_error_then_eval(node: Node) -> None:
    """A Lua error is AOS's answer (``Error``, as ``results/data``); the
    state stays usable."""
    stack, pid = booted_stack(node)
    status, failed = resolve(stack, eval_msg(node, pid, "error('broken')"), node.opts())
    assert status == "ok"
    assert "broken" in failed["results"]["data"]
    assert "Error" in json.loads(failed["results"]["raw"]["body"])
    status, fine = resolve(failed, eval_msg(node, pid, "return 'after'"), node.opts())
    assert status == "ok" and fine["results"]["data"] == "after"


def test_aos_state_persists_between_calls(node: Node) -> None:
    stack, pid = booted_stack(node)
    status, one = resolve(stack, eval_msg(node, pid, "Counter = 41"), node.opts())
    assert status == "ok"
    status, two = resolve(
        one, eval_msg(node, pid, "Counter = Counter + 1; return Counter"), node.opts()
    )
    assert status == "ok" and two["results"]["data"] == "42"


def test_aos_outbox(node: Node) -> None:
    """AOS's ``Messages`` become ``results/outbox/1...``: fields lower-cased,
    tags as keys, ``from-process`` and ``from-image`` added."""
    stack, pid = booted_stack(node)
    code = (
        "ao.send({ Target = ao.id, Action = 'Ping', Data = 'payload' }); "
        "ao.send({ Target = ao.id, Action = 'Pong' })"
    )
    status, out = resolve(stack, eval_msg(node, pid, code), node.opts())
    assert status == "ok", out
    outbox = out["results"]["outbox"]
    assert set(outbox) == {"1", "2"}
    first = outbox["1"]
    assert first["target"] == pid
    assert first["action"] == "Ping"
    assert first["data"] == "payload"
    assert first["from-process"] == pid
    assert first["from-image"] == stack["process"]["image"]
    assert "tags" not in first
    assert outbox["2"]["action"] == "Pong"


def test_aos_stack_benchmark(node: Node) -> None:
    """Upstream: dev_json_iface.erl aos_stack_benchmark_test_ (at least 10
    messages, here within half a second)."""
    stack, pid = booted_stack(node)
    status, initialized = resolve(stack, eval_msg(node, pid, "return 1"), node.opts())
    assert status == "ok"
    msg = eval_msg(node, pid, "return 1+1")
    deadline = time.perf_counter() + 0.5
    iterations = 0
    while time.perf_counter() < deadline:
        status, out = resolve(initialized, msg, node.opts())
        assert status == "ok" and out["results"]["data"] == "2"
        iterations += 1
    assert iterations >= 10


# --- the shapes ------------------------------------------------------------------


def test_message_to_json_struct_of_a_signed_message(node: Node) -> None:
    """Upstream: dev_json_iface.erl message_to_json_struct/1 and prep_call/3:
    ``Owner`` is the signer's address, ``From`` the owner, the other keys
    are header-cased ``Tags``; ``Module`` and ``Block-Height`` are added."""
    wallet = node.wallet
    assert wallet is not None
    proc = commit.commit({"type": "Process", "image": "I" * 43}, wallet)
    pid = human_id(commit.id(proc, "all"))
    msg = commit.commit(
        {"action": "Eval", "data": "return 1", "target": pid, "x-custom-tag": "v"}, wallet
    )
    struct = json.loads(json_iface.message_json(msg, proc, 17))
    assert struct["Id"] == human_id(commit.id(msg, "all"))
    assert struct["Owner"] == wallet.address
    assert struct["From"] == wallet.address
    assert struct["Target"] == pid
    assert struct["Data"] == "return 1"
    assert struct["Module"] == "I" * 43
    assert struct["Block-Height"] == 17
    assert struct["Signature"]
    tags = {t["name"]: t["value"] for t in struct["Tags"]}
    assert tags["Action"] == "Eval"
    assert tags["X-Custom-Tag"] == "v"
    assert not {"Data", "Target", "Owner", "Id"} & set(tags)


def test_from_process_sets_from(node: Node) -> None:
    wallet = node.wallet
    assert wallet is not None
    sender = "S" * 43
    msg = commit.commit({"action": "Hi", "from-process": sender}, wallet)
    struct = json.loads(json_iface.message_json(msg, {"image": "m"}, 1))
    assert struct["From"] == sender
    assert struct["Owner"] == wallet.address


def test_env_json(node: Node) -> None:
    wallet = node.wallet
    assert wallet is not None
    proc = commit.commit(
        {"type": "Process", "image": "I" * 43, "authority": wallet.address}, wallet
    )
    env = json.loads(json_iface.env_json(proc))
    assert set(env) == {"Process"}
    assert env["Process"]["Id"] == human_id(commit.id(proc, "all"))
    assert env["Process"]["Owner"] == wallet.address
    tags = {t["name"]: t["value"] for t in env["Process"]["Tags"]}
    assert tags == {"Type": "Process", "Image": "I" * 43, "Authority": wallet.address}


def test_json_to_message() -> None:
    """Upstream: dev_json_iface.erl json_to_message/2, normalize_results/1,
    preprocess_results/2 and tags_to_map/1."""
    response = {
        "Output": {"data": "done", "prompt": "> "},
        "Messages": [
            {
                "Target": "T" * 43,
                "Anchor": "00001",
                "Data": {"Deep": 4, "Bool": True, "Nothing": None},
                "Tags": [
                    {"name": "Action", "value": "State"},
                    {"name": "Content-Type", "value": "application/json"},
                ],
            }
        ],
        "patches": [{"Tags": [{"name": "X", "value": "banana"}]}, "not a patch"],
        "Spawns": [],
    }
    converted = json_iface.json_to_message(response)
    assert converted["data"] == "done"
    assert converted["outbox"] == {
        "1": {
            "target": "T" * 43,
            "data": {"Deep": 4, "Bool": True, "Nothing": ""},
            "action": "State",
            "content-type": "application/json",
        }
    }
    assert converted["patches"] == [{"x": "banana"}]
    assert converted["raw"]["content-type"] == "application/json"
    assert json.loads(converted["raw"]["body"]) == response


def test_json_to_message_error_and_bare_output() -> None:
    errored = json_iface.json_to_message({"Error": "boom", "Messages": [{"Target": "x"}]})
    assert errored["data"] == "boom"
    assert errored["outbox"] == {}
    bare = json_iface.json_to_message({"Output": "plain"})
    assert bare["data"] == "plain" and bare["outbox"] == {}
    with pytest.raises(ValueError, match=r"neither Output\.data nor Error"):
        json_iface.json_to_message({"Messages": []})
    with pytest.raises(ValueError, match="Messages is not a list"):
        json_iface.json_to_message({"Output": {"data": ""}, "Messages": {"1": {}}})


def pass_two(output: Any, kind: str = "ok") -> tuple[str, Any]:
    """json-iface@1.0's second pass on a state whose WASM result is ``output``."""
    state = {
        "device": "json-iface@1.0",
        "pass": 2,
        "output-prefix": "wasm",
        "results": {"wasm": {"type": kind, "output": output}},
    }
    return resolve(state, "compute", {"hashpath": "ignore", "error_strategy": "stop"})


def test_results_pass() -> None:
    status, state = pass_two(b'{"ok": true, "response": {"Output": {"data": "hi"}}}')
    assert status == "ok"
    assert state["results"]["data"] == "hi"
    assert state["results"]["outbox"] == {}


@pytest.mark.parametrize(
    "output",
    [b"not json", b'{"ok": false}', b'{"ok": true, "response": "text"}', b"[1, 2]"],
)
def test_results_pass_with_a_bad_answer(output: bytes) -> None:
    status, reason = pass_two(output)
    assert status == "error"
    assert "JSON error parsing result output" in str(reason)


def test_results_pass_after_a_failed_call() -> None:
    status, reason = pass_two("calling handle: wasm trap: unreachable", kind="error")
    assert status == "error"
    assert "WASM execution error" in str(reason)
    assert "unreachable" in str(reason)


def test_prepare_pass_needs_a_message(node: Node) -> None:
    state = {"device": "json-iface@1.0", "pass": 1, "process": {"image": "x"}}
    status, reason = resolve(state, {"path": "compute"}, {**node.opts(), "hashpath": "ignore"})
    assert status == "error"
    assert "needs a message in the body" in str(reason)

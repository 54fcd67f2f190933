"""``wasi@1.0``: the eunit tests of dev_wasi.erl, in-process against a real
node, with our own memory64 module (tests/wasm_modules.py wasi_hello) in
place of upstream's test-print.wasm, and the AOS build of tests/js/aos.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Iterator
from typing import Any

import pytest

from hyperbeam import cache
from hyperbeam.ao.resolve import get, resolve
from hyperbeam.config import NodeConfig
from hyperbeam.devices import wasi
from hyperbeam.message import commit
from hyperbeam.message.private import private_of
from hyperbeam.node import Node
from hyperbeam.wasm.instance import WasmInstance
from tests import wasm_modules as wm
from tests.processes import aos_image


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Node]:
    """One node for the module: the tests share nothing but its store
    (each writes its own messages) and its WASM runtime (compiled modules)."""
    running = Node(NodeConfig(data_dir=tmp_path_factory.mktemp("node"), gateway=""))
    running.prepare()
    yield running
    running.close()


def generate_wasi_stack(node: Node, image: bytes, func: str, params: list[Any]) -> dict[str, Any]:
    """Upstream: dev_wasi.erl generate_wasi_stack/3: ``WASI@1.0`` and
    ``WASM-64@1.0`` in a stack, both writing under ``wasm``, initialized."""
    assert node.store is not None
    local = node.store.only("local")
    assert local is not None
    image_id = cache.write({"body": image}, local)
    msg1 = {
        "device": "stack@1.0",
        "image": image_id,
        "device-stack": ["WASI@1.0", "WASM-64@1.0"],
        "output-prefixes": ["wasm", "wasm"],
        "stack-keys": ["init", "compute"],
        "function": func,
        "parameters": params,
    }
    status, msg2 = resolve(msg1, "init", node.opts())
    assert status == "ok", msg2
    result: dict[str, Any] = msg2
    return result


def instance(stack: dict[str, Any]) -> WasmInstance:
    found = private_of(stack)["wasm"]["instance"]
    assert isinstance(found, WasmInstance)
    return found


def roundtrip(msg: dict[str, Any]) -> Any:
    """``msg`` encoded as httpsig@1.0 and decoded again, minimized."""
    encoded = commit.convert(msg, "httpsig@1.0")
    return commit.minimize(commit.convert(encoded, "structured@1.0", "httpsig@1.0"))


def test_init_sets_up_the_stdlib_and_vfs(node: Node) -> None:
    stack = generate_wasi_stack(node, wm.wasi_hello(), "hello", [1])
    assert get("wasm/stdlib/wasi_snapshot_preview1/device", stack, node.opts()) == "wasi@1.0"
    assert stack["file-descriptors"]["1"] == {"filename": "/dev/stdout", "offset": 0}
    assert stack["vfs"] == {"dev": {"stdin": b"", "stdout": b"", "stderr": b""}}


def test_vfs_is_serializable(node: Node) -> None:
    """Upstream: dev_wasi.erl vfs_is_serializable_test (also once the
    module has written to it)."""
    stack = generate_wasi_stack(node, wm.wasi_hello(), "hello", [1])
    vfs = get("vfs", stack, node.opts())
    assert commit.match(vfs, roundtrip(vfs))
    status, after = resolve(stack, "compute", node.opts())
    assert status == "ok"
    written = get("vfs", after, node.opts())
    back = roundtrip(written)
    assert commit.match(written, back)
    assert back["dev"]["stdout"] in (wm.WASI_HELLO, wm.WASI_HELLO.decode())
    assert not commit.match(vfs, back)


def test_wasi_stack_is_serializable(node: Node) -> None:
    """Upstream: dev_wasi.erl wasi_stack_is_serializable_test: the whole
    state (its live instance is private, so it is left out)."""
    stack = generate_wasi_stack(node, wm.wasi_hello(), "hello", [1])
    public = {k: v for k, v in stack.items() if k != "priv"}
    assert commit.match(public, roundtrip(stack))


def test_stdout(node: Node) -> None:
    """A memory64 module's ``fd_write`` (64-bit iovecs) lands in the vfs:
    standard output, the descriptor's offset and the count written."""
    stack = generate_wasi_stack(node, wm.wasi_hello(), "hello", [1])
    status, after = resolve(stack, "compute", node.opts())
    assert status == "ok", after
    assert get("results/wasm/output", after, node.opts()) == [wasi.ESUCCESS]
    assert wasi.stdout(after) == wm.WASI_HELLO
    assert after["file-descriptors"]["1"]["offset"] == len(wm.WASI_HELLO)
    assert instance(after).read(64, 8) == struct.pack("<Q", len(wm.WASI_HELLO))
    assert resolve({**after, "device": "wasi@1.0"}, "stdout", node.opts()) == (
        "ok",
        wm.WASI_HELLO,
    )
    # A second write appends at the descriptor's offset.
    status, again = resolve(after, "compute", node.opts())
    assert status == "ok"
    assert wasi.stdout(again) == wm.WASI_HELLO * 2
    assert again["file-descriptors"]["1"]["offset"] == 2 * len(wm.WASI_HELLO)


def test_stderr_and_bad_descriptor(node: Node) -> None:
    stack = generate_wasi_stack(node, wm.wasi_hello(), "hello", [2])
    status, after = resolve(stack, "compute", node.opts())
    assert status == "ok"
    assert after["vfs"]["dev"]["stderr"] == wm.WASI_HELLO
    assert wasi.stdout(after) == b""
    status, bad = resolve({**after, "parameters": [9]}, "compute", node.opts())
    assert status == "ok"
    assert get("results/wasm/output", bad, node.opts()) == [wasi.EBADF]
    assert bad["vfs"] == after["vfs"]


def test_files(node: Node) -> None:
    """``path_open`` (with and without ``O_CREAT``), ``fd_write``, ``fd_seek``,
    ``fd_read`` and ``fd_close`` on a file of the vfs."""
    stack = generate_wasi_stack(node, wm.wasi_files(), "files", [0])
    status, missing = resolve(stack, "compute", node.opts())
    assert status == "ok"
    assert get("results/wasm/output", missing, node.opts()) == [wasi.ENOENT]
    assert "data" not in missing["vfs"]

    status, done = resolve({**stack, "parameters": [wasi.O_CREAT]}, "compute", node.opts())
    assert status == "ok", done
    assert get("results/wasm/output", done, node.opts()) == [3]  # after 0, 1 and 2
    assert done["vfs"]["data"]["out.txt"] == wm.WASI_FILE_TEXT
    inst = instance(done)
    errnos = struct.unpack("<6i", inst.read(400, 24))
    assert errnos == (0, 0, 0, 0, 0, wasi.EBADF)  # the second close finds no descriptor
    assert inst.read(300, 3) == wm.WASI_FILE_TEXT[2:5]
    written, offset, read = struct.unpack("<QQQ", inst.read(64, 24))
    assert (written, offset, read) == (len(wm.WASI_FILE_TEXT), 2, 3)
    assert set(done["file-descriptors"]) == {"0", "1", "2"}  # closed again
    # The file is part of the state, and so survives an httpsig round trip.
    assert roundtrip(done["vfs"])["data"]["out.txt"] in (
        wm.WASI_FILE_TEXT,
        wm.WASI_FILE_TEXT.decode(),
    )


# --- AOS -------------------------------------------------------------------------

TEST_ENV = {
    "Process": {
        "Id": "AOS",
        "Owner": "FOOBAR",
        "Tags": [{"name": "Name", "value": "Thomas"}, {"name": "Authority", "value": "FOOBAR"}],
    }
}


def gen_test_aos_msg(msg_id: str, tags: list[dict[str, str]], data: str) -> bytes:
    """Upstream: dev_wasi.erl gen_test_aos_msg/1 (with the ID and tags given)."""
    msg = {
        "From": "FOOBAR",
        "Block-Height": "1",
        "Target": "AOS",
        "Owner": "FOOBAR",
        "Id": msg_id,
        "Module": "W",
        "Tags": tags,
        "Data": data,
    }
    return json.dumps(msg).encode() + b"\0"


def aos_call(node: Node, stack: dict[str, Any], msg: bytes) -> tuple[dict[str, Any], Any]:
    """Write the message and environment into AOS's memory by hand, run
    ``handle`` through the stack, and decode its answer."""
    inst = instance(stack)
    env = json.dumps(TEST_ENV).encode() + b"\0"
    ptr1 = inst.malloc(len(msg))
    assert ptr1 != 0
    inst.write(ptr1, msg)
    ptr2 = inst.malloc(len(env))
    assert ptr2 != 0
    inst.write(ptr2, env)
    assert inst.read(ptr1, len(msg)) == msg
    assert inst.read(ptr2, len(env)) == env
    status, state = resolve({**stack, "parameters": [ptr1, ptr2]}, "compute", node.opts())
    assert status == "ok", state
    [ptr] = get("results/wasm/output", state, node.opts())
    return state, json.loads(inst.read_string(ptr))


def test_basic_aos_exec(node: Node) -> None:
    """Upstream: dev_wasi.erl basic_aos_exec_test. This AOS build must see
    its process message first (it sets the owner), so the Eval is the
    second message."""
    stack = generate_wasi_stack(node, aos_image(), "handle", [])
    boot_tags = [
        {"name": "Type", "value": "Process"},
        {"name": "Name", "value": "Thomas"},
        {"name": "Authority", "value": "FOOBAR"},
    ]
    stack, booted = aos_call(node, stack, gen_test_aos_msg("AOS", boot_tags, ""))
    assert booted["ok"] is True
    eval_tags = [{"name": "Action", "value": "Eval"}]
    stack, answer = aos_call(node, stack, gen_test_aos_msg("1", eval_tags, "return 1 + 1"))
    assert answer["response"]["Output"]["data"] == "2"
    # AOS's WASI calls were answered by wasi@1.0 from the state.
    assert stack["file-descriptors"]["0"]["filename"] == "/dev/stdin"
    _, printed = aos_call(node, stack, gen_test_aos_msg("2", eval_tags, "print('hi'); return 3"))
    assert "hi" in printed["response"]["Output"]["data"]

"""``hyperbeam.client`` and its commands against a real ``hyperbeam serve``:
the README's flows end to end (upload a module as the node's operator, spawn
WASM AOS and hyper-aos processes as a user, send, evaluate, read results and
schedules, follow a process), the asyncio client, the one-shot commands and
``hyperbeam aos`` driven through a pseudo-terminal."""

from __future__ import annotations

import asyncio
import os
import pty
import select
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from hyperbeam.client import AsyncClient, Client, NodeError
from hyperbeam.client.flows import Result
from hyperbeam.crypto.wallet import Wallet
from hyperbeam.message import commit
from tests.conftest import RunningNode, start_node, stop_node
from tests.processes import AOS_DIR

EXE = str(Path(sys.executable).with_name("hyperbeam"))


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningNode]:
    running = start_node(tmp_path_factory.mktemp("client"))
    yield running
    stop_node(running)


@pytest.fixture(scope="module")
def user_key(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("user") / "user.json"
    Wallet.generate().save(path)
    return path


@pytest.fixture(scope="module")
def modules(node: RunningNode) -> dict[str, str]:
    """The AOS image and the hyper-aos module, uploaded by the node's
    operator with ``hyperbeam upload``."""
    found = {}
    for kind, name in (("aos", "aos2_0_6.wasm"), ("lua", "hyper-aos.lua")):
        out = cli("upload", str(AOS_DIR / name), node=node, wallet=node.data_dir / "wallet.json")
        found[kind] = out.stdout.strip()
    return found


def cli(
    command: str,
    *positional: str,
    options: tuple[str, ...] = (),
    node: RunningNode,
    wallet: Path,
    check: bool = True,
) -> subprocess.CompletedProcess[str]:
    """``hyperbeam COMMAND --node URL --wallet FILE OPTIONS -- POSITIONAL``
    (the ``--`` because a process ID may begin with ``-``)."""
    cmd = [EXE, command, "--node", node.url, "--wallet", str(wallet), *options]
    if positional:
        cmd += ["--", *positional]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=180)
    if check:
        assert done.returncode == 0, done.stderr
    return done


@pytest.mark.parametrize("kind", ["aos", "lua"])
def test_spawn_message_result_and_schedule(
    node: RunningNode, user_key: Path, modules: dict[str, str], kind: str
) -> None:
    with Client(node.url, wallet=user_key) as ao:
        pid = ao.spawn(modules[kind], kind=kind)
        assert ao.eval(pid, "Counter = 41").error is None
        result = ao.eval(pid, 'Send({Target = "someone", Data = "hi"}); return Counter + 1')
        assert isinstance(result, Result) and result.data == "42"
        assert [m.get("Target") or m.get("target") for m in result.messages] == ["someone"]
        assert ao.slot(pid) == 2
        # A dry run sees the state and keeps nothing.
        assert ao.dryrun(pid, "Counter = 1000; return Counter", action="Eval").data == "1000"
        assert ao.dryrun(pid, "return Counter", action="Eval").data == "41"
        assert ao.slot(pid) == 2
        assert [r.data for r in ao.results(pid)] == ["", "42"]
        slots = [int(a["slot"]) for a in ao.schedule(pid)]
        assert slots == [0, 1, 2]
        assert all(commit.verify(a) for a in ao.schedule(pid, 1, 2))
        # The same process read by a client without a wallet.
        with Client(node.url) as reader:
            assert reader.result(pid, 2).data == "42"
            with pytest.raises(ValueError, match="needs a wallet"):
                reader.message(pid, "return 1")


def test_a_message_as_an_ans104_data_item(
    node: RunningNode, user_key: Path, modules: dict[str, str]
) -> None:
    with Client(node.url, wallet=user_key) as spawner:
        pid = spawner.spawn(modules["aos"])
    with Client(node.url, wallet=user_key, codec="ans104") as ao:
        slot = ao.message(pid, "return 6 * 7", action="Eval")
        assert slot == 1 and ao.result(pid, slot).data == "42"


def test_errors_say_what_the_node_answered(node: RunningNode, user_key: Path) -> None:
    with Client(node.url, wallet=user_key) as ao:
        with pytest.raises(NodeError) as missing:
            ao.get("/~no-such-device@1.0/x")
        assert missing.value.status == 404 and "no-such-device@1.0" in missing.value.reason
        with pytest.raises(NodeError) as refused:
            ao.upload(b"not yours to write")
        assert refused.value.status == 403
    with Client("http://127.0.0.1:9") as nowhere, pytest.raises(NodeError) as down:
        nowhere.get("/~message@1.0&k=v/k")
    assert down.value.status == 502 and "cannot reach" in down.value.reason


def test_monitor_follows_new_results(
    node: RunningNode, user_key: Path, modules: dict[str, str]
) -> None:
    with Client(node.url, wallet=user_key) as ao:
        pid = ao.spawn(modules["lua"], kind="lua")
        seen: list[tuple[int, str]] = []

        def follow() -> None:
            with Client(node.url) as watcher:
                for slot, result in watcher.monitor(pid, after=0, every=0.2):
                    seen.append((slot, result.data))
                    if len(seen) == 2:
                        return

        watching = threading.Thread(target=follow, daemon=True)
        watching.start()
        ao.message(pid, "return 'one'", action="Eval")
        ao.message(pid, "return 'two'", action="Eval")
        watching.join(60)
        assert seen == [(1, "one"), (2, "two")]


def test_the_asyncio_client(node: RunningNode, user_key: Path, modules: dict[str, str]) -> None:
    async def story() -> list[str]:
        async with AsyncClient(node.url, wallet=user_key) as ao:
            pid = await ao.spawn(modules["lua"], kind="lua")
            first = await ao.eval(pid, "X = 20; return X")
            second = await ao.eval(pid, "return X * 2 + 2")
            return [first.data, second.data, str(await ao.slot(pid))]

    assert asyncio.run(story()) == ["20", "42", "2"]


def test_the_one_shot_commands(node: RunningNode, user_key: Path, modules: dict[str, str]) -> None:
    spawned = cli(
        "spawn", options=("--module", modules["lua"], "--kind", "lua"), node=node, wallet=user_key
    )
    pid = spawned.stdout.strip()
    assert len(pid) == 43
    sent = cli(
        "send", pid, "Y = 7", options=("--action", "Eval", "--wait"), node=node, wallet=user_key
    )
    assert sent.stdout.splitlines()[0] == "1"
    evaluated = cli("eval", pid, "return Y * 6", node=node, wallet=user_key)
    assert evaluated.stdout.strip() == "42"
    broken = cli("eval", "x" * 43, "return 1", node=node, wallet=user_key, check=False)
    assert broken.returncode == 1 and "the node answered" in broken.stderr


def _read_until(fd: int, wanted: bytes, timeout: float = 60) -> bytes:
    seen = b""
    deadline = time.monotonic() + timeout
    while wanted not in seen:
        left = deadline - time.monotonic()
        assert left > 0, f"waited for {wanted!r}; the console wrote {seen!r}"
        ready, _, _ = select.select([fd], [], [], left)
        if ready:
            try:
                seen += os.read(fd, 4096)
            except OSError:
                break
    return seen


def test_the_console_through_a_terminal(
    node: RunningNode, user_key: Path, modules: dict[str, str]
) -> None:
    with Client(node.url, wallet=user_key) as spawner:
        pid = spawner.spawn(modules["lua"], kind="lua")
    parent, child = pty.openpty()
    env = {**os.environ, "HOME": str(user_key.parent)}
    console = subprocess.Popen(
        [EXE, "aos", "--node", node.url, "--wallet", str(user_key), "--", pid],
        stdin=child,
        stdout=child,
        stderr=child,
        env=env,
    )
    os.close(child)
    try:
        assert pid.encode() in _read_until(parent, b"aos> ")
        os.write(parent, b"Z = 40\r")
        _read_until(parent, b"aos> ")
        os.write(parent, b"return Z + \\\r")  # continued on the next line
        assert b"... " in _read_until(parent, b"... ")
        os.write(parent, b"2\r")
        assert b"42" in _read_until(parent, b"aos> ")
        os.write(parent, b".editor\r")
        os.write(parent, b"local a = 1\r")
        os.write(parent, b"return a + Z\r")
        os.write(parent, b".done\r")
        assert b"41" in _read_until(parent, b"aos> ")
        os.write(parent, b".slot\r")
        assert b"3" in _read_until(parent, b"aos> ")
        os.write(parent, b"error('boom')\r")
        assert b"boom" in _read_until(parent, b"aos> ")
        os.write(parent, b".exit\r")
        assert console.wait(30) == 0
        assert (user_key.parent / ".hyperbeam_history").exists()
    finally:
        if console.poll() is None:
            console.kill()
        os.close(parent)


def test_the_readme_example_runs(node: RunningNode, tmp_path: Path) -> None:
    """The README's Python client example, as written, against a real node
    (its node URL, operator key file and AOS directory pointed at the test's)."""
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    section = readme.split("## Python client", 1)[1]
    code = section.split("```python\n", 1)[1].split("```", 1)[0]
    code = code.replace("http://127.0.0.1:8734", node.url)
    code = code.replace(
        'Path("~/.local/share/hyperbeam/wallet.json").expanduser()',
        repr(str(node.data_dir / "wallet.json")),
    )
    code = code.replace('Path("tests/js/aos")', f"Path({str(AOS_DIR)!r})")
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    first, second = done.stdout.splitlines()
    assert first == "42"
    # AOS prints the Ping it has no handler for; then the slot and the schedule.
    assert "Action = \x1b[34mPing" in second and second.endswith(" 3 [0, 1, 2, 3]")

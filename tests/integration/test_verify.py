"""``hyperbeam verify`` against a real node (issue 16, item 4).

A node (``hyperbeam serve``) runs a WASM AOS process and a hyper-aos (Lua)
process with a few Evals each; ``hyperbeam verify``, run as the README says,
reads their schedules, checks them and recomputes every slot. Then it is
pointed at a proxy in front of the same node that changes one byte of what
the node serves (one assignment, one slot's result, or the Lua module) and
must fail, naming the slot and the reason. A node in this process, serving
small pages, shows the schedule read page after page.
"""

from __future__ import annotations

import io
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from hyperbeam.crypto.wallet import Wallet
from hyperbeam.devices import scheduler as scheduler_device
from hyperbeam.http import client
from hyperbeam.message import commit
from hyperbeam.message.ids import human_id
from hyperbeam.verify import Options, Progress, fetch_schedule
from hyperbeam.verify import verify as verify_api
from tests.conftest import LocalNode, RunningNode, start_node, stop_node
from tests.integration.test_aos_http import send as aos_send
from tests.integration.test_aos_http import spawn as aos_spawn
from tests.integration.test_aos_http import upload_image
from tests.integration.test_hyper_aos import send as lua_send
from tests.integration.test_hyper_aos import spawn as lua_spawn
from tests.integration.test_hyper_aos import write
from tests.processes import hyper_aos_code, hyper_aos_process

TIMEOUT = 300
EXE = Path(sys.executable).with_name("hyperbeam")
EVALS = ("return 1+1", "Counter = 41", "return 'verify-' .. (Counter + 1)")
#: Slot 0 is the process itself, then one slot per Eval.
SLOTS = 1 + len(EVALS)


@dataclass(frozen=True)
class Served:
    node: RunningNode
    aos: str
    lua: str
    image: str
    module: str


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    node = start_node(tmp_path_factory.mktemp("verify"))
    try:
        operator = Wallet.load(node.data_dir / "wallet.json")
        user = Wallet.generate()
        image = upload_image(node, operator)
        aos = aos_spawn(node, operator, user, image)
        module = write(
            node, operator, {"content-type": "application/lua", "data": hyper_aos_code()}
        )
        lua = lua_spawn(node, user, hyper_aos_process(operator.address, module))
        for code in EVALS:
            aos_send(node, user, aos, code)
            lua_send(node, user, lua, code)
        yield Served(node, aos, lua, image, module)
    finally:
        stop_node(node)


def verify(pid: str, url: str, *args: str) -> subprocess.CompletedProcess[str]:
    """``hyperbeam verify --node URL ... -- PID``, as a user runs it (the
    ``--`` because an ID may begin with ``-``)."""
    return subprocess.run(
        [str(EXE), "verify", "--node", url, *args, "--", pid],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )


# --- a node that lies -----------------------------------------------------------------

#: ``(path, headers, body) -> (headers, body)``: what the proxy changes in a reply.
Tamper = Callable[[str, dict[str, str], bytes], tuple[dict[str, str], bytes]]

#: Response headers the proxy does not pass on as they are.
HOP_BY_HOP = {"content-length", "transfer-encoding", "connection", "date", "server"}
#: The node's signature on its reply.
SIGNATURE = {"signature", "signature-input", "content-digest"}


@contextmanager
def proxy(upstream: str, tamper: Tamper) -> Iterator[str]:
    """A stdlib HTTP server forwarding every GET to ``upstream`` and
    answering the reply as ``tamper`` changes it; yields its URL."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host",)}
            res = httpx.get(upstream + self.path, headers=headers, timeout=TIMEOUT)
            out = {k: v for k, v in res.headers.items() if k.lower() not in HOP_BY_HOP}
            out, body = tamper(self.path, out, res.content)
            self.send_response(res.status_code)
            for name, value in out.items():
                self.send_header(name, value)
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def replacing(
    where: str, old: bytes, new: bytes, *, keep_signature: bool = False
) -> tuple[Tamper, list[str]]:
    """A tamper that replaces ``old`` by ``new`` in replies to paths
    containing ``where`` (dropping the node's signature on them unless
    ``keep_signature``), and the list of paths it changed."""
    changed: list[str] = []

    def tamper(path: str, headers: dict[str, str], body: bytes) -> tuple[dict[str, str], bytes]:
        if where not in path or old not in body + "".join(headers.values()).encode():
            return headers, body
        changed.append(path)
        if not keep_signature:
            headers = {k: v for k, v in headers.items() if k.lower() not in SIGNATURE}
        old_text, new_text = old.decode(), new.decode()
        return {k: v.replace(old_text, new_text) for k, v in headers.items()}, body.replace(
            old, new
        )

    return tamper, changed


# --- the tests ------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["aos", "lua"])
def test_verify_recomputes_every_slot_of_a_process(served: Served, kind: str) -> None:
    pid, content = (served.aos, served.image) if kind == "aos" else (served.lua, served.module)
    run = verify(pid, served.node.url)
    assert run.returncode == 0, run.stdout + run.stderr
    report = run.stdout
    assert f"process {pid} on {served.node.url}" in report
    assert f"schedule: slots 0..{SLOTS - 1} read; every assignment's signature" in report
    assert f"{SLOTS} slots checked" in report
    assert "no mismatch" in report and "MISMATCH" not in report
    # The image or module came from the node, checked against its ID.
    assert f"read from the node by ID (content checked): {content}" in report
    assert "hashpath here after slot 3: " in report
    assert f"slots: {SLOTS}/{SLOTS}" in run.stderr  # the progress


@pytest.mark.slow
def test_to_limits_the_slots_checked(served: Served) -> None:
    run = verify(served.lua, served.node.url, "--to", "1")
    assert run.returncode == 0, run.stdout + run.stderr
    assert "schedule: slots 0..1 read" in run.stdout
    assert "2 slots checked" in run.stdout
    # Past the end of the schedule: every slot there is, and a note.
    run = verify(served.lua, served.node.url, "--to", "99", "--results-only")
    assert run.returncode == 0, run.stdout + run.stderr
    assert f"{SLOTS} slots checked (computed here, results compared)" in run.stdout
    assert f"the node's schedule ends at slot {SLOTS - 1}" in run.stdout


def hash_chain(node: RunningNode, pid: str, slot: int) -> str:
    status, page = client.get(
        node.url, {"path": "/~scheduler@1.0/schedule", "target": pid, "from": slot, "to": slot}
    )
    assert status == "ok", page
    return str(page["assignments"][str(slot)]["hash-chain"])


@pytest.mark.slow
@pytest.mark.parametrize("change", ["message", "hash-chain"])
def test_a_tampered_assignment_fails(served: Served, change: str) -> None:
    """One byte of the assignment of slot 2 changed in the schedule the node
    serves: in the Eval it assigns, or in its hash chain."""
    if change == "message":
        old, new = b"Counter = 41", b"Counter = 42"
        reasons = ["bad signature on the assignment", "bad signature on the message it assigns"]
    else:
        chain = hash_chain(served.node, served.lua, 2)
        old, new = chain.encode(), (("A" if chain[0] != "A" else "B") + chain[1:]).encode()
        reasons = ["bad signature on the assignment", "broken hash chain"]
    tamper, changed = replacing("schedule", old, new)
    with proxy(served.node.url, tamper) as url:
        run = verify(served.lua, url)
    assert changed, "the proxy changed nothing"
    assert run.returncode == 1, run.stdout + run.stderr
    assert "MISMATCH at slot 2 (schedule): " + "; ".join(reasons) in run.stdout, run.stdout
    assert "slots before 2 verify" in run.stdout
    assert "0 slots checked" in run.stdout


@pytest.mark.slow
@pytest.mark.parametrize("keep_signature", [False, True])
def test_a_tampered_result_fails(served: Served, keep_signature: bool) -> None:
    """One byte of slot 3's output changed in the state the node serves
    (with the node's signature on it left as it was, or dropped)."""
    tamper, changed = replacing(
        "compute", b"verify-42", b"verify-43", keep_signature=keep_signature
    )
    with proxy(served.node.url, tamper) as url:
        run = verify(served.lua, url)
    assert changed and all("slot=3" in path for path in changed), changed
    assert run.returncode == 1, run.stdout + run.stderr
    assert "MISMATCH at slot 3 (state)" in run.stdout, run.stdout
    assert "3 slots checked" in run.stdout
    signature = "the node's signature on its state does not verify"
    assert (signature in run.stdout) is keep_signature, run.stdout
    assert "the state differs at /results/output/data" in run.stdout
    assert "node:  verify-43" in run.stdout
    assert "local: verify-42" in run.stdout


@pytest.mark.slow
def test_a_tampered_module_is_refused(served: Served) -> None:
    """The Lua module the node serves by its ID, changed: it is not what the
    ID names, so it is not run, and the node's state cannot be reproduced."""
    tamper, changed = replacing(f"/{served.module}", b"Handlers", b"Handlerz")
    with proxy(served.node.url, tamper) as url:
        run = verify(served.lua, url)
    assert changed, "the proxy changed nothing"
    assert run.returncode == 1, run.stdout + run.stderr
    assert "MISMATCH at slot 0 (computation)" in run.stdout, run.stdout
    assert f"computing it here failed (refused: {served.module})" in run.stdout


def test_a_schedule_of_many_pages(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The schedule is read page after page (``continues``): a node in this
    process serving at most 3 assignments a page, a process of test devices,
    through the Python API."""
    monkeypatch.setattr(scheduler_device, "MAX_ASSIGNMENT_QUERY_LEN", 2)
    node = LocalNode(tmp_path / "node").start()
    try:
        assert node.node.wallet is not None
        user = Wallet.generate()
        proc = commit.commit(
            {
                "device": "process@1.0",
                "scheduler": node.node.wallet.address,
                "type": "Process",
                "execution-device": "stack@1.0",
                "device-stack": ["test-device@1.0", "test-device@1.0"],
            },
            user,
        )
        pid = human_id(commit.id(proc, "all"))
        post = {"path": "/~scheduler@1.0/schedule", "method": "POST", "body": proc}
        assert client.post(node.url, commit.commit(post, user))[0] == "ok"
        for n in range(6):
            msg = commit.commit({"type": "Message", "target": pid, "n": n}, user)
            assert client.post(node.url, {"path": f"/{pid}/schedule", **msg})[0] == "ok"
        pages = fetch_schedule(node.url, pid)
        assert [a["slot"] for a in pages.assignments] == list(range(7))
        out = io.StringIO()
        report = verify_api(pid, node.url, progress=Progress(out))
        assert report.ok, report.lines()
        assert (report.scheduled, report.checked) == (7, 7)
        assert "slots: 7/7" in out.getvalue()
        report = verify_api(pid, node.url, Options(to=4), Progress(out))
        assert report.ok and (report.scheduled, report.checked) == (5, 5)
    finally:
        node.stop()


def test_unreachable_node_or_unknown_process_exit_2(served: Served) -> None:
    with proxy(served.node.url, lambda path, headers, body: (headers, body)) as url:
        pass  # the proxy is closed: nothing listens there any more
    run = verify(served.lua, url)
    assert run.returncode == 2, run.stdout + run.stderr
    assert "hyperbeam verify: the node did not serve the schedule" in run.stderr
    unknown = ("A" if served.lua[0] != "A" else "B") + served.lua[1:]
    run = verify(unknown, served.node.url)
    assert run.returncode == 2, run.stdout + run.stderr
    assert "is not known to this node" in run.stderr
    run = verify("not-an-id", served.node.url)
    assert run.returncode == 2 and "not a process ID" in run.stderr

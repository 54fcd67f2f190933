"""Server CPU per request: the node against a bare uvicorn app (issue 11).

Workload: a node started as ``hyperbeam serve`` answers the unsigned
``GET /~message@1.0&k=v/k`` (reply ``v``) from 1 and 16 keep-alive clients
for 2 s each, with its reply signing off (``--no-force-signed``) and on (the
default: the same request each time, so the signed reply comes from the
node's memo of recent signed replies). The server's CPU time (user + system,
from /proc) divided by the requests answered is the figure; the load
generator runs in this process, on the other core. A bare ASGI app under
uvicorn, answering the node's reply bytes, is measured the same way.

Target (issue 11): at most 0.3 ms of server CPU per request for the node
(0.5-0.9 ms before; the bare app: 0.05-0.08 ms).

Run: .venv/bin/python -m bench.server_cpu [seconds]
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.conftest import free_port

from bench._common import (
    cpu_seconds,
    http_load,
    machine_line,
    report,
    start_node,
    stop_node,
)

REQUEST = b"GET /~message@1.0&k=v/k HTTP/1.1\r\nHost: bench\r\nConnection: keep-alive\r\n\r\n"

BARE_APP = """
async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"text/plain"), (b"content-length", b"1")]})
    await send({"type": "http.response.body", "body": b"v"})
"""


def measure(label: str, url: str, pid: int, seconds: float) -> None:
    http_load(url, REQUEST, 4, 0.5)  # warm-up
    for clients in (1, 16):
        before = cpu_seconds(pid)
        count, elapsed = http_load(url, REQUEST, clients, seconds)
        used = cpu_seconds(pid) - before
        report(f"{label}, {clients} clients", count, elapsed)
        print(f"  server CPU {used / count * 1000:.3f} ms per request", flush=True)


def bare(seconds: float) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        app = Path(tmp) / "bare_app.py"
        app.write_text(BARE_APP)
        port = free_port()
        proc = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "bare_app:app", "--port", str(port),
             "--log-level", "warning", "--no-access-log"],
            cwd=tmp,
        )  # fmt: skip
        try:
            time.sleep(1.5)
            measure("bare uvicorn app", f"http://127.0.0.1:{port}", proc.pid, seconds)
        finally:
            proc.terminate()
            proc.wait()


def main(seconds: float = 2.0) -> None:
    print(machine_line())
    print("# workload: GET /~message@1.0&k=v/k, keep-alive, closed loop")
    for label, extra in (
        ("node, replies unsigned", ("--no-force-signed",)),
        ("node, replies signed (memo)", ()),
    ):
        with tempfile.TemporaryDirectory() as tmp:
            node = start_node(Path(tmp), "--log-level", "warning", *extra)
            try:
                measure(label, node.url, node.process.pid, seconds)
            finally:
                stop_node(node)
    bare(seconds)


if __name__ == "__main__":
    main(float(sys.argv[1]) if len(sys.argv) > 1 else 2.0)

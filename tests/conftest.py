"""Shared fixtures: a real node process on a free port."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class RunningNode:
    url: str
    process: subprocess.Popen[bytes]
    data_dir: Path
    log: Path

    def alive(self) -> bool:
        return self.process.poll() is None


def start_node(tmp: Path, *extra: str, cwd: Path | None = None) -> RunningNode:
    """Start ``hyperbeam serve`` the README's way, on a free port, and wait until it answers."""
    port = free_port()
    data_dir = tmp / "data"
    log = tmp / "node.log"
    exe = Path(sys.executable).with_name("hyperbeam")
    # No Arweave gateway unless a test names one: tests never reach the internet.
    gateway = [] if "--gateway" in extra else ["--gateway", ""]
    cmd = [str(exe), "serve", "--port", str(port), "--data-dir", str(data_dir), *gateway, *extra]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=cwd)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"node exited early:\n{log.read_text()}")
        try:
            httpx.get(f"{url}/~meta@1.0/info", timeout=1)
            return RunningNode(url, proc, data_dir, log)
        except httpx.TransportError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError(f"node did not start in 30 s:\n{log.read_text()}")


class LocalNode:
    """A node served by uvicorn on a thread of this process, on a real socket:
    tests can reach into it (its store, its workers) while clients and other
    nodes talk to it over HTTP."""

    def __init__(self, data_dir: Path, **settings: Any) -> None:
        from hyperbeam.config import NodeConfig
        from hyperbeam.http.app import HyperbeamApp
        from hyperbeam.http.server import uvicorn_config
        from hyperbeam.node import Node

        port = free_port()
        config = NodeConfig(data_dir=data_dir, port=port, gateway="").with_updates(settings)
        self.node = Node(config)
        self.url = f"http://127.0.0.1:{port}"
        self.server = uvicorn.Server(uvicorn_config(HyperbeamApp(self.node), self.node.config))
        self.thread = threading.Thread(target=self.server.run, name="local-node", daemon=True)

    def start(self) -> LocalNode:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the in-process node did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)


def stop_node(node: RunningNode) -> None:
    node.process.terminate()
    try:
        node.process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        node.process.kill()
        node.process.wait()


@pytest.fixture(scope="session")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningNode]:
    running = start_node(tmp_path_factory.mktemp("node"))
    yield running
    stop_node(running)

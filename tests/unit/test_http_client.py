"""The outbound client's connection retries and its errors when a peer is down."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from hyperbeam.http import client


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class _Hello(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("content-length", "5")
        self.end_headers()
        self.wfile.write(b"hello")

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def late_peer() -> Iterator[int]:
    """A port whose server starts listening 0.2 s from now."""
    port = _free_port()
    servers: list[ThreadingHTTPServer] = []

    def start() -> None:
        time.sleep(0.2)
        servers.append(ThreadingHTTPServer(("127.0.0.1", port), _Hello))
        servers[0].serve_forever()

    threading.Thread(target=start, daemon=True).start()
    yield port
    if servers:
        servers[0].shutdown()
        servers[0].server_close()


def test_a_peer_that_comes_up_during_the_retries_gets_the_request(late_peer: int) -> None:
    status, reply = client.get(f"http://127.0.0.1:{late_peer}", {"path": "/hi"})
    assert status == "ok" and reply["body"] == "hello"


def test_a_dead_peer_is_a_502_naming_it_after_the_limited_retries() -> None:
    port = _free_port()
    began = time.monotonic()
    status, reply = client.post(f"http://127.0.0.1:{port}", {"path": "/x", "k": "v"})
    took = time.monotonic() - began
    assert status == "error" and reply["status"] == 502
    assert f"POST http://127.0.0.1:{port}/x failed" in reply["body"]
    assert 0.4 < took < 5  # retried (0 s, then 0.5 s), but not for long

"""Real clients' flows replayed, byte for byte, against a real node process.

Vectors: tests/vectors/clients/flows/*.json (see README.md there): what the
WAO ``HB`` class (hbsig 0.2.8 source and npm wao 0.35.7), the same ``HB``
sending ANS-104 items, aoconnect 0.0.98 and arbundles 0.11.2 sent while they
spawned processes on a node of ours and scheduled messages to them. A fresh
node with the same wallet (``node-wallet.json``, a throwaway test key) must
answer every request as it did: the same statuses, the same process IDs
(which come from the clients' signatures) and the same slots.
"""

from __future__ import annotations

import base64
import http.client
import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.conftest import RunningNode, start_node, stop_node

FLOWS = Path(__file__).resolve().parents[1] / "vectors" / "clients" / "flows"
NAMES = sorted(path.stem for path in FLOWS.glob("*.json") if path.stem != "node-wallet")


@pytest.fixture
def flow_node(tmp_path: Path) -> Iterator[RunningNode]:
    wallet = tmp_path / "wallet.json"
    shutil.copy(FLOWS / "node-wallet.json", wallet)
    running = start_node(tmp_path, "--wallet", str(wallet))
    yield running
    stop_node(running)


def _send(url: str, request: dict[str, Any]) -> tuple[int, dict[str, str], bytes]:
    """The request exactly as recorded: method, raw target, header lines in
    their order and case (``host`` too), body."""
    where = urlsplit(url)
    conn = http.client.HTTPConnection(where.hostname or "127.0.0.1", where.port, timeout=60)
    try:
        conn.putrequest(
            request["method"], request["target"], skip_host=True, skip_accept_encoding=True
        )
        for name, value in request["headers"]:
            conn.putheader(name, value.encode("latin-1"))
        conn.endheaders(base64.b64decode(request["body_b64"]) or None)
        reply = conn.getresponse()
        return reply.status, {k.lower(): v for k, v in reply.getheaders()}, reply.read()
    finally:
        conn.close()


@pytest.mark.parametrize("name", NAMES)
def test_flow_replays(name: str, flow_node: RunningNode) -> None:
    flow = json.loads((FLOWS / f"{name}.json").read_text())
    for step in flow["requests"]:
        status, headers, body = _send(flow_node.url, step)
        expected = step["response"]
        where = f"{step['label']}: {body[:300]!r}"
        assert status == expected["status"], where
        for key in ("process", "slot"):
            if key in expected:
                assert headers.get(key) == expected[key], where
    assert flow_node.alive()

"""arlocal: a real, local Arweave gateway (GraphQL, data, bundles) for tests.

``start_arlocal(tmp)`` runs ``node tests/js/node_modules/arlocal/bin/index.js
<port> --dbpath db --hidelogs`` (installed by scripts/install from
tests/js/package.json) in ``tmp`` on a free port and waits until ``/info``
answers; ``stop_arlocal`` ends it. arlocal resolves ``--dbpath`` against its
working directory and deletes the database when it stops.

What arlocal serves, as our gateway client uses it: ``POST /graphql``
(``transactions(ids:, tags:, owners:, first:)`` with the usual fields; it
returns items only once mined), the data of an item at ``GET /<id>`` (there
is no ``/raw/<id>``: it answers 404), ``GET /mint/<address>/<winston>`` and
``GET /mine``. Data items are posted inside an ANS-104 bundle carried by an
Arweave transaction (``POST /tx`` with ``Bundle-Format: binary`` and
``Bundle-Version: 2.0.0``): arlocal indexes each item. It drops the items'
anchors, so an item with an anchor does not verify when read back.

:meth:`Arlocal.post_items` does all that through tests/js/arlocal_post.mjs
(the real ``arweave`` and ``arbundles`` clients).
"""

from __future__ import annotations

import base64
import shutil
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from hyperbeam.codecs import ans104
from hyperbeam.crypto.wallet import Wallet
from tests.conftest import free_port
from tests.interop.js import JS_DIR, run_script

ARLOCAL_BIN = JS_DIR / "node_modules" / "arlocal" / "bin" / "index.js"


@dataclass
class Arlocal:
    url: str
    process: subprocess.Popen[bytes]
    log: Path

    def post_items(
        self, wallet: Wallet, items: Sequence[ans104.DataItem | dict[str, Any]]
    ) -> list[str]:
        """Post data items in one bundle signed by ``wallet`` and mine it; their IDs.

        An item is a signed :class:`~hyperbeam.codecs.ans104.DataItem` (posted
        byte for byte) or a spec for arbundles to sign with ``wallet``:
        ``{"data": bytes, "tags": [(name, value)], "target"?: id, "anchor"?: bytes}``.
        """
        specs: list[dict[str, Any]] = []
        for item in items:
            if isinstance(item, ans104.DataItem):
                specs.append({"raw": _b64(ans104.serialize(item))})
                continue
            spec: dict[str, Any] = {
                "data": _b64(item.get("data", b"")),
                "tags": [{"name": n, "value": v} for n, v in item.get("tags", [])],
            }
            if "target" in item:
                spec["target"] = item["target"]
            if "anchor" in item:
                spec["anchor"] = _b64(item["anchor"])
            specs.append(spec)
        out = run_script(
            "arlocal_post.mjs",
            {"url": self.url, "jwk": wallet.to_jwk(), "items": specs},
            package="arlocal",
            timeout=60,
        )
        assert "error" not in out, out["error"]
        ids: list[str] = out["ids"]
        return ids


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def start_arlocal(tmp: Path) -> Arlocal:
    """Start arlocal in ``tmp`` on a free port and wait until it answers."""
    node = shutil.which("node")
    assert node is not None, "node is not installed (scripts/install needs Node.js and npm)"
    assert ARLOCAL_BIN.is_file(), "arlocal is missing: run scripts/install"
    port = free_port()
    log = tmp / "arlocal.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [node, str(ARLOCAL_BIN), str(port), "--dbpath", "db", "--hidelogs"],
            cwd=tmp,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"arlocal exited early:\n{log.read_text()}")
        try:
            if httpx.get(f"{url}/info", timeout=1).status_code == 200:
                return Arlocal(url, proc, log)
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    proc.kill()
    proc.wait()
    raise RuntimeError(f"arlocal did not start in 30 s:\n{log.read_text()}")


def stop_arlocal(running: Arlocal) -> None:
    running.process.terminate()
    try:
        running.process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        running.process.kill()
        running.process.wait()

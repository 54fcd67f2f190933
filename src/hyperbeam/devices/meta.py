"""``meta@1.0``: the node message, and what the node is built from.

- ``info`` (GET): the node message: every setting under upstream's spelling
  (keys the node does not know included), ``address``, ``operator``,
  ``devices`` and ``node_history``; private keys (``priv*``) and the key
  file's location are never shown. ``/~meta@1.0/info/<key>`` reads one.
- ``info`` (POST): the operator changes the node message. The request must
  be signed by the ``operator`` (by default the node's own wallet; anyone
  when it is ``unclaimed``), its signature covering the request's path (see
  :mod:`hyperbeam.authority`). Its keys are applied live and kept for the
  next start; once ``initialized`` is ``permanent`` nothing changes again.
- ``build``: ``node``, ``version``, ``source`` (the source commit),
  ``source-short`` and ``build-time``.

Upstream: dev_meta.erl (info/3, build/3, is/3, update_node_message/2,
adopt_node_message/2). Deviations: the changes survive a restart (upstream
keeps them in memory); ``wallet``/``priv_key_location`` and ``data_dir``
cannot be changed over HTTP; the answer names settings that take effect
only at the next start.
"""

from __future__ import annotations

import functools
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from hyperbeam import __version__, authority
from hyperbeam.ao.device import Device, Result, key
from hyperbeam.errors import HyperbeamError
from hyperbeam.message.model import Message, as_text

#: Request keys that say how a request travelled, not what it sets.
TRANSPORT_KEYS = frozenset(
    {
        "path",
        "method",
        "commitments",
        "signature",
        "signature-input",
        "content-digest",
        "content-length",
        "content-type",
        "inline-body-key",
        "ao-types",
        "body-keys",
        "host",
        "user-agent",
        "accept",
        "accept-encoding",
        "accept-codec",
        "accept-bundle",
        "require-codec",
        "connection",
        "origin",
        "referer",
        "codec-device",
    }
)

UNAUTHORIZED: Message = {
    "status": 401,
    "body": "Unauthorized: only the node's operator may change the node message "
    "(sign the request with the operator's key, covering its path)",
}


class MetaDevice(Device):
    name = "meta@1.0"
    VOLATILE = frozenset({"info", "build"})

    @key("info")
    def info_key(self, msg: Message, req: Message, opts: Mapping[str, Any]) -> Result:
        node = opts.get("node")
        if node is None:
            return "error", {"status": 503, "body": "no node is running this resolution"}
        method = as_text(req.get("method", "GET")).upper()
        if method == "GET":
            return "ok", node.node_message()
        if method != "POST":
            reason = f"meta@1.0/info takes GET or POST, not {method}"
            return "error", {"status": 405, "body": reason}
        if node.config.initialized == "permanent":
            return "error", {
                "status": 400,
                "body": "The node message of this machine is already permanent. "
                "It cannot be changed.",
            }
        if not authority.is_operator(req, opts):
            return "error", UNAUTHORIZED
        changes = {k: v for k, v in req.items() if k not in TRANSPORT_KEYS}
        if not changes:
            return "error", {"status": 400, "body": "the request sets no key of the node message"}
        try:
            restart = node.update(changes, authority.request_id(req))
        except HyperbeamError as exc:
            return "error", {"status": exc.status, "body": exc.reason}
        history = len(node.history)
        reply: Message = {
            "status": 200,
            "body": f"Node message updated. History: {history} updates.",
            "history-length": history,
        }
        if restart:
            reply["restart-needed"] = restart
        return "ok", reply

    @key("build")
    def build(self, msg: Message, req: Message, opts: Mapping[str, Any]) -> Result:
        """What the node is built from. Upstream: dev_meta:build/3."""
        source, when = _source()
        return "ok", {
            "node": "HyperBEAM",
            "implementation": "hyperbeam-python",
            "version": __version__,
            "source": source,
            "source-short": source[:7] if source != "unknown" else source,
            "build-time": when,
        }


@functools.cache
def _source() -> tuple[str, int | str]:
    """The commit this node runs from and its time (when run from a git
    checkout; ``unknown`` otherwise)."""
    here = Path(__file__).resolve().parent
    try:
        out = subprocess.run(
            ["git", "log", "-1", "--format=%H %ct"],
            cwd=here,
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        ).stdout.split()
        return out[0], int(out[1])
    except (OSError, subprocess.SubprocessError, IndexError, ValueError):
        return "unknown", "unknown"

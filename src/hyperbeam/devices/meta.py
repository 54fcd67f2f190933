"""``meta@1.0``: the node's own configuration, as a message.

``GET /~meta@1.0/info`` answers the node's public settings. Changing them
over HTTP needs a request signed by the operator, which arrives with signed
messages.

Upstream: dev_meta.erl (info/3).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hyperbeam.ao.device import Device, Result, key
from hyperbeam.message.model import Message


class MetaDevice(Device):
    name = "meta@1.0"

    @key("info")
    def info_key(self, msg: Message, req: Message, opts: Mapping[str, Any]) -> Result:
        method = str(req.get("method", "GET")).upper()
        if method != "GET":
            return "error", {
                "status": 400,
                "body": "changing the node's settings needs a request signed by its operator",
            }
        node = opts.get("node")
        if node is None:
            return "error", {"status": 503, "body": "no node is running this resolution"}
        settings: dict[str, Any] = node.config.public()
        settings["devices"] = sorted(node.registry)
        if node.address is not None:
            settings["address"] = node.address
        return "ok", settings

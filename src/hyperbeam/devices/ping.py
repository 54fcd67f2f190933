"""``test-ping@1.0``: a tiny execution device whose processes message each other.

It stands in for AOS in the tests of ``process@1.0`` and ``push@1.0`` (the
upstream push tests use AOS Lua scripts: a self ping-pong and a ping answered
by another process). On ``compute`` it reads the assignment's ``body``:

``action: Ping``   count a ping (``pings``); answer ``Pong`` to the sender
                   (``from-process``), or, with ``count`` below ``limit``, ping
                   the ``reply-to`` process (default: itself) with ``count + 1``
                   and ``data: "Ping <n>"``; at the limit ``data: "Done."``.
``action: Pong``   count a pong (``pongs``); ``data: "GOT PONG"``.
``action: Send``   ping the process named by ``to``.
``action: Set``    a ``PATCH`` message setting ``key`` to ``value`` (for
                   ``patch@1.0`` to apply to the state).
anything else      ``data: "ignored"``.

Messages to send go to ``results/outbox`` (``1``), as AOS's do.
``init`` sets both counters to 0; ``snapshot`` answers nothing (all its state
is public).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hyperbeam.ao import resolve as ao
from hyperbeam.ao.device import Device, Result, key
from hyperbeam.message import commit
from hyperbeam.message.ids import human_id
from hyperbeam.message.model import Message, as_text


def _own_id(state: Message) -> str:
    process = state.get("process")
    return human_id(commit.id(process if isinstance(process, dict) else state, "all"))


class PingTestDevice(Device):
    name = "test-ping@1.0"

    @key("init")
    def init(self, msg: Message, req: Message, opts: Mapping[str, Any]) -> Result:
        return "ok", ao.set_message(msg, {"pings": 0, "pongs": 0}, opts)

    @key("snapshot")
    def snapshot(self, msg: Message) -> Result:
        return "ok", {}

    @key("compute")
    def compute(self, msg: Message, req: Message, opts: Mapping[str, Any]) -> Result:
        body = req.get("body")
        body = body if isinstance(body, dict) else req
        action = as_text(body.get("action", ""))
        updates: Message = {}
        results: Message = {"data": "ignored"}
        if action == "Ping":
            updates["pings"] = int(msg.get("pings", 0)) + 1
            sender = body.get("from-process")
            count = int(body.get("count", 0))
            limit = int(body.get("limit", 0))
            if count and count < limit:
                to = as_text(body.get("reply-to") or _own_id(msg))
                ping = {"target": to, "action": "Ping", "count": count + 1, "limit": limit}
                results = {"data": f"Ping {count + 1}", "outbox": {"1": ping}}
            elif count:
                results = {"data": "Done."}
            elif sender is not None:
                pong = {"target": as_text(sender), "action": "Pong"}
                results = {"data": "Replying", "outbox": {"1": pong}}
            else:
                results = {"data": "Ping"}
        elif action == "Pong":
            updates["pongs"] = int(msg.get("pongs", 0)) + 1
            results = {"data": "GOT PONG"}
        elif action == "Set":
            patch = {"method": "PATCH", as_text(body.get("key", "")): body.get("value", "")}
            results = {"data": "Set", "outbox": {"1": patch}}
        elif action == "Send":
            ping = {"target": as_text(body.get("to", "")), "action": "Ping"}
            results = {"data": "Sent", "outbox": {"1": ping}}
        return "ok", ao.set_message(msg, {**updates, "results": results}, opts)

"""``lookup@1.0``: a message (or binary) of the node's store, by ID.

``read`` answers the message stored under the request's ``target`` (an ID,
a commitment ID or a ``data/...`` path). With ``accept:
application/aos-2`` it answers the message as the JSON "struct" of the aos
process interface instead: ``{"body": <JSON>, "content-type":
"application/aos-2"}``.

The JSON struct is :func:`hyperbeam.message.json_struct.message_to_json_struct`.

Upstream: dev_lookup.erl (read/3).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from hyperbeam import cache
from hyperbeam.ao.device import Device, Result, key
from hyperbeam.message.json_struct import message_to_json_struct
from hyperbeam.message.model import Message
from hyperbeam.store.base import Store

AOS2 = "application/aos-2"


class LookupDevice(Device):
    name = "lookup@1.0"

    @key("read")
    def read(self, msg: Message, req: Message, opts: Mapping[str, Any]) -> Result:
        """The message at the request's ``target``, honouring ``accept``."""
        status, found = read_target(req, opts)
        if status != "ok":
            return status, found
        if found is None:
            return "error", "not_found"
        return "ok", render_for(found, req)


def read_target(req: Mapping[str, Any], opts: Mapping[str, Any]) -> Result:
    """The message or binary the cache holds at the request's ``target``:
    ``("ok", value)``, ``("ok", None)`` when there is none, or an error."""
    target = req.get("target")
    if not isinstance(target, str | bytes) or not target:
        return "error", {"status": 400, "body": "the request needs a target"}
    store = node_store(opts)
    if store is None:
        return "error", {"status": 503, "body": "this node has no store"}
    try:
        return "ok", cache.read(target, store)
    except cache.CacheError as exc:
        return "error", {"status": exc.status, "body": exc.reason}


def node_store(opts: Mapping[str, Any]) -> Store | None:
    """The node's store from the resolver options, if it has one."""
    store = opts.get("store")
    return store if isinstance(store, Store) else None


def render_for(found: Message | bytes, req: Mapping[str, Any]) -> Any:
    """``found`` as the request's ``accept`` asks: the aos-2 JSON struct, or as it is."""
    accept = req.get("accept")
    if isinstance(accept, bytes):
        accept = accept.decode("utf-8", "replace")
    if accept == AOS2 and isinstance(found, dict):
        return {
            "body": json.dumps(message_to_json_struct(found), separators=(",", ":")),
            "content-type": AOS2,
        }
    return found

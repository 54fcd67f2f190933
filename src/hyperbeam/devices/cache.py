"""``cache@1.0``: read the node's store, and let trusted writers fill it.

- ``read`` (``target``): the message or binary stored there (an ID, a
  commitment ID, ``ID/key`` or a ``data/...`` path), 404 when there is
  none. ``accept: application/aos-2`` answers the aos JSON struct, as
  ``lookup@1.0`` does.
- ``write``: for requests signed by one of the node's cache writers
  (``opts["cache_writers"]`` or the ``cache-writers`` setting; by default
  the operator), their signatures covering the path the request was sent to
  (see :mod:`hyperbeam.authority`: a message the node signed for someone
  else is no writer's request). ``type`` is ``single`` (default) or
  ``batch``. A single write stores the request's ``body``: a binary at its
  content address, answering ``{"status": 200, "path": "data/<hash>"}``; a
  message by its ID, answering ``{"status": 200, "path": <ID>}``. With a
  ``location`` the written value is also linked there. ``operation: link``
  links ``source`` to ``destination`` instead. A batch writes every value of
  the request's ``body`` as a single write and answers their results under
  the same keys.
- ``link`` (``source``, ``destination``): make ``destination`` stand for
  ``source``; cache writers only.

Signatures are checked where requests enter the node (the HTTP edge
rejects a signed request that does not verify); this device only reads who
signed, from the authority the edge computed.

Differences from upstream: a message ``body`` is written (upstream answers
"Invalid write type." for anything but a binary); ``location`` links the
written value (upstream rejects it); unauthorised links answer 403 like
unauthorised writes.

Upstream: dev_cache.erl (read/3, write/3, link/3, write_single/2,
is_trusted_writer/2).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hyperbeam import authority, cache
from hyperbeam.ao.device import Device, Result, key
from hyperbeam.devices.lookup import node_store, read_target, render_for
from hyperbeam.message.model import Message
from hyperbeam.store.base import Store

NOT_AUTHORIZED: Message = {"status": 403, "body": "Not authorized to write to the cache."}
INVALID_TYPE: Message = {"status": 400, "body": "Invalid write type."}
NO_BODY: Message = {"status": 400, "body": "No body to write."}
NO_STORE: Message = {"status": 503, "body": "This node has no store."}


class CacheDevice(Device):
    name = "cache@1.0"

    @key("read")
    def read(self, msg: Message, req: Message, opts: Mapping[str, Any]) -> Result:
        """The value at the request's ``target``. Upstream: dev_cache:read/3."""
        status, found = read_target(req, opts)
        if status != "ok":
            return status, found
        store = node_store(opts)
        assert store is not None
        if found is None:
            # Not a message or a data path the cache knows: maybe a raw key.
            target = _text(req["target"])
            raw = store.read(target)
            if raw is None:
                return "error", {"status": 404, "body": f"Not found: {target}"}
            return "ok", raw
        return "ok", render_for(found, req)

    @key("write")
    def write(self, msg: Message, req: Message, opts: Mapping[str, Any]) -> Result:
        """Write the request's body. Upstream: dev_cache:write/3."""
        if not is_trusted_writer(req, opts):
            return "error", NOT_AUTHORIZED
        store = node_store(opts)
        if store is None:
            return "error", NO_STORE
        kind = _text(req.get("type", "single"))
        if kind == "single":
            return write_single(req, store)
        if kind == "batch":
            body = req.get("body")
            if not isinstance(body, dict):
                return "error", {"status": 400, "body": "A batch write needs a message body."}
            results: Message = {}
            for name, item in body.items():
                if not isinstance(item, dict):
                    return "error", {"status": 400, "body": f"Batch item {name!r} is no message."}
                status, result = write_single(item, store)
                if status != "ok":
                    return status, result
                results[name] = result
            return "ok", results
        return "error", INVALID_TYPE

    @key("link")
    def link(self, msg: Message, req: Message, opts: Mapping[str, Any]) -> Result:
        """Link ``source`` to ``destination``. Upstream: dev_cache:link/3."""
        if not is_trusted_writer(req, opts):
            return "error", NOT_AUTHORIZED
        store = node_store(opts)
        if store is None:
            return "error", NO_STORE
        return write_single(
            {
                "operation": "link",
                "source": req.get("source"),
                "destination": req.get("destination"),
            },
            store,
        )


def write_single(msg: Mapping[str, Any], store: Store) -> Result:
    """One write (or link) described by ``msg``. Upstream: dev_cache:write_single/2."""
    operation = _text(msg.get("operation", "write"))
    if operation == "link":
        source, destination = msg.get("source"), msg.get("destination")
        if not _is_text(source) or not _is_text(destination):
            return "error", {"status": 400, "body": "A link needs a source and a destination."}
        try:
            cache.link(_text(source), _text(destination), store)
        except Exception as exc:
            return "error", {"status": 400, "body": f"Could not link: {exc}"}
        return "ok", {"status": 200}
    if operation != "write":
        return "error", INVALID_TYPE
    body = msg.get("body")
    if body is None:
        return "error", NO_BODY
    if not isinstance(body, str | bytes | dict):
        return "error", INVALID_TYPE
    try:
        path = cache.write(body, store)
        location = msg.get("location")
        if _is_text(location):
            cache.link(path, _text(location), store)
    except cache.CacheError as exc:
        return "error", {"status": exc.status, "body": exc.reason}
    return "ok", {"status": 200, "path": path}


#: Who may write (upstream's names; see :mod:`hyperbeam.authority`).
cache_writers = authority.cache_writers
is_trusted_writer = authority.is_cache_writer


def _is_text(value: Any) -> bool:
    return isinstance(value, str | bytes) and len(value) > 0


def _text(value: Any) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", "surrogateescape")
    return value if isinstance(value, str) else str(value)

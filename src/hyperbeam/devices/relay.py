"""``relay@1.0``: send a message to another node or any URL.

- ``call``: send it and answer the reply (decoded as a message; a status of
  400 or more is an error with that status; a peer that cannot be reached,
  or does not answer within ``relay-timeout`` seconds (default 30), is a
  502 naming it). The message is the request's ``target`` (as
  ``message@1.0`` finds one), its ``path`` the target's, else
  ``relay-path``, else the base's; likewise ``relay-method`` and
  ``relay-body``. A path that is a URL goes there; any other path goes
  where ``router@1.0`` routes it. A message that arrived signed is sent as
  it arrived. ``requires-sign: true`` has the node sign it first: for the
  operator only (see :mod:`hyperbeam.authority`).
- ``cast``: the same, in the background; answers ``OK`` at once.
- ``request``: as a ``request`` hook (``on/request/device: relay@1.0``),
  sends every request where the routes say, and answers its reply.

The Arweave gateway's paths a node answers for its clients (``/graphql``,
``/raw/<id>``, ``/tx/...``...: :data:`GATEWAY_PATHS`) are passed through as
they are (method, path, body, content type) to where the routes send them:
:func:`pass_through`.

Outbound traffic goes through one pooled HTTP client
(:mod:`hyperbeam.http.client`).

Upstream: dev_relay.erl (call/3, cast/3, request/3) and hb_http:request/2.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from hyperbeam import authority, budget
from hyperbeam.ao.device import Device, Result, key
from hyperbeam.devices.router import GATEWAY_PATHS, route
from hyperbeam.http import client
from hyperbeam.message import commit
from hyperbeam.message.model import Message, as_text
from hyperbeam.message.wire import as_signed, exact_wire

log = logging.getLogger("hyperbeam.relay")

Opts = Mapping[str, Any]
_UNSET = object()


class RelayDevice(Device):
    name = "relay@1.0"
    VOLATILE = frozenset({"call", "cast", "request"})

    @key("call")
    def call(self, msg: Message, req: Message, opts: Opts) -> Result:
        """Upstream: dev_relay:call/3."""
        outgoing = _outgoing(msg, req)
        if _truthy(outgoing.get("requires-sign")) or _truthy(req.get("requires-sign")):
            wallet = opts.get("priv_wallet")
            if wallet is None or not authority.may_sign_for(req, opts):
                return "error", {
                    "status": 403,
                    "body": "the node signs relayed messages for its operator only",
                }
            outgoing = commit.commit(outgoing, wallet)
        return send(outgoing, opts, timeout=_timeout(msg, req))

    @key("cast")
    def cast(self, msg: Message, req: Message, opts: Opts) -> Result:
        """Upstream: dev_relay:cast/3."""

        detached = budget.fresh(opts)  # the work outlives the request

        def run() -> None:
            status, reply = self.call(msg, req, detached)
            if status != "ok":
                log.info("cast failed: %s", reply)

        threading.Thread(target=run, name="relay-cast", daemon=True).start()
        return "ok", "OK"

    @key("request")
    def request(self, msg: Message, req: Message, opts: Opts) -> Result:
        """The ``request`` hook: relay the request itself. Upstream:
        dev_relay:request/3."""
        original = req.get("request")
        if not isinstance(original, dict):
            return "error", {"status": 400, "body": "the relay hook needs the request"}
        call = {"path": "call", "target": "body", "body": original}
        return "ok", {"body": [{"device": "relay@1.0"}, call]}


def _outgoing(msg: Message, req: Message) -> Message:
    """The message to send. Upstream: the first half of dev_relay:call/3."""
    target_key = req.get("target")
    target = req.get(as_text(target_key)) if target_key is not None else None
    base: Message = target if isinstance(target, dict) else {}
    path = _first((base, "path"), (req, "relay-path"), (msg, "relay-path"), (msg, "path"))
    method = _first(
        (base, "method"), (req, "relay-method"), (msg, "relay-method"), (req, "method"),
        (msg, "method"),
    )  # fmt: skip
    body = _first((base, "body"), (req, "relay-body"), (msg, "relay-body"))
    added = {
        name: value
        for name, value in (("path", path), ("method", method), ("body", body))
        if value is not _UNSET and name not in base
    }
    # (A target with all three, such as a signed request, is sent as it is.)
    return {**base, **added} if added else base


def _first(*places: tuple[Message, str]) -> Any:
    for place, name in places:
        if isinstance(place, dict) and name in place:
            return place[name]
    return _UNSET


def send(msg: Message, opts: Opts, *, timeout: float = client.DEFAULT_TIMEOUT) -> Result:
    """Send ``msg`` where its path says (a URL) or where the routes send
    it. Upstream: hb_http:request/2."""
    path = as_text(msg.get("path", "/"))
    method = as_text(msg.get("method", "GET")).upper()
    if path.startswith(("http://", "https://")):
        url = path
    else:
        status, routed = route({**msg, "path": path}, opts)
        if status != "ok":
            return "error", {"status": 404, "body": f"no route for {path}"}
        found = _uri(routed, path)
        if found is None:
            return "error", {"status": 502, "body": f"the route for {path} names no node"}
        url = found
    parts = urlsplit(url)
    node = f"{parts.scheme}://{parts.netloc}"
    where = parts.path or "/"
    if parts.query:
        where += "?" + parts.query
    signed = as_signed(msg)
    wire = exact_wire(signed, frozenset({"method"}))
    if wire is not None:
        return client.send_wire(method, node + where, wire, timeout=timeout)
    unsigned = {k: v for k, v in msg.items() if k != "method"}
    return client.request(method, node, {**unsigned, "path": where}, timeout=timeout)


def _uri(routed: Any, path: str) -> str | None:
    """The URL a route answer names: a URL, a node of ``prefix`` rules
    applied already, or the first of several."""
    if isinstance(routed, str):
        return routed if "://" in routed else None
    if isinstance(routed, dict):
        if isinstance(routed.get("uri"), str):
            return str(routed["uri"])
        nodes = routed.get("nodes")
        if isinstance(nodes, list) and nodes:
            return _uri(nodes[0], path)
    return None


def _truthy(value: Any) -> bool:
    return value is True or as_text(value).lower() == "true" if value is not None else False


def _timeout(msg: Message, req: Message) -> float:
    raw = req.get("relay-timeout", msg.get("relay-timeout"))
    try:
        return float(raw) if raw is not None else client.DEFAULT_TIMEOUT
    except (TypeError, ValueError):
        return client.DEFAULT_TIMEOUT


#: Request headers passed through to the gateway.
_PASSED = ("content-type", "accept", "accept-encoding")


def pass_through(
    method: str, path: str, query: str, headers: Mapping[str, str], body: bytes, opts: Opts
) -> tuple[int, list[tuple[str, str]], bytes] | None:
    """A gateway request (:data:`GATEWAY_PATHS`) sent on as it is to where
    the routes send it: its reply, or ``None`` when no route covers it (the
    request is then resolved as any other)."""
    first = path.lstrip("/").split("/", 1)[0]
    if first not in GATEWAY_PATHS:
        return None
    status, routed = route({"path": path}, opts)
    url = _uri(routed, path) if status == "ok" else None
    if url is None:
        return None
    if query:
        url += ("&" if "?" in url else "?") + query
    sent = {k: headers[k] for k in _PASSED if k in headers}
    try:
        res = client.shared().request(method, url, headers=sent, content=body or None)
    except Exception as exc:  # any transport failure: a clear 502
        reason = f"{method} {url} failed: {exc}".encode()
        return 502, [("content-type", "text/plain")], reason
    kept = [(k, v) for k, v in res.headers.items() if k in ("content-type", "content-encoding")]
    return res.status_code, kept, res.content

"""Outbound HTTP: send a message to another node and read its answer.

A message travels as ``httpsig@1.0`` (its keys as headers, or parts of a
multipart body when a header cannot carry them); its ``path`` is the URL's
path. The reply is decoded back into a message. A status of 400 or more is
an ``("error", reply)`` (with ``status`` set); a transport failure is an ``("error", {status,
body})`` naming the node, never an exception.

Upstream: hb_http (get/3, post/4, request/5, http_response_to_httpsig/4).
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import httpx

from hyperbeam.codecs import received
from hyperbeam.codecs.httpsig import from_httpsig, to_httpsig
from hyperbeam.codecs.received import Path, Wire
from hyperbeam.codecs.structured import Tabm
from hyperbeam.message import commit
from hyperbeam.message.model import Message

log = logging.getLogger("hyperbeam.http.client")

DEFAULT_TIMEOUT = 30.0
#: Connection attempts repeated when a peer refuses or does not answer the
#: connect (the request was never sent, so even a POST is safe to repeat);
#: httpx waits 0, 0.5, 1 s... between them.
CONNECT_RETRIES = 2
#: The pool: connections kept open per client, and in all.
POOL = httpx.Limits(max_connections=200, max_keepalive_connections=40)

Result = tuple[str, Any]

#: Response headers that describe the connection or the server, not the message.
NOT_MESSAGE_HEADERS = frozenset(
    {
        "connection",
        "content-length",
        "transfer-encoding",
        "keep-alive",
        "upgrade",
        "te",
        "date",
        "server",
        "vary",
    }
)

#: A signature input naming the status among its components.
_SIGNED_STATUS = re.compile(r'"@?status"')

_CLIENT: httpx.Client | None = None
_CLIENT_LOCK = threading.Lock()


def shared() -> httpx.Client:
    """The node's one pooled client for outbound HTTP."""
    return _client()


def _client() -> httpx.Client:
    global _CLIENT
    with _CLIENT_LOCK:
        if _CLIENT is None:
            transport = httpx.HTTPTransport(retries=CONNECT_RETRIES, limits=POOL)
            _CLIENT = httpx.Client(timeout=httpx.Timeout(DEFAULT_TIMEOUT), transport=transport)
        return _CLIENT


def message_headers(res: httpx.Response) -> dict[str, str]:
    """The response's headers that belong to the message it encodes (not
    those of the connection, the server or CORS)."""
    return {
        k: v
        for k, v in res.headers.items()
        if k not in NOT_MESSAGE_HEADERS and not k.startswith("access-control-")
    }


def response_fields(res: httpx.Response) -> dict[str, bytes]:
    """:func:`message_headers` as the received field values."""
    return {k: v.encode("latin-1") for k, v in message_headers(res).items()}


def decode_received(
    res: httpx.Response, fields: Mapping[str, bytes] | None = None
) -> tuple[Tabm, list[tuple[Path, Wire]]]:
    """The response verified and decoded on the bytes that arrived (its
    status as ``@status``; see :func:`hyperbeam.codecs.received.decode`):
    raises a :class:`~hyperbeam.errors.HyperbeamError` when its own
    signature does not verify. ``fields``: :func:`response_fields`, or some
    of them."""
    found = response_fields(res) if fields is None else fields
    return received.decode(found, res.content, {"@status": str(res.status_code).encode()})


def response_message(res: httpx.Response) -> Message:
    """An HTTP response as the message it encodes (headers and body through
    ``httpsig@1.0``), in structured form. A redirect or an error keeps its
    ``status``; a success drops the ``status`` header unless it is signed.
    Upstream: hb_http:http_response_to_httpsig/4."""
    http: dict[str, Any] = dict(message_headers(res))
    if res.content:
        http["body"] = res.content
    signed_status = _SIGNED_STATUS.search(http.get("signature-input", '"status"')) is not None
    converted: Message = commit.convert(from_httpsig(http), "structured@1.0", "tabm")
    if res.status_code >= 300:
        converted.setdefault("status", res.status_code)
    elif "status" in converted and not signed_status:
        # The server's status line, not part of the signed message (and its
        # hmac ID must not count it).
        del converted["status"]
        converted = commit.refresh_hmac(converted)
    return converted


def encode_request(msg: Message) -> tuple[dict[str, str], bytes]:
    """``msg`` as request headers and body (``httpsig@1.0``)."""
    http = to_httpsig(commit.convert(msg, "tabm"), wire_safe=True)
    body = http.pop("body", b"")
    return {k: v.decode("latin-1") for k, v in http.items()}, body


def node_url(location: str) -> str:
    """``scheme://host:port`` of a URL (its path and query dropped)."""
    parts = urlsplit(location)
    if not parts.scheme or not parts.netloc:
        raise ValueError(f"not a node URL: {location!r}")
    return f"{parts.scheme}://{parts.netloc}"


def request(method: str, node: str, msg: Message, *, timeout: float = DEFAULT_TIMEOUT) -> Result:
    """Send ``msg`` to ``node`` (a base URL); its ``path`` is the URL path."""
    path = msg.get("path", "/")
    path = path.decode() if isinstance(path, bytes) else str(path)
    if not path.startswith("/"):
        path = "/" + path
    url = node.rstrip("/") + path
    if "path" in msg and ("commitments" not in msg or "path" not in commit.committed(msg)):
        msg = {k: v for k, v in msg.items() if k != "path"}  # the URL carries it
    try:
        headers, body = encode_request(msg)
        res = _client().request(method, url, headers=headers, content=body or None, timeout=timeout)
    except httpx.HTTPError as exc:
        log.warning("%s %s failed: %s", method, url, exc)
        return "error", {"status": 502, "body": f"{method} {url} failed: {exc}"}
    except (ValueError, TypeError) as exc:
        return "error", {"status": 400, "body": f"cannot send the message to {url}: {exc}"}
    return _reply(res, url)


def _reply(res: httpx.Response, url: str) -> Result:
    try:
        reply = response_message(res)
    except Exception as exc:
        return "error", {"status": 502, "body": f"{url} sent a reply that cannot be read: {exc}"}
    return ("error" if res.status_code >= 400 else "ok"), reply


def send_wire(method: str, url: str, wire: Wire, *, timeout: float = DEFAULT_TIMEOUT) -> Result:
    """Send a signed message's own bytes (see :class:`Wire`) to ``url``."""
    fields, body = wire.http()
    headers = {k: v.decode("latin-1") for k, v in fields.items()}
    try:
        res = _client().request(method, url, headers=headers, content=body or None, timeout=timeout)
    except httpx.HTTPError as exc:
        log.warning("%s %s failed: %s", method, url, exc)
        return "error", {"status": 502, "body": f"{method} {url} failed: {exc}"}
    return _reply(res, url)


def get(node: str, msg: Message, *, timeout: float = DEFAULT_TIMEOUT) -> Result:
    """Upstream: hb_http:get/3."""
    return request("GET", node, msg, timeout=timeout)


def post(node: str, msg: Message, *, timeout: float = DEFAULT_TIMEOUT) -> Result:
    """Upstream: hb_http:post/3."""
    return request("POST", node, msg, timeout=timeout)

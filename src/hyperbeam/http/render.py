"""Requests to messages and result messages to responses, in ``httpsig@1.0`` form.

A request's headers and body are decoded by the httpsig codec (typed keys via
``ao-types``, nested messages from a multipart body) into a TABM; the method
and the path are added. A result is encoded the same way: top-level binaries
become headers, nested messages and large values a multipart body. Responses
are unsigned until the node has a wallet (issue 3).

Upstream: hb_http:req_to_tabm_singleton/3, hb_http:maybe_add_unsigned/3,
hb_http:reply/5 and encode_reply/3 (the httpsig@1.0 branch).
"""

from __future__ import annotations

from typing import Any

from hyperbeam.codecs.httpsig import from_httpsig, to_httpsig
from hyperbeam.codecs.structured import from_message
from hyperbeam.message.model import Message
from hyperbeam.message.private import is_private

CORS_HEADERS = {
    "access-control-allow-origin": "*",
    "access-control-allow-methods": "GET, POST, PUT, DELETE, OPTIONS",
}

#: Headers that describe the connection, not the message.
TRANSPORT_HEADERS = frozenset(
    {"connection", "content-length", "transfer-encoding", "keep-alive", "upgrade", "te"}
)


def request_message(
    method: str, path: str, query: str, headers: dict[str, str], body: bytes
) -> Message:
    """The request as one message: its decoded fields, the method and the path.

    A ``path`` the message carries itself wins over the URL's, as upstream.
    """
    http: dict[str, Any] = {k: v for k, v in headers.items() if k not in TRANSPORT_HEADERS}
    if body:
        http["body"] = body
    msg = from_httpsig(http)
    url_path = f"{path}?{query}" if query else path
    return {**msg, "method": method, "path": msg.get("path", url_path)}


def render(
    msg: Message, request_headers: dict[str, str]
) -> tuple[int, list[tuple[str, str]], bytes]:
    """``(status, headers, body)`` for a result message."""
    status = msg.get("status", 200)
    code = status if isinstance(status, int) and not isinstance(status, bool) else 200
    encoded = to_httpsig(from_message(msg), wire_safe=True)
    body = encoded.pop("body", b"")
    headers: dict[str, str] = dict(CORS_HEADERS)
    allow = request_headers.get("access-control-request-headers")
    if allow:
        headers["access-control-allow-headers"] = allow
    for key, value in encoded.items():
        if not is_private(key):
            headers[key] = value.decode("latin-1")
    headers["content-length"] = str(len(body))
    return code, list(headers.items()), body

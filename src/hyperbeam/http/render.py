"""Rendering a result message as an (unsigned) HTTP response.

Keys with short, single-line text values become headers; ``body`` becomes the
body; anything else (nested messages, lists, long or binary values) is carried
in a JSON body with ``content-type: application/json``, until the httpsig
codec takes over rendering.

Upstream: hb_http:reply/5, hb_http:encode_reply/3 (httpsig@1.0, unsigned).
"""

from __future__ import annotations

import base64
import json
from typing import Any

from hyperbeam.message.model import Atom
from hyperbeam.message.private import is_private

MAX_HEADER_LENGTH = 4096

CORS_HEADERS = {
    "access-control-allow-origin": "*",
    "access-control-allow-methods": "GET, POST, PUT, DELETE, OPTIONS",
}


def scalar_text(value: Any) -> str | None:
    """The header text of a scalar value, or ``None`` when it is not one."""
    if isinstance(value, bool):
        return "?1" if value else "?0"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, Atom):
        return value.name
    if isinstance(value, bytes):
        try:
            value = value.decode("utf-8")
        except UnicodeDecodeError:
            return None
    if isinstance(value, str):
        return value
    return None


def _header_safe(text: str) -> bool:
    return (
        len(text) <= MAX_HEADER_LENGTH
        and text.isascii()
        and text.isprintable()
        and text == text.strip()
    )


def to_json(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): to_json(v) for k, v in value.items() if not is_private(k)}
    if isinstance(value, list | tuple):
        return [to_json(v) for v in value]
    if isinstance(value, bytes):
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            return base64.b64encode(value).decode("ascii")
    if isinstance(value, Atom):
        return value.name
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return repr(value)


def render(
    msg: dict[str, Any], request_headers: dict[str, str]
) -> tuple[int, list[tuple[str, str]], bytes]:
    """``(status, headers, body)`` for a result message."""
    status = msg.get("status", 200)
    code = status if isinstance(status, int) and not isinstance(status, bool) else 200
    headers: dict[str, str] = dict(CORS_HEADERS)
    allow = request_headers.get("access-control-request-headers")
    if allow:
        headers["access-control-allow-headers"] = allow
    rest: dict[str, Any] = {}
    body: bytes | None = None
    for key, value in msg.items():
        if is_private(key) or key == "status":
            continue
        if key == "body":
            if isinstance(value, bytes):
                body = value
                continue
            text = scalar_text(value)
            if text is not None:
                body = text.encode("utf-8")
                continue
            rest[key] = value
            continue
        text = scalar_text(value)
        if text is not None and _header_safe(text) and _header_safe(key):
            headers[key] = text
        else:
            rest[key] = value
    headers["status"] = str(code)
    if rest:
        if body is not None:
            rest["body"] = body.decode("utf-8", "replace")
        body = json.dumps(to_json(rest), separators=(",", ":")).encode("utf-8")
        headers["content-type"] = "application/json"
    payload = body if body is not None else b""
    headers["content-length"] = str(len(payload))
    return code, list(headers.items()), payload

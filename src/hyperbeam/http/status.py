"""Mapping AO-Core results to HTTP status codes.

Upstream: dev_meta:status_code/1, dev_meta:embed_status/1.
"""

from __future__ import annotations

from typing import Any

from hyperbeam.message.model import Atom
from hyperbeam.message.wire import derive

STATUS_CODES = {
    "ok": 200,
    "error": 400,
    "created": 201,
    "not_found": 404,
    "failure": 500,
    "unavailable": 503,
}


def _named(value: Any) -> str | None:
    if isinstance(value, Atom):
        return value.name
    return None


def status_code(status: str, result: Any) -> int:
    """The HTTP status of a result: its own ``status`` key first, then its kind."""
    if isinstance(result, dict):
        named = _named(result.get("body"))
        if named in STATUS_CODES:
            return STATUS_CODES[named]
        if status != "ok" and result.get("body") == "not_found" and "status" not in result:
            return 404
        raw = result.get("status")
        if isinstance(raw, bool):
            raw = None
        if isinstance(raw, int):
            return raw
        if isinstance(raw, Atom) and raw.name in STATUS_CODES:
            return STATUS_CODES[raw.name]
        if isinstance(raw, str | bytes):
            try:
                return int(raw)
            except ValueError:
                pass
    elif status != "ok" and result == "not_found":
        return 404
    return STATUS_CODES.get(status, 500)


def embed_status(status: str, result: Any) -> dict[str, Any]:
    """The result as a message carrying its HTTP ``status``."""
    code = status_code(status, result)
    if isinstance(result, dict):
        return derive(result, {**result, "status": code})
    return {"status": code, "body": result}

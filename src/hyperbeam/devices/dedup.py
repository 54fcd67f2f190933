"""``dedup@1.0``: skip requests that a message has already seen.

Every key but ``keys`` and ``set`` (served as ``message@1.0`` serves them)
is handled alike. On the first ``pass`` of a stack (``pass`` absent or 1)
the ID of the request, counting all its commitments, is looked up in the
base's ``dedup`` list: if present the answer is ``("skip", base)``, which a
stack reads as "stop here"; if not, the ID is put at the front of the list
and the answer is ``("ok", base)``. Later passes are let through untouched.

Upstream: dev_dedup.erl.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hyperbeam.ao import resolve as ao
from hyperbeam.ao.device import Device, Result
from hyperbeam.ao.path import As
from hyperbeam.devices.message import MessageDevice
from hyperbeam.message.id import message_id
from hyperbeam.message.model import Message, normalize_keys

_MESSAGE = MessageDevice()


def _seen(value: Any) -> list[Any]:
    """The ``dedup`` list, which may come back as a numbered message."""
    if isinstance(value, list | tuple):
        return list(value)
    if isinstance(value, dict):
        return list(ao.ordered_list(normalize_keys(value), {}))
    return []


class DedupDevice(Device):
    """Remembers the IDs of the requests it has seen. Upstream: dev_dedup.erl."""

    name = "dedup@1.0"

    def info(self, msg: Any, opts: Mapping[str, Any]) -> dict[str, Any]:
        """Every key goes to :meth:`handle`. Upstream: dev_dedup:info/1."""
        return {"handler": self.handle}

    def handle(self, name: Any, msg: Message, req: Message, opts: Mapping[str, Any]) -> Result:
        """Forward ``keys`` and ``set`` to ``message@1.0``; deduplicate the rest
        on the first pass. Upstream: dev_dedup:handle/4."""
        if name == "keys":
            return _MESSAGE.keys(msg)
        if name == "set":
            return _MESSAGE.set(msg, req)
        as_message = As(_MESSAGE.name, msg)
        if ao.get("pass", as_message, opts, default=1) != 1:
            return "ok", msg
        req_id = message_id(req, "all")
        seen = _seen(ao.get("dedup", as_message, opts, default=[]))
        if req_id in seen:
            return "skip", msg
        return "ok", ao.set_message(msg, {"dedup": [req_id, *seen]}, opts)

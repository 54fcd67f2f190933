"""``multipass@1.0``: ask a stack to run again until ``passes`` is reached.

Every key but ``keys`` and ``set`` (which ``message@1.0`` serves) answers
``("pass", msg)`` while the message's ``pass`` (default 1) is below its
``passes`` (default 1), and ``("ok", msg)`` after. In a ``stack@1.0`` fold,
``pass`` re-runs the stack from its first device, so the devices after this
one see every pass but the ones before the last.

Upstream: dev_multipass.erl.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hyperbeam.ao import resolve as ao
from hyperbeam.ao.device import Device, Result
from hyperbeam.devices.message import MessageDevice
from hyperbeam.message.model import Message

_MESSAGE_DEVICE = MessageDevice()


def _counter(name: str, msg: Message, opts: Mapping[str, Any]) -> int:
    base = {k: v for k, v in msg.items() if k != "device"}
    return int(ao.get(name, {**base, "device": "message@1.0"}, opts, 1))


class MultipassDevice(Device):
    """Answers ``pass`` until the message's ``pass`` reaches ``passes``."""

    name = "multipass@1.0"

    def info(self, msg: Any, opts: Mapping[str, Any]) -> dict[str, Any]:
        """Every key goes to :meth:`handle`. Upstream: dev_multipass:info/1."""
        return {"handler": self.handle}

    def handle(self, name: Any, msg1: Message, msg2: Message, opts: Mapping[str, Any]) -> Result:
        """``keys`` and ``set`` as ``message@1.0``; any other key ``pass``
        while ``pass < passes``. Upstream: dev_multipass:handle/4."""
        if name == "keys":
            return _MESSAGE_DEVICE.keys(msg1)
        if name == "set":
            return _MESSAGE_DEVICE.set(msg1, msg2)
        if _counter("pass", msg1, opts) < _counter("passes", msg1, opts):
            return "pass", msg1
        return "ok", msg1

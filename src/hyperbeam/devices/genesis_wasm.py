"""``genesis-wasm@1.0``: legacy AO processes (AOS), computed in this node.

``@permaweb/aoconnect`` (mainnet mode) spawns every process with
``execution-device: genesis-wasm@1.0`` and names its WebAssembly image only
as ``Module``. Upstream's device hands such processes to a legacy AO compute
unit (a Node.js service it starts beside the node) and patches the result
in. This node runs them itself: every key (``init``, ``compute``,
``snapshot``, ``normalize``) goes through the AOS stack,

    wasi@1.0, json-iface@1.0, wasm-64@1.0, patch@1.0, multipass@1.0

with two passes, outputs under ``wasm`` and ``PATCH`` messages of the outbox
applied to the state; ``wasm-64@1.0`` finds the image under the process's
``module`` when it has no ``image``. The state keeps those settings; the
device is set back to this one after each key.

Upstream: dev_genesis_wasm.erl (which delegates to an external compute unit).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hyperbeam.ao import resolve as ao
from hyperbeam.ao.device import Device, Result
from hyperbeam.devices.message import set_keys
from hyperbeam.message.model import Message

#: The devices that run a legacy AO process here.
GENESIS_STACK = ["WASI@1.0", "JSON-Iface@1.0", "WASM-64@1.0", "patch@1.0", "Multipass@1.0"]
STACK_KEYS = ["init", "compute", "snapshot", "normalize"]


class GenesisWasmDevice(Device):
    name = "genesis-wasm@1.0"

    def info(self, msg: Any, opts: Mapping[str, Any]) -> dict[str, Any]:
        return {"handler": self.router, "exports": STACK_KEYS}

    def router(self, name: Any, msg1: Message, msg2: Any, opts: Mapping[str, Any]) -> Result:
        """Run ``name`` on the AOS stack, then answer as this device."""
        stacked = set_keys(
            msg1,
            {
                "device": "stack@1.0",
                "device-stack": GENESIS_STACK,
                "output-prefix": "wasm",
                "patch-from": "/results/outbox",
                "passes": 2,
                "stack-keys": STACK_KEYS,
            },
        )
        request = {**msg2, "path": name} if isinstance(msg2, dict) else {"path": name}
        status, result = ao.resolve(stacked, request, opts)
        if status == "ok" and isinstance(result, dict) and result.get("device") == "stack@1.0":
            result = set_keys(result, {"device": self.name})
        return status, result

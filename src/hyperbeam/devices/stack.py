"""``stack@1.0``: run a key through a stack of devices, in turn or side by side.

A stack message names its devices under ``device-stack`` (``1``, ``2``, ... or
any names). Resolving a key on the stack resolves the same key on each device:

``fold`` (the default)
    Devices run in numeric order (``1``, ``2``, ...) until one is missing,
    each on the message the one before returned. A device answering
    ``("skip", msg)`` ends the stack early; ``("pass", msg)`` increments
    ``pass`` and runs the stack again from its first device (unless
    ``allow-multipass`` is false, when ``("pass", msg)`` is returned to the
    caller); a device that does not serve the key (``not_found``) is skipped.
    A result that is not a message is returned as it is.
``map``
    Every device runs on the original message; the results, keyed by the
    devices' names in the stack, make up one message.

The request's ``mode`` (``Fold``/``Map``) overrides the message's.

While a device runs, the message's ``device`` is that device, and
``input-prefix``/``output-prefix`` hold its entries in ``input-prefixes`` and
``output-prefixes``; when the fold ends, the stack's own device (and its
prefixes and ``pass``) are set back. ``/transform/<name>/<key>`` runs a key
on one device of the stack alone.

Errors follow the ``error_strategy`` option: ``throw`` (the default) raises,
``stop`` answers ``("error", ...)``.

Upstream: dev_stack.erl.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hyperbeam.ao import resolve as ao
from hyperbeam.ao.device import Device, Result
from hyperbeam.ao.path import AO_CORE_KEYS
from hyperbeam.devices.message import MessageDevice, set_keys
from hyperbeam.errors import ExecutionError, ResolutionError
from hyperbeam.message.model import UNSET, Message, normalize_key, normalize_keys

Opts = Mapping[str, Any]

_MESSAGE = "message@1.0"
_NOT_FOUND = ao.NOT_FOUND
_MESSAGE_DEVICE = MessageDevice()


def _as_message_get(name: Any, msg: Message, opts: Opts, default: Any = _NOT_FOUND) -> Any:
    """``name`` (a key or a list of keys) read from ``msg`` as ``message@1.0``
    would (``{as, dev_message, Msg}``): plain lookups, without a resolution.
    Read that way, ``device`` is ``message@1.0`` itself."""
    value: Any = msg
    for part in name if isinstance(name, list) else [name]:
        if isinstance(value, list | tuple):
            value = normalize_keys(value)
        if not isinstance(value, dict):
            return default
        if value is msg and normalize_key(part) == "device":
            return _MESSAGE
        status, value = _MESSAGE_DEVICE.get(part, value)
        if status != "ok":
            return default
    return value


def input_prefix(msg: Message, opts: Opts) -> Any:
    """The prefix a stacked device reads its inputs under.
    Upstream: dev_stack:input_prefix/3."""
    return _as_message_get("input-prefix", msg, opts, "")


def output_prefix(msg: Message, opts: Opts) -> Any:
    """The prefix a stacked device writes its outputs under.
    Upstream: dev_stack:output_prefix/3 (and prefix/3)."""
    return _as_message_get("output-prefix", msg, opts, "")


def transform(msg: Message, name: Any, opts: Opts) -> Message | None:
    """``msg`` with the stack's device ``name`` in place of its ``device``, and
    that device's prefixes set; ``None`` when the stack has no such device.
    Upstream: dev_stack:transform/3."""
    stack = _as_message_get("device-stack", msg, opts)
    if stack == _NOT_FOUND:
        raise ResolutionError("the message has no valid device-stack")
    name = normalize_key(name)
    dev = (
        _as_message_get(name, normalize_keys(stack), opts)
        if isinstance(stack, list | dict)
        else _NOT_FOUND
    )
    if dev == _NOT_FOUND:
        status, dev = ao.resolve(stack, {"path": name}, opts)
        if status != "ok":
            return None
    return set_keys(
        msg,
        {
            "device": dev,
            "device-key": name,
            "input-prefix": _as_message_get(["input-prefixes", name], msg, opts, None),
            "output-prefix": _as_message_get(["output-prefixes", name], msg, opts, None),
            "previous-device": _as_message_get("device", msg, opts, None),
            "previous-input-prefix": _as_message_get("input-prefix", msg, opts, None),
            "previous-output-prefix": _as_message_get("output-prefix", msg, opts, None),
        },
    )


class StackDevice(Device):
    """Runs keys through the devices of the message's ``device-stack``."""

    name = "stack@1.0"

    def info(self, msg: Any, opts: Mapping[str, Any]) -> dict[str, Any]:
        """Every key goes to :meth:`router` but ``set`` and ``keys``, which
        ``message@1.0`` serves; ``stack-keys`` limits the keys served.
        Upstream: dev_stack:info/1."""
        info: dict[str, Any] = {"handler": self.router, "excludes": ["set", "keys"]}
        stack_keys = msg.get("stack-keys") if isinstance(msg, dict) else None
        if stack_keys is not None:
            listed = normalize_keys(stack_keys)
            info["exports"] = list(listed.values()) if isinstance(listed, dict) else listed
        return info

    def router(self, name: Any, msg1: Message, msg2: Message, opts: Opts) -> Result:
        """Send ``transform`` to :meth:`transformer`, every other key to the
        fold or the map. Upstream: dev_stack:router/4."""
        if name == "keys":
            return _MESSAGE_DEVICE.keys(msg1)
        if normalize_key(name) == "transform":
            return self.transformer(msg1, opts)
        mode = ao.get("mode", msg2, opts)
        if mode == _NOT_FOUND:
            mode = _as_message_get("mode", msg1, opts, "Fold")
        mode = str(mode).lower()
        if mode == "fold":
            return self.fold(msg1, msg2, opts)
        if mode == "map":
            return self.map(msg1, msg2, opts)
        return "error", {"status": 400, "body": f"unknown stack mode: {mode!r}"}

    def transformer(self, msg1: Message, opts: Opts) -> Result:
        """``msg1`` with a device that, given a device's name, answers ``msg1``
        with that device of the stack in place.
        Upstream: dev_stack:transformer_message/2."""
        base_info = self.info(msg1, opts)

        def handle(name: Any, msg: Message) -> Result:
            found = transform(msg, name, opts)
            return ("ok", found) if found is not None else ("error", _NOT_FOUND)

        device = {
            "info": lambda: {**base_info, "handler": handle},
            "type": "stack-transformer",
        }
        return "ok", {**msg1, "device": device}

    def fold(self, msg1: Message, msg2: Message, opts: Opts) -> Result:
        """Run the devices in order on an accumulating message, then restore
        the stack's own device. Upstream: dev_stack:resolve_fold/3."""
        own_device = _MESSAGE_DEVICE.get("device", msg1)[1]
        starting_pass = _as_message_get("pass", msg1, opts, UNSET)
        prepared = ao.set_key(msg1, "pass", 1, opts)
        status, result = self._fold(prepared, msg2, 1, opts)
        if status != "ok" or not isinstance(result, dict):
            return status, result
        restored = set_keys(
            result,
            {
                "device": own_device,
                "input-prefix": _as_message_get("previous-input-prefix", result, opts, None),
                "output-prefix": _as_message_get("previous-output-prefix", result, opts, None),
                "device-key": UNSET,
                "device-stack-previous": UNSET,
                "pass": starting_pass,
            },
        )
        return "ok", restored

    def _fold(self, msg1: Message, msg2: Message, dev_num: int, opts: Opts) -> Result:
        """The fold from device ``dev_num`` on. Upstream: dev_stack:resolve_fold/4."""
        while True:
            msg3 = transform(msg1, dev_num, opts)
            if msg3 is None:
                return "ok", msg1
            status, msg4 = ao.resolve(msg3, msg2, opts)
            if status == "ok" and isinstance(msg4, dict):
                msg1, dev_num = msg4, dev_num + 1
            elif status == "error" and msg4 == _NOT_FOUND:
                msg1, dev_num = msg3, dev_num + 1
            elif status == "ok" or (status == "skip" and isinstance(msg4, dict)):
                # A raw (non-message) result, or a skip of the rest of the stack.
                return "ok", msg4
            elif status == "pass" and isinstance(msg4, dict):
                if _as_message_get("allow-multipass", msg4, opts, True) in (False, "false"):
                    return "pass", msg4
                msg1, dev_num = _increment_pass(msg4, opts), 1
            elif status == "error":
                return _maybe_error(msg1, msg2, dev_num, msg4, opts)
            else:
                return _maybe_error(
                    msg1, msg2, dev_num, {"unexpected_result": (status, msg4)}, opts
                )

    def map(self, msg1: Message, msg2: Message, opts: Opts) -> Result:
        """Run every device on ``msg1``; answer their results under their names
        in the stack. Upstream: dev_stack:resolve_map/3."""
        stack = normalize_keys(_as_message_get("device-stack", msg1, opts))
        if not isinstance(stack, dict):
            raise ResolutionError("the message has no valid device-stack")
        results: Message = {}
        for name in stack:
            if name in AO_CORE_KEYS:
                continue
            with_dev = transform(msg1, name, opts)
            if with_dev is None:
                continue
            status, value = ao.resolve(with_dev, msg2, opts)
            if status == "ok":
                results[name] = value
        return "ok", results


def _increment_pass(msg: Message, opts: Opts) -> Message:
    """``msg`` with ``pass`` one higher. Upstream: dev_stack:increment_pass/2."""
    current = _as_message_get("pass", msg, opts, 1)
    out: Message = ao.set_message(msg, {"pass": int(current) + 1}, opts)
    return out


def _maybe_error(msg1: Message, msg2: Message, dev_num: int, info: Any, opts: Opts) -> Result:
    """Raise, or answer an error, as ``error_strategy`` says.
    Upstream: dev_stack:maybe_error/5."""
    if opts.get("error_strategy", "throw") == "stop":
        return "error", {
            "stack_call_failed": {"dev_num": dev_num, "msg1": msg1, "msg2": msg2, "info": info}
        }
    raise ExecutionError(f"stack device {dev_num} failed: {info!r}")

"""``push@1.0``: deliver what a process's slot sent, and what that caused.

``push`` with a ``slot``: compute that slot of the process, then take every
message in its ``results/outbox``, sign it (with ``from-process`` set) and
schedule it on its ``target`` process (on this node or, through the
scheduler's forwarding, on the node that schedules it), then push the new
slot of the target the same way, until no more messages are sent. The answer
holds the slot's results (to ``result-depth`` levels, default 1) and, under
each outbox key, ``{id, target, slot, resulted-in}`` or an error.

``push`` without a ``slot`` first schedules the request (or its ``body``) on
the process, then pushes the slot it got; a new process is only scheduled.
``push-mode: async`` returns at once and pushes on a thread.

Upstream: dev_push.erl.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from typing import Any

from hyperbeam import authority, budget
from hyperbeam.ao import resolve as ao
from hyperbeam.ao.device import Device, Result, key
from hyperbeam.ao.path import As
from hyperbeam.crypto.wallet import Wallet
from hyperbeam.devices.process import as_process, ensure_process_key, process_id
from hyperbeam.devices.scheduler import target_text
from hyperbeam.errors import HyperbeamError
from hyperbeam.message import commit
from hyperbeam.message.ids import human_id, is_id
from hyperbeam.message.model import Message, as_text, normalize_keys
from hyperbeam.message.wire import as_signed

log = logging.getLogger("hyperbeam.push")

Opts = Mapping[str, Any]


def _type_of(msg: Any) -> Any:
    if not isinstance(msg, dict):
        return None
    found = msg.get("type")
    if found is None and isinstance(msg.get("body"), dict):
        found = msg["body"].get("type")
    return as_text(found) if found is not None else None


def split_target(raw: Any) -> str:
    """The process ID of a ``target`` that may carry ``?hint=...``."""
    return target_text(raw).split("?", 1)[0].split("&", 1)[0]


class PushDevice(Device):
    """Upstream: dev_push.erl."""

    name = "push@1.0"

    @key("push")
    def push(self, base: Message, req: Message, opts: Opts) -> Result:
        """Upstream: push/3."""
        process = as_process(base)
        if req.get("slot") is not None:
            return self._with_mode(process, req, opts)
        # The message scheduled is the request as its signer signed it (its
        # own path, not the one routing gave it), or the message in its body.
        body = req.get("body")
        message = body if isinstance(body, dict) else as_signed(req)
        status, assignment = ao.resolve(
            process, {"path": "schedule", "method": "POST", "body": message}, opts
        )
        if status != "ok" or not isinstance(assignment, dict):
            return "error", assignment
        if _type_of(assignment.get("body")) == "Process":
            return "ok", assignment
        return self._with_mode(process, assignment, opts)

    def _with_mode(self, process: Message, req: Message, opts: Opts) -> Result:
        mode = req.get("push-mode") or process.get("push-mode") or "sync"
        if as_text(mode) == "async":
            detached = budget.fresh(opts)  # the work outlives the request
            threading.Thread(target=self._push, args=(process, req, detached), daemon=True).start()
            return "ok", {"status": 202, "body": "pushing", "slot": req.get("slot")}
        return self._push(process, req, opts)

    def _push(self, process: Message, req: Message, opts: Opts) -> Result:
        """Compute a slot and push its outbox. Upstream: do_push/3."""
        slot = req.get("slot")
        pid = process_id(process, opts)
        status, results = ao.resolve(
            As("process@1.0", process),
            {"path": "compute/results", "slot": slot},
            {**opts, "hashpath": "ignore"},
        )
        if status != "ok":
            return "error", results
        depth = int(req.get("result-depth", 1))
        answer: Message = dict(results) if depth > 0 and isinstance(results, dict) else {}
        outbox = results.get("outbox") if isinstance(results, dict) else None
        # (A list, as Lua processes answer it, is numbered "1".."n".)
        outbox = normalize_keys(outbox)
        if isinstance(outbox, dict) and outbox:
            origin = {"process": pid, "slot": slot, "result-depth": depth}
            for out_key, message in normalize_keys(outbox).items():
                answer[out_key] = self._deliver(out_key, message, origin, opts)
        return "ok", {**answer, "slot": slot, "process": pid}

    def _deliver(self, out_key: str, message: Any, origin: Message, opts: Opts) -> Message:
        """Schedule one outbox message on its target and push it on.
        Upstream: push_result_message/4."""
        if not isinstance(message, dict) or "target" not in message:
            return {
                "response": "error",
                "status": 422,
                "outbox-index": out_key,
                "reason": "No target process found.",
            }
        target = split_target(message["target"])
        loader = opts.get("load_message")
        target_process = loader(target, opts) if loader and is_id(target) else None
        if not isinstance(target_process, dict):
            return {
                "response": "error",
                "status": 404,
                "target": target,
                "reason": "Could not access target process!",
            }
        try:
            unsigned = authority.without_path(_from_origin(message, origin))
            signed = commit.commit(unsigned, _wallet(opts))
        except HyperbeamError as exc:
            return {"response": "error", "target": target, "reason": exc.reason}
        as_target = ensure_process_key(target_process, opts)
        status, assignment = ao.resolve(
            As("process@1.0", as_target),
            {"path": "schedule", "method": "POST", "body": signed},
            opts,
        )
        if status != "ok" or not isinstance(assignment, dict) or "slot" not in assignment:
            return {"response": "error", "target": target, "reason": assignment}
        next_slot = assignment["slot"]
        status, downstream = ao.resolve(
            As("process@1.0", as_target),
            {"path": "push", "slot": next_slot, "result-depth": int(origin["result-depth"]) - 1},
            opts,
        )
        if status != "ok":
            return {"response": "error", "target": target, "reason": downstream}
        return {
            "id": human_id(commit.id(signed, "all")),
            "target": target,
            "slot": next_slot,
            "resulted-in": downstream,
        }


def _from_origin(message: Message, origin: Message) -> Message:
    """Upstream: additional_keys/3."""
    return {
        **message,
        "target": split_target(message["target"]),
        "data-protocol": "ao",
        "variant": "ao.N.1",
        "type": "Message",
        "from-process": origin["process"],
    }


def _wallet(opts: Opts) -> Wallet:
    wallet = opts.get("priv_wallet")
    if not isinstance(wallet, Wallet):
        raise HyperbeamError("pushing needs the node's wallet", status=503)
    return wallet

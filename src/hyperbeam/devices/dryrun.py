"""``dry-run@1.0``: evaluate a message against a process's latest state
without scheduling it (how AO apps read state).

``compute``
    On ``/<pid>~process@1.0/as=execution`` (``process@1.0``'s ``as`` sets
    this device), as aoconnect's mainnet ``dryrun`` asks:
    ``/<pid>~process@1.0/as=execution/compute&<tag>=<value>...``. The
    request, less what says how it travelled (``path``, ``method``, codec
    options, its signatures), is the message. It is evaluated as the next
    message would be, through the process's execution device, on a copy of
    the state after every message scheduled so far
    (:meth:`~hyperbeam.devices.process.ProcessDevice.fork`), and the answer
    is the copy's ``results`` with the ``raw`` AOS response aoconnect reads.
``legacy``
    ``POST /dry-run?process-id=<pid>`` (aoconnect's legacy mode with the
    node as its ``CU_URL``; the HTTP edge sends it here): the same for a
    legacy compute unit's JSON body ``{Id, Target, Owner, Anchor, Data,
    Tags: [{name, value}]}``, answered as one: JSON ``{Messages, Spawns,
    Assignments, Output, GasUsed}``, with ``Error`` when there is one.

Nothing is scheduled, no slot is taken, no state is stored or kept: the
copy is dropped, and the process's next slot computes as if the dry run
never happened.

The sender is the request's signer, else the ``owner`` it gives (a legacy
body's ``Owner``), else nobody (empty ``commitments``). As a legacy compute
unit does, a dry run takes the sender it is given, unverified (nothing it
does is kept); the message shows it as a commitment without a signature,
``{commitment-device: dry-run@1.0, alg: rsa-pss-sha512, committer:
<address>}``, the shape from which ``json-iface@1.0`` (AOS's ``Owner`` and
``From``) and hyper-aos read a sender.

Upstream: none. HyperBEAM (May 2025) relays ``/dry-run`` to a legacy
compute unit; later versions answer ``as=execution/compute`` through the
execution device.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import Any

from hyperbeam.ao.device import Device, Result, key
from hyperbeam.cache_control import volatile
from hyperbeam.codecs import json as json_codec
from hyperbeam.devices.message import set_keys
from hyperbeam.devices.process import (
    ProcessDevice,
    as_process,
    ensure_process_key,
    process_id,
    run_as,
    with_raw,
)
from hyperbeam.errors import HyperbeamError
from hyperbeam.message import commit
from hyperbeam.message.id import unsigned_id
from hyperbeam.message.ids import is_human_id
from hyperbeam.message.model import UNSET, Message, as_int, as_text, normalize_key
from hyperbeam.message.private import is_private, private_of
from hyperbeam.scheduler.assignment import VARIANT

Opts = Mapping[str, Any]

#: Where aoconnect's legacy mode sends a dry run, and the path the node
#: resolves it as.
LEGACY_PATH = "/dry-run"
LEGACY_ROUTE = "/~dry-run@1.0/legacy"

#: Keys of a request that say how it travelled, not what it says (and
#: those that start with :data:`TRANSPORT_PREFIXES`).
TRANSPORT_KEYS = frozenset(
    {
        "path", "method", "commitments", "signature", "signature-input",
        "content-digest", "content-length", "signing-format", "accept-bundle",
        "accept-codec", "require-codec", "accept", "accept-encoding",
        "accept-language", "host", "user-agent", "connection", "origin",
        "referer", "cache-control", "pragma", "priority", "forwarded", "owner",
    }
)  # fmt: skip
TRANSPORT_PREFIXES = ("sec-", "x-forwarded-")

#: The commitment that names a dry run's sender (it has no signature).
SENDER_ALG = "rsa-pss-sha512"

#: What a legacy compute unit answers when there is nothing else to say.
_LEGACY_DEFAULTS: dict[str, Any] = {
    "Messages": [],
    "Spawns": [],
    "Assignments": [],
    "Output": {},
    "GasUsed": 0,
}


class DryRunDevice(Device):
    name = "dry-run@1.0"
    VOLATILE = frozenset({"*"})

    @key("compute")
    def compute(self, msg1: Message, msg2: Any, opts: Opts) -> Result:
        request = msg2 if isinstance(msg2, dict) else {}
        return volatile(evaluate(msg1, message_of(request), opts))

    @key("legacy")
    def legacy(self, msg1: Message, msg2: Any, opts: Opts) -> Result:
        request = msg2 if isinstance(msg2, dict) else {}
        try:
            body = legacy_body(request.get("body", b""))
            pid = as_text(request.get("process-id") or body.get("Target") or "")
            if not is_human_id(pid):
                raise HyperbeamError(
                    "a dry run names its process: POST /dry-run?process-id=<id>", status=400
                )
            process = _load_process(pid, opts)
            status, results = evaluate(process, legacy_message(body, pid), opts)
        except HyperbeamError as exc:
            status, results = "error", {"status": exc.status, "body": exc.reason}
        return volatile(("ok", legacy_reply(status, results)))


# -- evaluation --------------------------------------------------------------------------


def evaluate(process: Message, message: Message, opts: Opts) -> Result:
    """``message`` evaluated as the next message of ``process`` on a copy of
    its latest state: the copy's ``results`` (with ``raw``)."""
    base = ensure_process_key(as_process(process), opts)
    if not isinstance(base.get("process"), dict) or "execution-device" not in base["process"]:
        raise HyperbeamError(
            "a dry run needs a process (a message naming an execution-device): "
            "/<process-id>~process@1.0/as=execution/compute",
            status=400,
        )
    status, copy = ProcessDevice().fork(base, opts)
    if status != "ok" or not isinstance(copy, dict):
        return status, copy
    request = next_request(copy, message, process_id(base, opts), now_ms=int(time.time() * 1000))
    try:
        status, after = run_as(
            "execution", set_keys(copy, {"results": UNSET}), request, {**opts, "hashpath": "ignore"}
        )
    finally:
        _release(copy)
    if status != "ok" or not isinstance(after, dict):
        return status, after
    return "ok", with_raw(after.get("results", {}))


def next_request(state: Message, message: Message, pid: str, *, now_ms: int) -> Message:
    """What the execution device gets for ``message`` as the slot after
    ``state``'s: an assignment's fields (unsigned, with no hash chain, as
    nothing was assigned), ``message`` as its ``body``."""
    return {
        "path": "compute",
        "data-protocol": "ao",
        "variant": VARIANT,
        "process": pid,
        "epoch": "0",
        "slot": as_int(state.get("at-slot", -1), "at-slot") + 1,
        "block-height": 0,
        "block-timestamp": 0,
        "timestamp": now_ms,
        "body": message,
    }


def _release(state: Message) -> None:
    """Close the runtimes the copy holds (a WASM instance's memory) now
    rather than when they are collected."""
    pending: list[Any] = [private_of(state)]
    while pending:
        value = pending.pop()
        if isinstance(value, dict):
            pending.extend(value.values())
        elif hasattr(value, "live_bytes") and callable(getattr(value, "close", None)):
            value.close()


# -- the message ------------------------------------------------------------------------


def message_of(request: Message) -> Message:
    """The message a mainnet dry-run request asks to evaluate: its keys,
    less how it travelled, sent by its signer, else its ``owner``."""
    content = {k: v for k, v in request.items() if not _is_transport(k) and not is_private(k)}
    signers = commit.signers(request) if isinstance(request.get("commitments"), dict) else []
    owner = request.get("owner")
    sender = signers[0] if signers else (as_text(owner) if owner else None)
    return attributed(content, sender)


def _is_transport(name: str) -> bool:
    key = normalize_key(name)
    return key in TRANSPORT_KEYS or key.startswith(TRANSPORT_PREFIXES)


def attributed(content: Message, sender: str | None, message_id: str | None = None) -> Message:
    """``content`` shown as sent by ``sender`` (see the module doc); its ID
    is ``message_id`` when that is one, else the content's own. Without a
    sender, its ``commitments`` are empty (hyper-aos reads them from every
    message)."""
    if not sender:
        return {**content, "commitments": {}}
    mid = message_id if message_id and is_human_id(message_id) else unsigned_id(content)
    commitment = {"commitment-device": DryRunDevice.name, "alg": SENDER_ALG, "committer": sender}
    return {**content, "commitments": {mid: commitment}}


# -- the legacy compute unit's JSON -------------------------------------------------------


def legacy_body(raw: Any) -> dict[str, Any]:
    """A legacy dry-run body, checked: a JSON object whose ``Tags`` are
    ``{name, value}`` pairs (a :class:`HyperbeamError` with status 400 says
    what is wrong)."""
    try:
        body = json.loads(raw if isinstance(raw, str | bytes) else b"")
    except (ValueError, RecursionError) as exc:
        raise HyperbeamError(f"a dry-run body is JSON: {exc}", status=400) from None
    if not isinstance(body, dict):
        raise HyperbeamError("a dry-run body is a JSON object", status=400)
    tags = body.get("Tags", [])
    if not isinstance(tags, list) or not all(
        isinstance(t, dict) and isinstance(t.get("name"), str) and _is_scalar(t.get("value"))
        for t in tags
    ):
        raise HyperbeamError("a dry run's Tags are a list of {name, value} pairs", status=400)
    for field in ("Id", "Target", "Owner", "Anchor", "Data"):
        if field in body and not _is_scalar(body[field]):
            raise HyperbeamError(f"a dry run's {field} is text, not {body[field]!r}", status=400)
    return body


def legacy_message(body: Mapping[str, Any], pid: str) -> Message:
    """The message of a legacy dry-run body (checked by :func:`legacy_body`):
    its tags as keys, then ``target``, ``anchor`` and ``data``, sent by
    ``Owner``."""
    tags = [(normalize_key(t["name"]), t["value"]) for t in body.get("Tags", [])]
    content: Message = {name: _text(value) for name, value in tags if not is_private(name)}
    content["target"] = _text(body.get("Target") or pid)
    for field in ("Anchor", "Data"):
        if body.get(field) is not None:
            content[field.lower()] = _text(body[field])
    owner = body.get("Owner")
    return attributed(content, _text(owner) if owner else None, _text(body.get("Id") or ""))


def legacy_reply(status: str, results: Any) -> Message:
    """The answer of a legacy compute unit: the AOS response (``raw``) with
    the fields it lacks, or ``Error`` with the reason and the status."""
    if status == "ok" and isinstance(results, dict):
        raw = results.get("raw")
        response = _decode_raw(raw.get("body") if isinstance(raw, dict) else None)
        reply = {**_LEGACY_DEFAULTS, **response}
        code = 200
    else:
        details = results if isinstance(results, dict) else {"body": results}
        code = as_int(details.get("status", 500), "status")
        reason = details.get("reason", details.get("body", "the dry run failed"))
        reply = {**_LEGACY_DEFAULTS, "Error": _text(reason)}
    return {
        "status": code,
        "content-type": json_codec.CONTENT_TYPE,
        "body": json_codec.encode_json(reply),
    }


def _load_process(pid: str, opts: Opts) -> Message:
    loader = opts.get("load_message")
    found = loader(pid, opts) if callable(loader) else None
    if not isinstance(found, dict):
        raise HyperbeamError(f"no process {pid} here", status=404)
    return found


def _decode_raw(body: Any) -> dict[str, Any]:
    if not isinstance(body, str | bytes):
        return {}
    try:
        decoded = json.loads(body)
    except (ValueError, RecursionError):
        return {}
    return decoded if isinstance(decoded, dict) else {}


def _is_scalar(value: Any) -> bool:
    return value is None or isinstance(value, str | int | float | bool)


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return as_text(value) if isinstance(value, str | bytes) else str(value)


__all__ = ["LEGACY_PATH", "LEGACY_ROUTE", "DryRunDevice", "evaluate"]

"""``json-iface@1.0``: the AOS calling convention, ``handle(msg, env)`` in JSON.

In an AOS stack (``wasi@1.0``, ``json-iface@1.0``, ``wasm-64@1.0``,
``multipass@1.0``, ``passes: 2``) it runs twice per message:

pass 1
    Writes the message (the assignment's ``body``) and the process as the
    JSON AOS reads into the instance's memory, and sets ``function:
    handle`` and ``parameters: [msg pointer, env pointer]`` for the WASM
    device that runs next. The message is the struct of
    :func:`hyperbeam.message.json_struct.message_to_json_struct` plus
    ``Module`` (the process's ``image``) and ``Block-Height`` (the
    assignment's); the environment is ``{"Process": <the process's struct>}``.
pass 2
    Reads the JSON string ``handle`` returned, ``{"ok": true, "response":
    {...}}``, and sets ``results``: ``data`` (``Output.data``, or ``Error``),
    ``outbox`` (``Messages`` numbered from 1, their ``Tags`` as keys, each
    with ``from-process`` and ``from-image`` added, for ``push@1.0``),
    ``patches``, and ``raw``, the response as AOS gave it (its
    ``content-type`` is ``application/json``), where aoconnect's ``result``
    reads it (a JSON reply embeds such documents as JSON: see
    :func:`hyperbeam.codecs.json.embed_documents`).

A call that trapped, or a response that is not such JSON, fails the slot
with the reason.

Upstream: dev_json_iface.erl.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any

from hyperbeam.ao import resolve as ao
from hyperbeam.ao.device import Device, Result, key
from hyperbeam.devices.message import set_keys
from hyperbeam.devices.stack import output_prefix
from hyperbeam.message import commit
from hyperbeam.message.ids import human_id
from hyperbeam.message.json_struct import message_to_json_struct
from hyperbeam.message.model import Message, as_text, normalize_key
from hyperbeam.wasm import state as ws

log = logging.getLogger("hyperbeam.wasm")

Opts = Mapping[str, Any]
NOT_FOUND = ao.NOT_FOUND


class JsonIfaceDevice(Device):
    name = "json-iface@1.0"

    @key("init")
    def init(self, msg1: Message, msg2: Any, opts: Opts) -> Result:
        return "ok", set_keys(msg1, {"function": "handle"})

    @key("compute")
    def compute(self, msg1: Message, msg2: Any, opts: Opts) -> Result:
        passes = msg1.get("pass", NOT_FOUND)
        if passes in (1, "1"):
            return prepare(msg1, msg2 if isinstance(msg2, dict) else {}, opts)
        if passes in (2, "2"):
            return results(msg1, opts)
        return "ok", msg1


def message_json(message: Message, process: Message, block_height: Any) -> bytes:
    """The message as AOS reads it. Upstream: prep_call/3's message JSON."""
    props = message_to_json_struct(_denormalize(message))
    props["Module"] = _text_or(process.get("image", process.get("module", "")))
    props["Block-Height"] = block_height
    return _encode(props)


def _denormalize(message: Message) -> Message:
    """The message with its first signer's ``signature`` as a key (the
    struct's ``Signature``). Upstream: denormalize_message/1."""
    signers = commit.signers(message) if "commitments" in message else []
    if not signers:
        return message
    found = commit.commitment(signers[0], message)
    signature = found[1].get("signature", "") if found and isinstance(found[1], dict) else ""
    return {**message, "signature": signature}


def env_json(process: Message) -> bytes:
    """The environment AOS reads. Upstream: prep_call/3's process JSON."""
    return _encode({"Process": message_to_json_struct(process)})


def prepare(msg1: Message, msg2: Message, opts: Opts) -> Result:
    """Pass 1. Upstream: prep_call/3 and env_write/5."""
    process = msg1.get("process")
    message = msg2.get("body")
    if not isinstance(process, dict):
        return "error", {"status": 422, "body": "json-iface@1.0 needs the state's process"}
    if not isinstance(message, dict):
        return "error", {"status": 422, "body": "json-iface@1.0 needs a message in the body"}
    msg_bytes = message_json(message, process, msg2.get("block-height", 0))
    env_bytes = env_json(process)
    writer = ws.private_get(msg1, output_prefix(msg1, opts), "write")
    params: list[Any] = [msg_bytes, env_bytes]
    if callable(writer):
        params = [writer(msg_bytes), writer(env_bytes)]
    return "ok", set_keys(msg1, {"function": "handle", "parameters": params})


def results(msg1: Message, opts: Opts) -> Result:
    """Pass 2. Upstream: results/3."""
    prefix = output_prefix(msg1, opts)
    mine = ws.walk(msg1, ["results", *ws.parts(prefix)])
    mine = mine if isinstance(mine, dict) else {}
    if normalize_key(as_text(mine.get("type", "error"))) != "ok":
        reason = mine.get("output", "no result")
        return "error", {
            "status": 500,
            "body": "WASM execution error.",
            "reason": as_text(reason) if isinstance(reason, str | bytes) else repr(reason),
        }
    output = mine.get("output")
    reader = ws.private_get(msg1, prefix, "read")
    raw: Any = reader(output) if callable(reader) else output
    try:
        decoded = json.loads(raw)
        if not isinstance(decoded, dict) or decoded.get("ok") is not True:
            raise ValueError(f"expected {{ok: true, response}}, got {str(decoded)[:200]}")
        response = decoded.get("response")
        if not isinstance(response, dict):
            raise ValueError("the response is not an object")
        converted = json_to_message(response)
    except (ValueError, TypeError) as exc:
        log.warning("AOS answered something that is not its JSON: %s", exc)
        return "error", {
            "status": 500,
            "body": "JSON error parsing result output.",
            "reason": str(exc),
        }
    process = msg1.get("process")
    converted["outbox"] = _from_process(converted["outbox"], process, opts)
    return "ok", set_keys(msg1, {"results": converted})


def json_to_message(response: Message) -> Message:
    """A ``handle`` response as a results message. Upstream: json_to_message/2."""
    data, messages, patches = _normalize(response)
    return {
        "outbox": {str(n): _outbox_message(m) for n, m in enumerate(messages, start=1)},
        "patches": [_tags_to_map(p) for p in patches if isinstance(p, dict)],
        "data": _text_or(data),
        # The response as AOS gave it, where aoconnect's `result` reads it (a
        # JSON reply embeds it as JSON).
        "raw": {"content-type": "application/json", "body": _encode(response).decode()},
    }


def _normalize(response: Message) -> tuple[Any, list[Any], list[Any]]:
    """Upstream: normalize_results/1."""
    output = response.get("Output")
    messages = response.get("Messages") or []
    patches = response.get("patches") or []
    if not isinstance(messages, list):
        raise ValueError("Messages is not a list")
    if isinstance(output, dict) and "data" in output:
        return output["data"], messages, patches if isinstance(patches, list) else []
    if "Error" in response:
        return response["Error"], [], []
    if isinstance(output, str):
        return output, messages, patches if isinstance(patches, list) else []
    raise ValueError("the response has neither Output.data nor Error")


def _outbox_message(msg: Any) -> Message:
    """An outgoing AOS message as a message: its fields (lower-cased) and
    its tags as keys. Upstream: preprocess_results/2 (which keeps a
    capitalised ``Tags`` field; it is dropped here)."""
    if not isinstance(msg, dict):
        raise ValueError("a message of Messages is not an object")
    skip = {"from-process", "from-image", "anchor", "tags"}
    out: Message = {
        normalize_key(k): _json_to_value(v) for k, v in msg.items() if normalize_key(k) not in skip
    }
    out.update(_tags_to_map(msg))
    return out


def _tags_to_map(msg: Message) -> Message:
    """Upstream: tags_to_map/1 (names lower-cased here, as httpsig would)."""
    tags: Any = next((v for k, v in msg.items() if normalize_key(k) == "tags"), [])
    out: Message = {}
    for tag in tags if isinstance(tags, list) else []:
        if isinstance(tag, dict) and "name" in tag:
            out[normalize_key(str(tag["name"]))] = _json_to_value(tag.get("value", ""))
    return out


def _from_process(outbox: Message, process: Any, opts: Opts) -> Message:
    """Upstream: postprocess_outbox/3."""
    if not isinstance(process, dict):
        return outbox
    pid = human_id(commit.id(process, "all"))
    image = process.get("image", process.get("module", ""))
    return {n: {**m, "from-process": pid, "from-image": _text_or(image)} for n, m in outbox.items()}


def _json_to_value(value: Any) -> Any:
    """JSON from AOS as message values: objects as maps, null as empty."""
    if value is None:
        return ""
    if isinstance(value, dict):
        return {str(k): _json_to_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_to_value(v) for v in value]
    return value


def _text_or(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.decode("utf-8", "surrogateescape")
    if value is None:
        return ""
    return _json_to_value(value)


def _encode(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8")

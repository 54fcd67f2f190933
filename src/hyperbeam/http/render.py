"""Requests to messages and result messages to responses, in ``httpsig@1.0`` form.

A request's headers and body are decoded by the httpsig codec (typed keys via
``ao-types``, nested messages from a multipart body) into a TABM; the method
and the path are added.

A result is signed by the node's wallet (upstream's ``force_signed``) and
encoded in the codec the request asks for: ``accept-codec`` (a key or
header), else an ``accept`` of ``application/<name>`` for a codec we have,
else ``httpsig@1.0``. In httpsig form, top-level binaries become headers,
nested messages and large values a multipart body; other codecs put their
encoding in the body and name themselves in ``codec-device``.

Upstream: hb_http:req_to_tabm_singleton/3, hb_http:maybe_add_unsigned/3,
hb_http:reply/5, encode_reply/3, accept_to_codec/2, dev_meta:maybe_sign/2.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, TypeAlias

from hyperbeam.codecs import ans104, received, rfc9421
from hyperbeam.codecs import flat as flat_codec
from hyperbeam.codecs import json as json_codec
from hyperbeam.codecs.httpsig import to_httpsig
from hyperbeam.codecs.structured import from_message
from hyperbeam.crypto.wallet import Wallet
from hyperbeam.errors import CodecError
from hyperbeam.message import commit
from hyperbeam.message.id import unsigned_id
from hyperbeam.message.model import Message
from hyperbeam.message.private import is_private, private_of
from hyperbeam.message.wire import derive, exact_wire, to_rich

DEFAULT_CODEC = "httpsig@1.0"
ANS104 = "ans104@1.0"
JSON = "json@1.0"
FLAT = "flat@1.0"

#: The ``content-type`` of a reply in each non-httpsig codec.
CONTENT_TYPES = {
    JSON: json_codec.CONTENT_TYPE,
    ANS104: ans104.CONTENT_TYPE,
    FLAT: flat_codec.CONTENT_TYPE,
}

CORS_HEADERS = {
    "access-control-allow-origin": "*",
    "access-control-allow-methods": "GET, POST, PUT, DELETE, OPTIONS",
}


def request_message(
    method: str,
    path: str,
    query: str,
    headers: dict[str, str],
    body: bytes,
    *,
    keep_signed: Callable[[Message], object] | None = None,
) -> Message:
    """The request as one message: its decoded fields, the method and the path.

    An ANS-104 data item (``codec-device: ans104@1.0`` or ``content-type:
    application/ans104``) is the body; anything else is an httpsig message,
    verified on the bytes that arrived and decoded once
    (:func:`hyperbeam.codecs.received.decode`; nested signed messages are
    checked on theirs when something asks); a signed request keeps only its
    committed fields. ``keep_signed`` is
    given the verified signed message (the node stores it, so it can be read
    back by its ID). A ``path`` the message carries itself wins over the
    URL's, as upstream.
    """
    if _is_ans104(headers):
        msg = _ans104_request(body)
    else:
        fields = {k: v.encode("latin-1") for k, v in headers.items()}
        derived: dict[str, bytes] = {}
        if "signature" in fields and "signature-input" in fields:
            sigs = rfc9421.parse(fields["signature"], fields["signature-input"])
            where = rfc9421.Request(method, path, query, headers.get("host", ""))
            derived = where.derived(sigs)
        elif "content-digest" in fields:
            # Unsigned, so nothing else checks it (RFC 9530).
            wrong = rfc9421.check_content_digest(fields["content-digest"], body)
            if wrong is not None:
                raise CodecError(wrong)
        tabm, wires = received.decode(fields, body, derived)
        msg = to_rich(tabm, wires)
    if keep_signed is not None and commit.signers(msg):
        keep_signed(msg)
    url_path = f"{path}?{query}" if query else path
    return derive(msg, {**msg, "method": method, "path": msg.get("path", url_path)})


def _is_ans104(headers: dict[str, str]) -> bool:
    return (
        headers.get("codec-device") == ANS104
        or headers.get("content-type", "").split(";")[0].strip() == CONTENT_TYPES[ANS104]
    )


def _ans104_request(body: bytes) -> Message:
    """A data item, verified and decoded once (its wire kept with it)."""
    tabm, wire = received.from_item(body)
    return to_rich(tabm, [((), wire)])


def reply_codec(request: Message) -> str:
    """The codec a reply to ``request`` is encoded in: ``require-codec`` (a
    codec or a media type, as aoconnect sends it), then ``accept-codec``, then
    ``accept``. Upstream: accept_to_codec/2 (``require-codec`` is read by
    later upstream versions)."""
    for field in ("require-codec", "accept-codec"):
        named = _text(request.get(field, "")).strip()
        if not named:
            continue
        codec = _codec_of_media_type(named) or named
        if codec not in commit.available_codecs():
            raise CodecError(f"unknown codec {named!r} in {field}")
        return codec
    for mime in _text(request.get("accept", "*/*")).split(","):
        kind, _, name = mime.split(";")[0].strip().partition("/")
        if kind == "application" and name:
            codec = name if "@" in name else f"{name}@1.0"
            if codec in commit.available_codecs():
                return codec
        elif kind == "device" and name in commit.available_codecs():
            return name
    return DEFAULT_CODEC


def _codec_of_media_type(named: str) -> str | None:
    """``application/json`` as ``json@1.0`` (any registered codec's type)."""
    kind, _, name = named.split(";")[0].strip().partition("/")
    if kind == "application" and name:
        for codec, media in CONTENT_TYPES.items():
            if media == named.split(";")[0].strip():
                return codec
        return name if "@" in name else f"{name}@1.0"
    return None


def _text(value: Any) -> str:
    return value.decode("latin-1") if isinstance(value, bytes) else str(value)


def sign_reply(msg: Message, codec: str, wallet: Wallet | None) -> Message:
    """The result as the node commits to it, unless someone already signed it.
    Upstream: dev_meta:maybe_sign/2 (``force_signed``)."""
    if wallet is None or commit.signers(msg):
        return msg
    return commit.commit(msg, wallet, ANS104 if codec == ANS104 else DEFAULT_CODEC)


Encoded: TypeAlias = tuple[dict[str, bytes], bytes]

#: Keys a reply may add to a message and still send it as it arrived.
_REPLY_EXTRA = frozenset({"status"})


def encode(msg: Message, codec: str) -> Encoded:
    """``(headers, body)`` of ``msg`` in ``codec``. Upstream: encode_reply/3.

    A message that is exactly what arrived (or what this node signed) in
    that codec is sent as those bytes, byte for byte; its ``status`` is the
    HTTP status line."""
    wire = exact_wire(msg, _REPLY_EXTRA)
    if wire is not None and wire.codec == codec:
        headers, body = wire.http()
        if codec != DEFAULT_CODEC:
            headers = {**headers, "codec-device": codec.encode()}
        return headers, body
    if codec == DEFAULT_CODEC:
        encoded = to_httpsig(commit.convert(msg, "tabm"), wire_safe=True)
        body = encoded.pop("body", b"")
        return encoded, body
    named = {"codec-device": codec.encode()}
    if codec in CONTENT_TYPES:
        named["content-type"] = CONTENT_TYPES[codec].encode()
    if codec == ANS104:
        signers = commit.signers(msg)
        # Only what the signers committed to: keys added since (such as the
        # reply's `status`) would not match the item's signature.
        signed = commit.with_only_committed(commit.with_only_committers(msg, signers))
        return named, ans104.serialize_message(commit.convert(signed, "tabm"))
    if codec == JSON:
        body = json_codec.to_json(json_codec.embed_documents(commit.convert(msg, "tabm")))
    elif codec == FLAT:
        body = flat_codec.serialize(msg)  # its `path: value` text form
    else:
        converted = commit.convert(msg, codec)
        if not isinstance(converted, str | bytes):
            raise CodecError(f"{codec} gives no text or bytes to send as a reply")
        body = converted.encode() if isinstance(converted, str) else converted
    # Upstream also sends every non-map top-level field as a header.
    scalars = {k: v for k, v in msg.items() if not isinstance(v, dict | list)}
    extra = to_httpsig(from_message(scalars), wire_safe=True)
    extra.pop("body", None)
    return {**extra, **named}, body


class SignedReplies:
    """The most recent signed replies, so that an identical reply (same
    content, same hashpath, same codec, same signer) is not signed again.

    Any valid signature over the same bytes is as good as a new one, and
    RSA-4096 signing is most of the cost of a reply. Only replies are kept:
    messages that get an identity of their own (spawns, data items) are
    always signed afresh, as upstream does.
    """

    def __init__(self, size: int = 1024) -> None:
        self.size = size
        self._entries: OrderedDict[tuple[str, ...], Encoded] = OrderedDict()
        self._lock = threading.Lock()

    def encode(self, msg: Message, codec: str, wallet: Wallet) -> Encoded:
        if commit.signers(msg):
            return encode(msg, codec)
        hashpath = str(private_of(msg).get("hashpath", ""))
        key = (wallet.address, codec, unsigned_id(msg), hashpath)
        with self._lock:
            found = self._entries.get(key)
            if found is not None:
                self._entries.move_to_end(key)
                return found
        made = encode(sign_reply(msg, codec, wallet), codec)
        with self._lock:
            self._entries[key] = made
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)
        return made


def render(
    msg: Message,
    request_headers: dict[str, str],
    *,
    codec: str = DEFAULT_CODEC,
    wallet: Wallet | None = None,
    replies: SignedReplies | None = None,
) -> tuple[int, list[tuple[str, str]], bytes]:
    """``(status, headers, body)`` for a result message, signed by ``wallet`` if
    given (through ``replies``, which remembers recent signed replies)."""
    status = msg.get("status", 200)
    code = status if isinstance(status, int) and not isinstance(status, bool) else 200
    if wallet is not None and replies is not None:
        encoded, body = replies.encode(msg, codec, wallet)
    else:
        encoded, body = encode(sign_reply(msg, codec, wallet), codec)
    headers: dict[str, str] = dict(CORS_HEADERS)
    allow = request_headers.get("access-control-request-headers")
    if allow:
        headers["access-control-allow-headers"] = allow
    for key, value in encoded.items():
        if not is_private(key):
            headers[key] = value.decode("latin-1")
    headers["content-length"] = str(len(body))
    return code, list(headers.items()), body

"""Message IDs as upstream computes them.

A message without commitments is identified by the hmac-sha256 (key ``ao``)
of its RFC 9421 signature base in ``httpsig@1.0`` form. A message with one
commitment is identified by that commitment's ID; with several, by the
sha256 of their sorted IDs joined with ``", "``.

Upstream: dev_message:id/3 (with the default request: all commitments),
dev_message:calculate_ids/3, dev_codec_httpsig:id/3 and reset_hmac/1.
"""

from __future__ import annotations

from typing import Any

from hyperbeam.codecs.httpsig import hmac_id
from hyperbeam.codecs.structured import from_message, sort_keys
from hyperbeam.errors import CodecError
from hyperbeam.message.ids import human_id, is_id, sha256
from hyperbeam.message.model import Message


def message_id(msg: Message) -> str:
    """The 43-character ID of ``msg``, counting all of its commitments.

    Upstream: dev_message:id(Msg, #{}, Opts).
    """
    commitments = _commitments(msg)
    ids = [_human(key) for key in commitments]
    if not ids:
        return unsigned_id(msg)
    if len(ids) == 1:
        return ids[0]
    line = ", ".join(sort_keys(ids)).encode("ascii")
    return human_id(sha256(line))


def unsigned_id(msg: Message) -> str:
    """The ID of ``msg`` ignoring its commitments: the hmac of its content.

    Upstream: dev_message:id(Msg, #{<<"committers">> => <<"none">>}, Opts),
    which reaches dev_codec_httpsig:id/3 and reset_hmac/1.
    """
    if not isinstance(msg, dict):
        raise CodecError(f"cannot take the ID of a {type(msg).__name__}")
    body = {k: v for k, v in msg.items() if k != "commitments"}
    if "signature-input" in body:
        # A signature-input the message carries itself is not ours to use:
        # upstream relabels it (dev_codec_httpsig:find_id/1).
        body["x-signature-input"] = body.pop("signature-input")
    return hmac_id(from_message(body))


def _commitments(msg: Message) -> dict[Any, Any]:
    if not isinstance(msg, dict):
        raise CodecError(f"cannot take the ID of a {type(msg).__name__}")
    commitments = msg.get("commitments", {})
    if not isinstance(commitments, dict):
        raise CodecError("commitments must be a message")
    return commitments


def _human(key: Any) -> str:
    if isinstance(key, bytes) and len(key) == 32:
        return human_id(key)
    if isinstance(key, str) and is_id(key):
        return key
    raise CodecError(f"commitment key {key!r} is not an ID")

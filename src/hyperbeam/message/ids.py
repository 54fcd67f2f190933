"""Message IDs: 32 raw bytes (native) or 43 characters of base64url (human).

Upstream: hb_util:human_id/1, hb_util:native_id/1, ?IS_ID.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re

from hyperbeam.errors import CodecError

_HUMAN_ID = re.compile(r"[A-Za-z0-9_-]{43}")


def b64url_encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str | bytes) -> bytes:
    """Base64url, padded or not. A :class:`CodecError` (a ``ValueError``)
    for text that is not: a ``keyid``, an ID or a key may come from anyone."""
    try:
        raw = text.encode("ascii") if isinstance(text, str) else text
        return base64.urlsafe_b64decode(raw + b"=" * (-len(raw) % 4))
    except (binascii.Error, UnicodeEncodeError) as exc:
        raise CodecError(f"not base64url: {text[:64]!r} ({exc})") from None


def is_id(value: object) -> bool:
    """True for a binary shaped like an ID: 32, 42 or 43 bytes long.

    Like upstream's ``?IS_ID`` guard this looks only at the length; use
    :func:`is_human_id` to check the alphabet too.
    """
    if isinstance(value, str | bytes):
        return len(value) in (32, 42, 43) if isinstance(value, bytes) else len(value) in (42, 43)
    return False


def is_human_id(value: object) -> bool:
    """True for exactly 43 characters of the base64url alphabet."""
    return isinstance(value, str) and _HUMAN_ID.fullmatch(value) is not None


def human_id(value: str | bytes) -> str:
    """The 43-character form of an ID."""
    if isinstance(value, str):
        if len(value) == 43:
            return value
        raise CodecError(f"not an ID: {value!r}")
    if len(value) == 32:
        return b64url_encode(value)
    if len(value) == 43 and value.isascii():
        return value.decode("ascii")
    raise CodecError(f"not an ID: {value!r}")


def native_id(value: str | bytes) -> bytes:
    """The 32-byte form of an ID."""
    if isinstance(value, bytes) and len(value) == 32:
        return value
    if len(value) == 43:
        return b64url_decode(value)
    raise CodecError(f"not an ID: {value!r}")


def sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def sha256_chain(id1: bytes, id2: bytes) -> bytes:
    """Upstream hb_crypto:sha256_chain/2: sha256 of both IDs concatenated."""
    return hashlib.sha256(id1 + id2).digest()


def accumulate(id1: bytes, id2: bytes) -> bytes:
    """Upstream hb_crypto:accumulate/2: id1 plus sha256(id1 || id2), mod 2^256."""
    total = int.from_bytes(id1, "big") + int.from_bytes(sha256_chain(id1, id2), "big")
    return (total % (1 << 256)).to_bytes(32, "big")

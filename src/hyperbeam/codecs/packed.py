"""TABMs packed into one binary: how the store keeps a message as one record.

Unsigned messages the node computes (process states, every slot) are stored
as one value instead of one store entry per key and nested message (upstream
``hb_cache``'s layout, which also needs every nested message's ID, an
encoding of each). The form is length-prefixed, so binaries of any content
travel unchanged:

    record  := MAGIC node
    node    := b"M" varint(count) (varint(len) key node)*   -- a map, keys sorted
             | b"B" varint(len) bytes                        -- a binary

A packed message is read back to the TABM it was packed from. Nothing here
is a wire format: other nodes never see it.
"""

from __future__ import annotations

from typing import Any

from hyperbeam.codecs.structured import Tabm
from hyperbeam.errors import CodecError

MAGIC = b"hb-tabm/1\n"


def is_packed(raw: bytes) -> bool:
    return raw.startswith(MAGIC)


def pack(tabm: Tabm) -> bytes:
    """One binary holding ``tabm`` (bytes and nested TABMs only)."""
    out = bytearray(MAGIC)
    _pack(tabm, out)
    return bytes(out)


def _pack(value: Any, out: bytearray) -> None:
    if isinstance(value, bytes | bytearray):
        out += b"B"
        _varint(len(value), out)
        out += value
        return
    if not isinstance(value, dict):
        raise CodecError(f"a TABM holds a {type(value).__name__}, not a binary or a map")
    out += b"M"
    _varint(len(value), out)
    for key in sorted(value):
        raw = key.encode("utf-8", "surrogateescape")
        _varint(len(raw), out)
        out += raw
        _pack(value[key], out)


def _varint(number: int, out: bytearray) -> None:
    while number >= 0x80:
        out.append((number & 0x7F) | 0x80)
        number >>= 7
    out.append(number)


def unpack(raw: bytes) -> Tabm:
    """The TABM :func:`pack` made ``raw`` from; a :class:`CodecError` when it
    is not one (truncated, trailing bytes, a bad tag)."""
    if not raw.startswith(MAGIC):
        raise CodecError("not a packed message")
    view = memoryview(raw)
    try:
        value, end = _unpack(view, len(MAGIC))
    except (IndexError, ValueError) as exc:
        raise CodecError(f"a packed message is damaged: {exc}") from None
    except RecursionError:
        # Found by tests/property/test_fuzz_ans104.py: ``M\x01\x01a`` repeated
        # nests maps deeper than Python recurses (pack could not have made it).
        raise CodecError("a packed message is damaged: nested too deeply") from None
    if end != len(raw) or not isinstance(value, dict):
        raise CodecError("a packed message is damaged: trailing bytes or not a map")
    return value


def _unpack(view: memoryview, pos: int) -> tuple[Any, int]:
    tag = view[pos]
    pos += 1
    size, pos = _read_varint(view, pos)
    if tag == 0x42:  # "B"
        end = pos + size
        if end > len(view):
            raise ValueError("a binary runs past the end")
        return bytes(view[pos:end]), end
    if tag != 0x4D:  # "M"
        raise ValueError(f"unknown tag {tag:#x}")
    out: Tabm = {}
    for _ in range(size):
        length, pos = _read_varint(view, pos)
        key = bytes(view[pos : pos + length]).decode("utf-8", "surrogateescape")
        out[key], pos = _unpack(view, pos + length)
    return out, pos


def _read_varint(view: memoryview, pos: int) -> tuple[int, int]:
    number = shift = 0
    while True:
        byte = view[pos]
        pos += 1
        number |= (byte & 0x7F) << shift
        if byte < 0x80:
            return number, pos
        shift += 7
        if shift > 63:
            raise ValueError("a length is too long")

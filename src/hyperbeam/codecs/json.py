"""The ``json@1.0`` codec: messages to and from JSON text.

Encoding and decoding follow OTP's ``json`` module, which upstream uses
through ``hb_json``, byte for byte:

* objects are written without whitespace, keys in Erlang term order (for
  binary keys: byte-wise), so the output is deterministic;
* strings keep non-ASCII characters as UTF-8; only ``"``, ``\\`` and the
  control characters are escaped (``\\b \\t \\n \\f \\r``, the others as
  ``\\u00XX`` with upper-case hex); a binary that is not UTF-8 cannot be
  encoded (:class:`~hyperbeam.errors.CodecError`);
* floats use the shortest round-trip form, as ``float_to_binary(F, [short])``
  writes it (``0.1``, ``100.0``, ``1.0e3``, ``1.0e21``);
* on decoding, the first of several equal keys in an object wins, numbers
  without ``.``/exponent are integers, lone UTF-16 surrogates, ``NaN`` and
  out-of-range floats are rejected.

Value mapping: ``str``/``bytes`` ↔ JSON string (:func:`decode_json` gives
``str``, :func:`from_json` ``bytes``),
``int``/``float`` ↔ number, ``True``/``False``/``None`` ↔ ``true``/``false``/
``null``, :class:`~hyperbeam.message.model.Atom` → string of its name, ``list``
↔ array, ``dict`` ↔ object.

Known limitation: Erlang maps of more than 32 keys iterate in hash order, so
upstream's key order for such objects is not the sorted one this module uses.

API (upstream dev_codec_json, hb_json):

* :func:`to_json` ``(msg) -> bytes``: upstream ``to/1`` (private keys dropped).
* :func:`from_json` ``(data) -> Any``: upstream ``from/1`` (strings as ``bytes``;
  a dict is returned as is).
* :func:`serialize` ``(msg) -> bytes``: a rich message through ``structured@1.0``
  and then JSON, as ``hb_message:convert(Msg, <<"json@1.0">>, Opts)``.
* :func:`deserialize` ``(data) -> Any``: JSON back to a rich message, as
  ``hb_message:convert(JSON, <<"structured@1.0">>, <<"json@1.0">>, Opts)``.
* :func:`encode_json` / :func:`decode_json`: OTP ``json:encode/1`` /
  ``json:decode/1`` on Python values.
"""

from __future__ import annotations

import json as _stdlib_json
import math
from collections.abc import Mapping
from typing import Any

from hyperbeam.codecs.structured import from_message, key_bytes, to_message
from hyperbeam.errors import CodecError
from hyperbeam.message.model import Atom
from hyperbeam.message.private import strip_private

CONTENT_TYPE = "application/json"

_SHORT_NAMES = {0x08: b"\\b", 0x09: b"\\t", 0x0A: b"\\n", 0x0C: b"\\f", 0x0D: b"\\r"}
_ESCAPES: dict[int, bytes] = {
    **{byte: b"\\u%04X" % byte for byte in range(0x20)},
    **_SHORT_NAMES,
    0x22: b'\\"',
    0x5C: b"\\\\",
}
_TWO_POW_53 = float(1 << 53)


# --- codec interface ---------------------------------------------------------------


def to_json(msg: Any) -> bytes:
    """Encode a message (TABM or rich) as JSON. Upstream: dev_codec_json:to/1."""
    if isinstance(msg, dict):
        msg = strip_private(msg)
    return encode_json(msg)


def from_json(data: str | bytes | Mapping[str, Any]) -> Any:
    """Decode JSON text to a TABM-like value: strings become ``bytes`` (the
    binaries upstream's decoder gives), keys stay ``str``; a message is
    returned unchanged. Upstream: dev_codec_json:from/1."""
    if isinstance(data, Mapping):
        return data
    return _binaries(decode_json(data))


def _binaries(value: Any) -> Any:
    if isinstance(value, str):
        return value.encode("utf-8")
    if isinstance(value, list):
        return [_binaries(element) for element in value]
    if isinstance(value, dict):
        return {key: _binaries(element) for key, element in value.items()}
    return value


def serialize(msg: Any) -> bytes:
    """A rich message (or a bare binary) as JSON, by way of its TABM."""
    if isinstance(msg, str | bytes):
        return to_json(msg)
    return to_json(from_message(msg))


def embed_documents(tabm: Any) -> Any:
    """``tabm`` with each nested ``{content-type: application/json, body}``
    replaced by the JSON value its body holds, so that a JSON reply carries
    such documents as JSON rather than as quoted text (their keys keep their
    case, which message keys do not). Used for HTTP replies only; the codec
    itself stays upstream's."""
    if isinstance(tabm, list):
        return [embed_documents(item) for item in tabm]
    if not isinstance(tabm, dict):
        return tabm
    if set(tabm) == {"content-type", "body"} and _text_of(tabm["content-type"]) == CONTENT_TYPE:
        try:
            return decode_json(tabm["body"])
        except CodecError:
            return tabm
    return {key: embed_documents(value) for key, value in tabm.items()}


def _text_of(value: Any) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def deserialize(data: str | bytes) -> Any:
    """JSON back to a rich message (a JSON string gives that string)."""
    decoded = from_json(data)
    if isinstance(decoded, dict):
        return to_message(decoded)
    return decoded


# --- encoding ---------------------------------------------------------------------


def encode_json(value: Any) -> bytes:
    """OTP ``json:encode/1`` of a Python value (see the module docstring)."""
    out = bytearray()
    _encode(value, out, 0)
    return bytes(out)


_MAX_DEPTH = 512


def _encode(value: Any, out: bytearray, depth: int) -> None:
    if depth > _MAX_DEPTH:
        raise CodecError("value is nested too deeply to encode as JSON")
    if value is None:
        out += b"null"
    elif value is True:
        out += b"true"
    elif value is False:
        out += b"false"
    elif isinstance(value, Atom):
        _encode_atom(value.name, out)
    elif isinstance(value, int):
        out += str(value).encode("ascii")
    elif isinstance(value, float):
        out += erlang_short_float(value).encode("ascii")
    elif isinstance(value, str | bytes | bytearray | memoryview):
        out += encode_string(value)
    elif isinstance(value, list | tuple):
        out += b"["
        for index, element in enumerate(value):
            if index:
                out += b","
            _encode(element, out, depth + 1)
        out += b"]"
    elif isinstance(value, Mapping):
        out += b"{"
        for index, (key, element) in enumerate(sorted(value.items(), key=_term_order)):
            if index:
                out += b","
            out += _encode_key(key)
            out += b":"
            _encode(element, out, depth + 1)
        out += b"}"
    else:
        raise CodecError(f"cannot encode a value of type {type(value).__name__} as JSON")


def _encode_atom(name: str, out: bytearray) -> None:
    if name in ("null", "true", "false"):
        out += name.encode("ascii")
    else:
        out += encode_string(name)


def _encode_key(key: Any) -> bytes:
    if isinstance(key, bool):
        return encode_string("true" if key else "false")
    if isinstance(key, Atom):
        return encode_string(key.name)
    if isinstance(key, int):
        return b'"' + str(key).encode("ascii") + b'"'
    if isinstance(key, float):
        return b'"' + erlang_short_float(key).encode("ascii") + b'"'
    if isinstance(key, str | bytes | bytearray | memoryview):
        return encode_string(key)
    raise CodecError(f"cannot use a {type(key).__name__} as a JSON object key")


def _term_order(entry: tuple[Any, Any]) -> tuple[int, Any]:
    """Erlang term order of map keys: numbers < atoms < binaries."""
    key = entry[0]
    if isinstance(key, bool):
        return (1, ("true" if key else "false").encode())
    if isinstance(key, int | float):
        return (0, key)
    if isinstance(key, Atom):
        return (1, key.name.encode("utf-8"))
    if isinstance(key, str):
        return (2, key_bytes(key))
    if isinstance(key, bytes | bytearray | memoryview):
        return (2, bytes(key))
    raise CodecError(f"cannot use a {type(key).__name__} as a JSON object key")


def encode_string(value: str | bytes | bytearray | memoryview) -> bytes:
    """A binary as a JSON string. Upstream: json:encode_binary/1.

    ``str`` values are taken as their UTF-8 bytes (surrogate-escaped raw
    bytes included); the bytes must be valid UTF-8.
    """
    raw = value.encode("utf-8", "surrogateescape") if isinstance(value, str) else bytes(value)
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CodecError(f"cannot encode a binary that is not UTF-8 as JSON: {exc}") from None
    out = bytearray(b'"')
    start = 0
    for pos, byte in enumerate(raw):
        escape = _ESCAPES.get(byte)
        if escape is not None:
            out += raw[start:pos]
            out += escape
            start = pos + 1
    out += raw[start:]
    out += b'"'
    return bytes(out)


def erlang_short_float(value: float) -> str:
    """Upstream ``float_to_binary(F, [short])``: the shortest digits that read
    back as ``value``, in plain or scientific notation, whichever is shorter
    (plain on a tie), and always scientific from 2^53 up."""
    if not math.isfinite(value):
        raise CodecError(f"cannot encode the float {value!r}")
    if value == 0:
        return "-0.0" if math.copysign(1.0, value) < 0 else "0.0"
    sign = "-" if value < 0 else ""
    mantissa, _, exp_text = repr(abs(value)).partition("e")
    whole, _, frac = mantissa.partition(".")
    digits = (whole + frac).lstrip("0")
    # Position of the decimal point relative to the start of ``digits``.
    point = len(whole.lstrip("0")) if whole.strip("0") else -(len(frac) - len(frac.lstrip("0")))
    point += int(exp_text or "0")
    digits = digits.rstrip("0") or "0"
    scientific = f"{digits[0]}.{digits[1:] or '0'}e{point - 1}"
    if point <= 0:
        plain = "0." + "0" * -point + digits
    elif point >= len(digits):
        plain = digits + "0" * (point - len(digits)) + ".0"
    else:
        plain = digits[:point] + "." + digits[point:]
    if abs(value) >= _TWO_POW_53 or len(scientific) < len(plain):
        return sign + scientific
    return sign + plain


# --- decoding ---------------------------------------------------------------------


def decode_json(data: str | bytes | bytearray | memoryview) -> Any:
    """OTP ``json:decode/1``: JSON text to Python values (strings as ``str``)."""
    if isinstance(data, str):
        try:
            text = data.encode("utf-8").decode("utf-8")
        except UnicodeEncodeError:
            raise CodecError("JSON text holds characters that are not UTF-8") from None
    else:
        try:
            text = bytes(data).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise CodecError(f"JSON text is not UTF-8: {exc}") from None
    try:
        value = _stdlib_json.loads(
            text,
            object_pairs_hook=_first_key_wins,
            parse_float=_parse_float,
            parse_constant=_reject_constant,
        )
    except CodecError:
        raise
    except RecursionError:
        raise CodecError("JSON text is nested too deeply") from None
    except ValueError as exc:
        raise CodecError(f"invalid JSON: {exc}") from None
    _check_strings(value)
    return value


def _first_key_wins(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        out.setdefault(key, value)
    return out


def _parse_float(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise CodecError(f"JSON number {text} is out of range")
    return number


def _reject_constant(name: str) -> Any:
    raise CodecError(f"{name} is not JSON")


def _check_strings(value: Any) -> None:
    """Reject lone surrogates (``"\\ud800"``), which OTP's decoder refuses."""
    pending = [value]
    while pending:
        current = pending.pop()
        if isinstance(current, str):
            _check_text(current)
        elif isinstance(current, list):
            pending.extend(current)
        elif isinstance(current, dict):
            for key, element in current.items():
                _check_text(key)
                pending.append(element)


def _check_text(text: str) -> None:
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            raise CodecError("JSON text holds an unpaired UTF-16 surrogate") from None

"""The ``structured@1.0`` codec: rich messages to and from TABMs.

A TABM (Type-Annotated Binary Message) is a dict whose values are only
``bytes`` or nested TABMs. Every other value of a rich message is written as
bytes and its type is recorded in the ``ao-types`` key, a structured-field
dictionary such as ``count="integer", tags="empty-list"``. Empty binaries,
lists and messages carry no value at all: only their type.

Python values map to upstream's Erlang terms as follows:

=====================  ===============================================
``str`` / ``bytes``    binary (``str`` is its UTF-8 encoding)
``int``                integer
``float``              float (``float_to_binary/1``: ``%.20e``)
``bool``               the atoms ``true`` / ``false``
``None``               the atom ``null`` (JSON's null)
:class:`Atom`          atom (``Atom("undefined")`` is upstream's ``undefined``)
``list`` / ``tuple``   list
``dict``               nested message
=====================  ===============================================

Decoding gives binaries back as ``str`` when they are valid UTF-8 and as
``bytes`` otherwise.

Upstream: dev_codec_structured (from/1, to/1, encode_value/1,
decode_value/2), hb_escape, hb_message:filter_default_keys/1.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Iterable
from typing import Any, TypeAlias

from hyperbeam.codecs import sf
from hyperbeam.errors import CodecError
from hyperbeam.message import model
from hyperbeam.message.model import Atom, Message
from hyperbeam.message.private import is_private

Tabm: TypeAlias = dict[str, Any]
"""A message whose values are only ``bytes`` or nested TABMs."""

AO_TYPES = "ao-types"
REGEN_KEYS = frozenset({"unsigned_id", "content-digest"})
_LIST_TYPE_PREFIX = "(ao-type-"
_PLAIN_INTEGER = re.compile(rb"-?[0-9]{1,4096}")
_ERLANG_FLOAT = re.compile(rb"[+-]?[0-9]+\.[0-9]+(?:[eE][+-]?[0-9]+)?")
_ESCAPE_KEEP = frozenset(b"abcdefghijklmnopqrstuvwxyz0123456789.-_/?&+")


# --- keys ------------------------------------------------------------------------


def key_bytes(key: str) -> bytes:
    """The binary upstream would hold for ``key``."""
    try:
        return key.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        raise CodecError(_NOT_BINARY.format(key)) from None


def is_id_sized(key: str) -> bool:
    """Upstream's ``?IS_ID``: a binary of 32, 42 or 43 bytes."""
    return len(key_bytes(key)) in (32, 42, 43)


def sort_keys(keys: Iterable[str]) -> list[str]:
    """Keys in Erlang's binary order (byte-wise)."""
    return sorted(keys, key=key_bytes)


def normalize_key(key: object) -> str:
    """:func:`hyperbeam.message.model.normalize_key`, raising :class:`CodecError`."""
    if type(key) is str and key.islower():
        return key  # already normal (the common case)
    try:
        return model.normalize_key(key)
    except TypeError as exc:
        raise CodecError(str(exc)) from None


def normalize_keys(msg: dict[Any, Any]) -> dict[str, Any]:
    """Normalize the top-level keys of a message. Upstream: hb_ao:normalize_keys/1."""
    return {normalize_key(k): v for k, v in msg.items()}


def escape_key(key: str) -> bytes:
    """Percent-encode every byte but ``a-z0-9.-_/?&+``. Upstream: hb_escape:encode/1."""
    out = bytearray()
    for byte in key_bytes(key):
        if byte in _ESCAPE_KEEP:
            out.append(byte)
        else:
            out += b"%" + format(byte, "02x").encode("ascii")
    return bytes(out)


def unescape_key(escaped: str) -> str:
    """Undo :func:`escape_key`. Upstream: hb_escape:decode/1."""
    raw = key_bytes(escaped)
    out = bytearray()
    pos = 0
    while pos < len(raw):
        if raw[pos] == 0x25:  # "%"
            hex_digits = raw[pos + 1 : pos + 3]
            if len(hex_digits) != 2 or not all(c in b"0123456789abcdefABCDEF" for c in hex_digits):
                raise CodecError(f"bad percent escape in key {escaped!r}")
            out.append(int(hex_digits, 16))
            pos += 3
        else:
            out.append(raw[pos])
            pos += 1
    return bytes(out).decode("utf-8", "surrogateescape")


def is_empty_message(value: object) -> bool:
    """Upstream's ``?IS_EMPTY_MESSAGE``: no keys, or only ``priv``."""
    return isinstance(value, dict) and (len(value) == 0 or (len(value) == 1 and "priv" in value))


# --- binaries --------------------------------------------------------------------


def to_bytes(value: str | bytes | bytearray | memoryview) -> bytes:
    if not isinstance(value, str):
        return bytes(value)
    try:
        return value.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        raise CodecError(_NOT_BINARY.format(value)) from None


#: Text with a lone surrogate (not one standing for a byte that was not UTF-8)
#: is no binary. Found by tests/property/test_fuzz_flat.py: UnicodeEncodeError.
_NOT_BINARY = "text {!r:.80} holds a lone surrogate: it is no binary"


def binary_out(raw: bytes) -> str | bytes:
    """A decoded binary: ``str`` when it is valid UTF-8, else ``bytes``."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw


def _is_binary(value: object) -> bool:
    return isinstance(value, str | bytes | bytearray | memoryview)


# --- rich message -> TABM ------------------------------------------------------------


def from_message(msg: Message) -> Tabm:
    """Convert a rich message to a TABM. Upstream: dev_codec_structured:from/1.

    Private keys (``priv*``) and keys that can be regenerated
    (``unsigned_id``, ``content-digest``) are left out. Functions become a
    binary naming them; values of any other unknown type are left out, as
    upstream leaves out the terms it cannot encode.
    """
    if not isinstance(msg, dict):
        raise CodecError(f"cannot convert {type(msg).__name__} to a TABM")
    kept = _kept_tabm(msg)
    if kept is not None:
        return kept
    norm = normalize_keys(msg)
    types: list[tuple[str, str]] = []
    values: Tabm = {}
    for key in sort_keys(norm):
        if key in REGEN_KEYS or is_private(key):
            continue
        value = norm[key]
        if _is_binary(value) and len(value) == 0:
            types.append((key, "empty-binary"))
        elif isinstance(value, list | tuple) and len(value) == 0:
            types.append((key, "empty-list"))
        elif is_empty_message(value):
            types.append((key, "empty-message"))
        elif _is_binary(value):
            values[key] = to_bytes(value)
        elif isinstance(value, dict):
            values[key] = from_message(value)
        elif isinstance(value, list | tuple) and isinstance(value[0], dict | list | tuple):
            types.append((key, "list"))
            values[key] = from_message({str(i): v for i, v in enumerate(value, start=1)})
        elif _is_encodable(value):
            kind, encoded = encode_value(value)
            types.append((key, kind))
            values[key] = encoded
        elif callable(value):
            values[key] = fun_ref(value)
        # Anything else cannot be represented and is left out, as upstream does.
    if not types:
        return values
    ao_types = sf.serialize_dictionary(
        (escape_key(key), sf.string_item(kind)) for key, kind in types
    )
    return {AO_TYPES: ao_types, **values}


def _kept_tabm(msg: Message) -> Tabm | None:
    """The TABM a message arrived as (or was signed as), when it has one and
    is still exactly that message: encoding it again then starts from the
    bytes that arrived. (Such a message is a :class:`hyperbeam.message.wire.Bound`,
    whose ``binding`` knows the TABM.)"""
    binding = getattr(msg, "binding", None)
    if binding is None:
        return None
    kept: Tabm | None = binding.kept_tabm(msg)
    return kept


def _is_encodable(value: object) -> bool:
    return value is None or isinstance(value, bool | int | float | Atom | list | tuple)


def fun_ref(fun: Any) -> bytes:
    """A function as a plain binary naming it, like upstream's
    ``erlang:fun_to_list/1`` rendering: stable for the same code, but not
    something that can be resolved back."""
    module = getattr(fun, "__module__", None) or type(fun).__module__
    name = getattr(fun, "__qualname__", None) or type(fun).__qualname__
    return f"#Fun<{module}.{name}>".encode()


def encode_value(value: Any) -> tuple[str, bytes]:
    """A typed value as ``(type, bytes)``. Upstream: dev_codec_structured:encode_value/1."""
    if isinstance(value, bool):
        return "atom", _atom_item("true" if value else "false")
    if isinstance(value, int):
        return "integer", str(value).encode("ascii")
    if isinstance(value, float):
        if not math.isfinite(value):
            raise CodecError(f"cannot encode the float {value!r}")
        return "float", f"{value:.20e}".encode("ascii")
    if value is None:
        return "atom", _atom_item("null")
    if isinstance(value, Atom):
        return "atom", _atom_item(value.name)
    if isinstance(value, list | tuple):
        return "list", sf.serialize_list(_list_item(element) for element in value)
    if _is_binary(value):
        return "binary", to_bytes(value)
    raise CodecError(f"cannot encode a value of type {type(value).__name__}")


def _atom_item(name: str) -> bytes:
    try:
        raw = name.encode("latin-1")
    except UnicodeEncodeError:
        raise CodecError(f"atom name {name!r} is not Latin-1") from None
    return sf.serialize_item(sf.string_item(raw))


def _list_item(element: Any) -> sf.Item:
    if _is_binary(element):
        raw = to_bytes(element)
        if raw.startswith(_LIST_TYPE_PREFIX.encode()):
            # Text that would read as a typed item is typed as a binary, so it
            # reads back as itself (upstream reads this form too). Found by
            # tests/property/test_fuzz_ans104.py: ["(ao-type-"] did not decode.
            return sf.string_item(b"(ao-type-binary) " + raw)
        return sf.string_item(raw)
    if isinstance(element, dict):
        raise CodecError("a list holding messages must start with a message")
    kind, encoded = encode_value(element)
    return sf.string_item(b"(ao-type-" + kind.lower().encode("ascii") + b") " + encoded)


# --- TABM -> rich message --------------------------------------------------------------


def to_message(tabm: Tabm, *, deep: bool = True) -> Message:
    """Convert a TABM to a rich message. Upstream: dev_codec_structured:to/1.

    Keys that hold the default value of an Arweave transaction field (for
    example ``data`` when empty, or ``quantity`` when 0) are dropped, as
    upstream's hb_message:filter_default_keys/1 does. With ``deep`` false,
    nested messages are taken as they are (already converted).
    """
    if not isinstance(tabm, dict):
        raise CodecError(f"cannot convert {type(tabm).__name__} from a TABM")
    raw_types = tabm.get(AO_TYPES)
    types = parse_ao_types(raw_types) if raw_types and _is_binary(raw_types) else {}
    out: Message = {}
    for key, kind in types.items():
        if kind == "empty-binary":
            out[key] = ""
        elif kind == "empty-list":
            out[key] = []
        elif kind == "empty-message":
            out[key] = {}
    for raw_key, value in tabm.items():
        if raw_key == AO_TYPES:
            continue
        if type(value) is bytes:  # the usual TABM value
            found = types.get(normalize_key(raw_key)) if types else None
            out[raw_key] = binary_out(value) if found is None else decode_value(found, value)
        elif _is_binary(value):
            found = types.get(normalize_key(raw_key))
            raw = to_bytes(value)
            out[raw_key] = binary_out(raw) if found is None else decode_value(found, raw)
        elif isinstance(value, dict):
            child = to_message(value) if deep else value
            found = types.get(raw_key)
            if found is None:
                out[raw_key] = child
            elif found == "list":
                out[raw_key] = message_to_ordered_list(child)
            else:
                raise CodecError(f"key {raw_key!r} holds a message but is typed {found!r}")
        else:
            out[raw_key] = value
    return filter_default_keys(out)


def parse_ao_types(raw: str | bytes) -> dict[str, str]:
    """The ``ao-types`` dictionary as ``{key: type}`` (a new dict). Upstream:
    dev_codec_structured:parse_ao_types/1."""
    return dict(_parse_ao_types(to_bytes(raw)))


@functools.lru_cache(maxsize=4096)
def _parse_ao_types(raw: bytes) -> dict[str, str]:
    """:func:`parse_ao_types`, once per distinct text (the same few come
    back on every message of a kind); callers get a copy."""
    try:
        members = sf.parse_dictionary(raw)
    except sf.StructuredFieldError as exc:
        raise CodecError(f"bad ao-types {raw!r}: {exc}") from None
    types: dict[str, str] = {}
    for key, member in members:
        if not isinstance(member, sf.Item) or member.bare.kind not in (
            "string",
            "token",
            "binary",
        ):
            raise CodecError(f"bad type for {key!r} in ao-types {raw!r}")
        value = member.bare.value
        kind = value.decode("latin-1") if isinstance(value, bytes) else str(value)
        types[unescape_key(key)] = kind
    return types


def implicit_keys(tabm: Tabm) -> list[str]:
    """Keys that exist only as an ``empty-*`` type. Upstream:
    dev_codec_structured:implicit_keys/1."""
    raw = tabm.get(AO_TYPES, b"")
    types = parse_ao_types(raw if _is_binary(raw) else b"")
    return sort_keys(k for k, kind in types.items() if kind.startswith("empty-"))


def decode_value(kind: str, raw: bytes) -> Any:
    """A typed binary back to its value. Upstream: dev_codec_structured:decode_value/2."""
    kind = kind.lower()
    try:
        if kind == "integer":
            if _PLAIN_INTEGER.fullmatch(raw):
                # Also integers longer than structured fields' 15 digits, which
                # upstream writes but cannot read back.
                return int(raw)
            bare = sf.parse_item(raw).bare
            if bare.kind != "integer":
                raise CodecError(f"{raw!r} is not an integer")
            return bare.value
        if kind == "float":
            if not _ERLANG_FLOAT.fullmatch(raw):
                raise CodecError(f"{raw!r} is not a float")
            number = float(raw)
            if not math.isfinite(number):
                raise CodecError(f"float {raw!r} is out of range")
            return number
        if kind == "atom":
            bare = sf.parse_item(raw).bare
            if bare.kind not in ("string", "token", "binary"):
                raise CodecError(f"{raw!r} is not an atom")
            return atom_from_name(_text(bare.value))
        if kind == "list":
            return [_decode_list_member(member) for member in sf.parse_list(raw)]
        if kind == "map":
            return {
                key: _from_bare(_only_item(member).bare) for key, member in sf.parse_dictionary(raw)
            }
        if kind == "binary":
            return binary_out(raw)
    except sf.StructuredFieldError as exc:
        raise CodecError(f"cannot decode {raw!r} as {kind}: {exc}") from None
    raise CodecError(f"unknown type {kind!r}")


def atom_from_name(name: str) -> Any:
    """An atom by name: ``true``/``false`` are bools and ``null`` is None."""
    if name == "true":
        return True
    if name == "false":
        return False
    if name == "null":
        return None
    return Atom(name)


def _text(value: sf.BareValue) -> str:
    if isinstance(value, bytes):
        return value.decode("latin-1")
    return str(value)


def _only_item(member: sf.Member) -> sf.Item:
    if isinstance(member, sf.InnerList):
        raise CodecError("inner lists cannot be decoded as values")
    return member


def _decode_list_member(member: sf.Member) -> Any:
    item = _only_item(member)
    bare = item.bare
    if bare.kind == "string":
        text = _text(bare.value)
        if text.startswith(_LIST_TYPE_PREFIX):
            kind, sep, encoded = text[len(_LIST_TYPE_PREFIX) :].partition(") ")
            if not sep:
                raise CodecError(f"bad typed list item {text!r}")
            return decode_value(kind, encoded.encode("latin-1"))
    return _from_bare(bare)


def _from_bare(bare: sf.Bare) -> Any:
    """Upstream: hb_structured_fields:from_bare_item/1."""
    if bare.kind == "string":
        return binary_out(_text(bare.value).encode("latin-1"))
    if bare.kind == "token":
        return atom_from_name(_text(bare.value))
    if bare.kind == "decimal":
        return float(bare.value)
    return bare.value


def message_to_ordered_list(msg: Message) -> list[Any]:
    """A numbered message (``1``, ``2``...) as a list. Upstream:
    hb_util:message_to_ordered_list/1."""
    if is_empty_message(msg):
        return []
    try:
        numbered = sorted((int(key), value) for key, value in msg.items() if key != "priv")
    except ValueError:
        raise CodecError(f"message with keys {sorted(msg)} is not a list") from None
    first = numbered[0][0]
    for offset, (index, _) in enumerate(numbered):
        if index != first + offset:
            raise CodecError(f"list message is missing key {first + offset}")
    return [value for _, value in numbered]


_ZERO_ID = bytes(32)
_ZERO_SIG = bytes(512)


def _is_default(key: str, value: Any) -> bool:
    """Whether ``value`` is the default of the Arweave transaction field ``key``."""
    if key in ("id", "unsigned_id"):
        return _is_binary(value) and to_bytes(value) == _ZERO_ID
    if key in ("owner", "signature"):
        return _is_binary(value) and to_bytes(value) == _ZERO_SIG
    if key in ("last_tx", "target", "data", "data_root"):
        return _is_binary(value) and len(value) == 0
    if key in ("tags", "data_tree"):
        return isinstance(value, list) and not value
    if key in ("quantity", "data_size", "reward", "denomination"):
        return type(value) is int and value == 0
    if key == "format":
        return bool(value == Atom("ans104"))
    if key == "manifest":
        return bool(value == Atom("undefined"))
    return False


#: The transaction fields that have defaults (see :func:`_is_default`).
_TX_FIELDS = frozenset(
    {"id", "unsigned_id", "owner", "signature", "last_tx", "target", "data", "data_root"}
    | {"tags", "data_tree", "quantity", "data_size", "reward", "denomination", "format"}
    | {"manifest"}
)


def filter_default_keys(msg: Message) -> Message:
    """Drop keys holding their transaction-record default. Upstream:
    hb_message:filter_default_keys/1."""
    dropped = [
        k
        for k, v in msg.items()
        if (k in _TX_FIELDS or not (type(k) is str and k.islower()))
        and _is_default(normalize_key(k), v)
    ]
    if not dropped:
        return msg
    return {k: v for k, v in msg.items() if k not in dropped}

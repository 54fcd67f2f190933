"""HTTP Structured Field values (RFC 9651): a strict parser and a serializer.

The parser accepts items with parameters, lists (with inner lists) and
dictionaries; anything that does not parse raises
:class:`StructuredFieldError`. Its leniencies follow upstream's parser
(``hb_structured_fields``): upper-case letters are allowed in dictionary keys
and tokens may contain ``:`` and ``/``. Text given as ``bytes`` is read as
Latin-1, so non-ASCII bytes are rejected wherever the grammar forbids them.

The serializer reproduces ``hb_structured_fields:item/1``, ``list/1`` and
``dictionary/1`` byte for byte, including their leniencies: strings are only
escaped (``\\`` and ``"``), never validated, so they may carry any byte; a
dictionary member whose value is the bare ``True`` is written as its key
alone, while an *item* holding the boolean true is written ``key=?1``.
Serializers return ``bytes``.
"""

from __future__ import annotations

import base64
import binascii
import decimal
import functools
import math
import re
import string
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal, TypeAlias

_ALPHA = frozenset(string.ascii_letters)
_DIGIT = frozenset(string.digits)
_LCALPHA = frozenset(string.ascii_lowercase)
_TCHAR = _ALPHA | _DIGIT | frozenset("!#$%&'*+-.^_`|~")
_DICT_KEY_START = _ALPHA | _DIGIT | frozenset("*%_-")
_DICT_KEY_CHARS = _ALPHA | _DIGIT | frozenset("_-.*%")
_PARAM_KEY_START = _LCALPHA | frozenset("*")
_PARAM_KEY_CHARS = _LCALPHA | _DIGIT | frozenset("_-.*")

MAX_INTEGER_DIGITS = 15
MAX_DECIMAL_INT_DIGITS = 12
MAX_DECIMAL_FRAC_DIGITS = 3


class StructuredFieldError(ValueError):
    """Text that is not a valid structured field value, or a value that
    cannot be serialized."""


BareKind: TypeAlias = Literal["integer", "decimal", "string", "token", "binary", "boolean"]
BareValue: TypeAlias = int | float | decimal.Decimal | str | bytes | bool


@dataclass(frozen=True, slots=True)
class Bare:
    """A bare item: its kind and its Python value.

    Parsing gives ``int`` (integer), ``float`` (decimal), ``str`` (string,
    token), ``bytes`` (byte sequence) or ``bool``. For serializing, strings and
    tokens may also be ``bytes`` and decimals a :class:`decimal.Decimal`
    (written exactly as upstream writes its ``{decimal, {Base, Exp}}``).
    """

    kind: BareKind
    value: BareValue


@dataclass(frozen=True, slots=True)
class Item:
    bare: Bare
    params: tuple[tuple[str, Bare], ...] = ()


@dataclass(frozen=True, slots=True)
class InnerList:
    items: tuple[Item, ...]
    params: tuple[tuple[str, Bare], ...] = ()


Member: TypeAlias = Item | InnerList
DictValue: TypeAlias = Member | Literal[True]


# --- convenience constructors --------------------------------------------------


def string_item(value: str | bytes) -> Item:
    """An item holding a string (upstream ``{item, {string, V}, []}``)."""
    return Item(Bare("string", value))


def token_item(value: str | bytes) -> Item:
    return Item(Bare("token", value))


def integer_item(value: int) -> Item:
    return Item(Bare("integer", value))


def binary_item(value: bytes) -> Item:
    """An item holding a byte sequence (upstream ``{item, {binary, V}, []}``)."""
    return Item(Bare("binary", value))


# --- parsing -------------------------------------------------------------------


class _Reader:
    """A cursor over the text being parsed."""

    def __init__(self, text: str | bytes) -> None:
        self.text = text.decode("latin-1") if isinstance(text, bytes) else text
        self.pos = 0

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def at_end(self) -> bool:
        return self.pos >= len(self.text)

    def fail(self, what: str) -> StructuredFieldError:
        return StructuredFieldError(f"{what} at offset {self.pos} in {self.text!r}")

    def skip(self, chars: str) -> None:
        while self.pos < len(self.text) and self.text[self.pos] in chars:
            self.pos += 1


def parse_item(text: str | bytes) -> Item:
    """One item (bare item plus parameters); the whole text must be used."""
    reader = _Reader(text)
    item = _item(reader)
    if not reader.at_end():
        raise reader.fail("trailing characters after item")
    return item


def parse_list(text: str | bytes) -> list[Member]:
    """A list of items and inner lists. The empty text is the empty list."""
    reader = _Reader(text)
    members: list[Member] = []
    if reader.at_end():
        return members
    while True:
        reader.skip(" \t")
        members.append(_member(reader))
        reader.skip(" \t")
        if reader.at_end():
            return members
        if reader.peek() != ",":
            raise reader.fail("expected ',' between list members")
        reader.pos += 1


def parse_dictionary(text: str | bytes) -> list[tuple[str, Member]]:
    """The members of a dictionary, in order; a repeated key keeps its first
    place and takes its last value."""
    return list(_parse_dictionary(text))


@functools.lru_cache(maxsize=4096)
def _parse_dictionary(text: str | bytes) -> tuple[tuple[str, Member], ...]:
    """Memoized: the same ``signature-input`` is read many times while a
    message is verified, reduced to its committed keys and stored."""
    return tuple(_parse_dictionary_uncached(text))


def _parse_dictionary_uncached(text: str | bytes) -> list[tuple[str, Member]]:
    reader = _Reader(text)
    members: dict[str, Member] = {}
    if reader.at_end():
        return []
    while True:
        key = _dict_key(reader)
        value: Member
        if reader.peek() == "=":
            reader.pos += 1
            value = _member(reader)
        else:
            value = Item(Bare("boolean", True), _params(reader))
        members[key] = value
        reader.skip(" \t")
        if reader.at_end():
            return list(members.items())
        if reader.peek() != ",":
            raise reader.fail("expected ',' between dictionary members")
        reader.pos += 1
        reader.skip(" \t")


def _dict_key(reader: _Reader) -> str:
    start = reader.pos
    if reader.peek() == "" or reader.peek() not in _DICT_KEY_START:
        raise reader.fail("expected a dictionary key")
    reader.pos += 1
    while reader.peek() != "" and reader.peek() in _DICT_KEY_CHARS:
        reader.pos += 1
    return reader.text[start : reader.pos]


def _member(reader: _Reader) -> Member:
    if reader.peek() == "(":
        reader.pos += 1
        return _inner_list(reader)
    return _item(reader)


def _inner_list(reader: _Reader) -> InnerList:
    items: list[Item] = []
    while True:
        reader.skip(" ")
        if reader.at_end():
            raise reader.fail("unterminated inner list")
        if reader.peek() == ")":
            reader.pos += 1
            return InnerList(tuple(items), _params(reader))
        items.append(_item(reader))
        if reader.peek() not in (" ", ")"):
            raise reader.fail("expected ' ' or ')' in inner list")


def _item(reader: _Reader) -> Item:
    bare = _bare_item(reader)
    return Item(bare, _params(reader))


def _params(reader: _Reader) -> tuple[tuple[str, Bare], ...]:
    params: dict[str, Bare] = {}
    while reader.peek() == ";":
        reader.pos += 1
        reader.skip(" ")
        if reader.peek() == "" or reader.peek() not in _PARAM_KEY_START:
            raise reader.fail("expected a parameter key")
        start = reader.pos
        reader.pos += 1
        while reader.peek() != "" and reader.peek() in _PARAM_KEY_CHARS:
            reader.pos += 1
        key = reader.text[start : reader.pos]
        if reader.peek() == "=":
            reader.pos += 1
            params[key] = _bare_item(reader)
        else:
            params[key] = Bare("boolean", True)
    return tuple(params.items())


def _bare_item(reader: _Reader) -> Bare:
    char = reader.peek()
    if char == "-" or (char != "" and char in _DIGIT):
        return _number(reader)
    if char == '"':
        return _string(reader)
    if char == "*" or (char != "" and char in _ALPHA):
        return _token(reader)
    if char == ":":
        return _byte_sequence(reader)
    if char == "?":
        flag = reader.text[reader.pos + 1 : reader.pos + 2]
        if flag in ("0", "1"):
            reader.pos += 2
            return Bare("boolean", flag == "1")
        raise reader.fail("bad boolean")
    raise reader.fail("expected a bare item")


def _number(reader: _Reader) -> Bare:
    negative = reader.peek() == "-"
    if negative:
        reader.pos += 1
    start = reader.pos
    while reader.peek() != "" and reader.peek() in _DIGIT:
        reader.pos += 1
    int_digits = reader.text[start : reader.pos]
    if not int_digits:
        raise reader.fail("expected digits")
    sign = -1 if negative else 1
    if reader.peek() != ".":
        if len(int_digits) > MAX_INTEGER_DIGITS:
            raise reader.fail("integer has too many digits")
        return Bare("integer", sign * int(int_digits))
    reader.pos += 1
    frac_start = reader.pos
    while reader.peek() != "" and reader.peek() in _DIGIT:
        reader.pos += 1
    frac_digits = reader.text[frac_start : reader.pos]
    if len(int_digits) > MAX_DECIMAL_INT_DIGITS:
        raise reader.fail("decimal has too many integer digits")
    if not 1 <= len(frac_digits) <= MAX_DECIMAL_FRAC_DIGITS:
        raise reader.fail("decimal needs 1 to 3 fractional digits")
    return Bare("decimal", sign * float(f"{int_digits}.{frac_digits}"))


#: A string's body: printable ASCII but ``"`` and ``\\``, or an escaped ``"``/``\\``.
_STRING_BODY = re.compile(r'(?:[\x20\x21\x23-\x5b\x5d-\x7e]|\\["\\])*')
_ESCAPED = re.compile(r'\\(["\\])')
_TOKEN_TAIL = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z:/]*")
_B64_RUN = re.compile(r"[A-Za-z0-9+/=]*")


def _string(reader: _Reader) -> Bare:
    start = reader.pos + 1
    found = _STRING_BODY.match(reader.text, start)
    end = found.end() if found else start
    reader.pos = end
    char = reader.peek()
    if char == '"':
        reader.pos += 1
        body = reader.text[start:end]
        return Bare("string", _ESCAPED.sub(r"\1", body) if "\\" in body else body)
    if char == "":
        raise reader.fail("unterminated string")
    if char == "\\":
        raise reader.fail("bad escape in string")
    raise reader.fail("bad character in string")


def _token(reader: _Reader) -> Bare:
    start = reader.pos
    found = _TOKEN_TAIL.match(reader.text, start + 1)
    reader.pos = found.end() if found else start + 1
    return Bare("token", reader.text[start : reader.pos])


def _byte_sequence(reader: _Reader) -> Bare:
    start = reader.pos + 1
    found = _B64_RUN.match(reader.text, start)
    reader.pos = found.end() if found else start
    if reader.peek() != ":":
        raise reader.fail("unterminated byte sequence")
    encoded = reader.text[start : reader.pos]
    reader.pos += 1
    try:
        return Bare("binary", base64.b64decode(encoded, validate=True))
    except (binascii.Error, ValueError) as exc:
        raise reader.fail(f"bad base64 ({exc})") from None


# --- serializing ---------------------------------------------------------------


def serialize_item(item: Item) -> bytes:
    """An item and its parameters. Upstream: hb_structured_fields:item/1."""
    return serialize_bare(item.bare) + serialize_params(item.params)


def serialize_list(members: Iterable[Member]) -> bytes:
    """Members joined by ``", "``. Upstream: hb_structured_fields:list/1."""
    return b", ".join(_serialize_member(member) for member in members)


def serialize_dictionary(members: Iterable[tuple[str | bytes, DictValue]]) -> bytes:
    """``key=value`` members joined by ``", "``, in the order given.

    A member whose value is the literal ``True`` is written as its bare key.
    Keys are written as given (upstream does not check them). Upstream:
    hb_structured_fields:dictionary/1 (given a list, so the order is kept).
    """
    parts: list[bytes] = []
    for key, value in members:
        raw_key = _raw(key)
        if value is True:
            parts.append(raw_key)
        else:
            parts.append(raw_key + b"=" + _serialize_member(value))
    return b", ".join(parts)


def serialize_params(params: Sequence[tuple[str, Bare]]) -> bytes:
    """``;key`` for a true boolean, ``;key=value`` otherwise."""
    out = bytearray()
    for key, value in params:
        out += b";" + _raw(key)
        if not (value.kind == "boolean" and value.value is True):
            out += b"=" + serialize_bare(value)
    return bytes(out)


def serialize_bare(bare: Bare) -> bytes:
    """One bare item. Upstream: hb_structured_fields:bare_item/1."""
    kind, value = bare.kind, bare.value
    if kind == "string":
        if not isinstance(value, str | bytes):
            raise StructuredFieldError(f"string item needs text, not {value!r}")
        return b'"' + escape_string(_raw(value)) + b'"'
    if kind == "token":
        if not isinstance(value, str | bytes):
            raise StructuredFieldError(f"token item needs text, not {value!r}")
        return _raw(value)
    if kind == "binary":
        if not isinstance(value, bytes):
            raise StructuredFieldError(f"byte sequence item needs bytes, not {value!r}")
        return b":" + base64.b64encode(value) + b":"
    if kind == "boolean":
        if not isinstance(value, bool):
            raise StructuredFieldError(f"boolean item needs a bool, not {value!r}")
        return b"?1" if value else b"?0"
    if kind == "integer":
        if isinstance(value, bool) or not isinstance(value, int):
            raise StructuredFieldError(f"integer item needs an int, not {value!r}")
        return str(value).encode("ascii")
    if kind == "decimal":
        if isinstance(value, decimal.Decimal):
            return _serialize_exact_decimal(value)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise StructuredFieldError(f"decimal item needs a number, not {value!r}")
        return _serialize_float_decimal(float(value))
    raise StructuredFieldError(f"unknown bare item kind {kind!r}")


def escape_string(raw: bytes) -> bytes:
    """Escape ``\\`` and ``"``; every other byte is kept as it is."""
    return raw.replace(b"\\", b"\\\\").replace(b'"', b'\\"')


def _serialize_member(member: Member) -> bytes:
    if isinstance(member, InnerList):
        inner = b" ".join(serialize_item(item) for item in member.items)
        return b"(" + inner + b")" + serialize_params(member.params)
    return serialize_item(member)


def _raw(text: str | bytes) -> bytes:
    return text if isinstance(text, bytes) else text.encode("utf-8", "surrogateescape")


def _erlang_div(a: int, b: int) -> int:
    """Erlang's ``div``: integer division truncating toward zero."""
    quotient = abs(a) // abs(b)
    return quotient if (a >= 0) == (b >= 0) else -quotient


def _serialize_exact_decimal(value: decimal.Decimal) -> bytes:
    """Write ``{decimal, {Base, Exp}}`` exactly as hb_structured_fields does.

    That includes its quirks: with 2 or 3 fractional digits the fraction is
    not zero-padded (``1.05`` is written ``1.5``), and the sign of a value
    between -1 and 0 with 1 to 3 fractional digits is lost.
    """
    if not value.is_finite():
        raise StructuredFieldError(f"decimal {value} is not finite")
    sign, digits, exp = value.as_tuple()
    assert isinstance(exp, int)
    base = int("".join(map(str, digits)) or "0") * (-1 if sign else 1)
    if exp >= 0:
        if exp > 12:
            raise StructuredFieldError(f"decimal {value} is too large")
        text = str(base * 10**exp)
        if len(text) > (13 if base < 0 else 12):
            raise StructuredFieldError(f"decimal {value} is too large")
        return text.encode("ascii") + b".0"
    if exp in (-1, -2, -3):
        div = 10**-exp
        whole = _erlang_div(base, div)
        frac = abs(base) % div
        return f"{whole}.{frac}".encode("ascii")
    div = 10**-exp
    whole0 = _erlang_div(base, div)
    if abs(whole0) >= 10**12:
        raise StructuredFieldError(f"decimal {value} is too large")
    frac0 = abs(base) % div
    div_frac = div // 1000
    frac1 = frac0 // div_frac
    if frac0 % div_frac > div_frac // 2:
        if frac1 == 999:
            whole, frac = (whole0 - 1 if whole0 < 0 else whole0 + 1), 0
        else:
            whole, frac = whole0, frac1 + 1
    else:
        whole, frac = whole0, frac1
    return f"{whole}.{frac:03d}".encode("ascii")


def _serialize_float_decimal(value: float) -> bytes:
    """A float as an RFC 9651 decimal: rounded half-even to 3 fractional
    digits, trailing zeros dropped (upstream cannot serialize floats)."""
    if not math.isfinite(value):
        raise StructuredFieldError(f"decimal {value} is not finite")
    rounded = decimal.Decimal(repr(value)).quantize(
        decimal.Decimal("0.001"), rounding=decimal.ROUND_HALF_EVEN
    )
    whole_digits = len(str(abs(int(rounded))))
    if whole_digits > MAX_DECIMAL_INT_DIGITS:
        raise StructuredFieldError(f"decimal {value} is too large")
    text = format(rounded, "f").rstrip("0")
    if text.endswith("."):
        text += "0"
    if text == "-0.0":
        text = "0.0"
    return text.encode("ascii")

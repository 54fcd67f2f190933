"""A small, strict parser for HTTP Structured Field values (RFC 9651).

Only what HyperPATH casts need: items with parameters, lists (with inner
lists) and dictionaries. Anything that does not parse raises
:class:`StructuredFieldError`. The leniencies follow upstream's parser
(hb_structured_fields): upper-case letters are allowed in dictionary keys and
tokens may contain ``:`` and ``/``.
"""

from __future__ import annotations

import base64
import binascii
import string
from dataclasses import dataclass
from typing import Literal, TypeAlias

_ALPHA = frozenset(string.ascii_letters)
_DIGIT = frozenset(string.digits)
_LCALPHA = frozenset(string.ascii_lowercase)
_TCHAR = _ALPHA | _DIGIT | frozenset("!#$%&'*+-.^_`|~")
_TOKEN_CHARS = _TCHAR | frozenset(":/")
_B64_CHARS = _ALPHA | _DIGIT | frozenset("+/=")
_DICT_KEY_START = _ALPHA | _DIGIT | frozenset("*%_-")
_DICT_KEY_CHARS = _ALPHA | _DIGIT | frozenset("_-.*%")
_PARAM_KEY_START = _LCALPHA | frozenset("*")
_PARAM_KEY_CHARS = _LCALPHA | _DIGIT | frozenset("_-.*")

MAX_INTEGER_DIGITS = 15
MAX_DECIMAL_INT_DIGITS = 12
MAX_DECIMAL_FRAC_DIGITS = 3


class StructuredFieldError(ValueError):
    """Text that is not a valid structured field value."""


BareKind: TypeAlias = Literal["integer", "decimal", "string", "token", "binary", "boolean"]


@dataclass(frozen=True, slots=True)
class Bare:
    """A bare item: its kind and its Python value (int/float/str/bytes/bool)."""

    kind: BareKind
    value: int | float | str | bytes | bool


@dataclass(frozen=True, slots=True)
class Item:
    bare: Bare
    params: tuple[tuple[str, Bare], ...] = ()


@dataclass(frozen=True, slots=True)
class InnerList:
    items: tuple[Item, ...]
    params: tuple[tuple[str, Bare], ...] = ()


Member: TypeAlias = Item | InnerList


class _Reader:
    """A cursor over the text being parsed."""

    def __init__(self, text: str) -> None:
        self.text = text
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


def parse_item(text: str) -> Item:
    """One item (bare item plus parameters); the whole text must be used."""
    reader = _Reader(text)
    item = _item(reader)
    if not reader.at_end():
        raise reader.fail("trailing characters after item")
    return item


def parse_list(text: str) -> list[Member]:
    """A list of items and inner lists. The empty text is the empty list."""
    reader = _Reader(text)
    members: list[Member] = []
    if text == "":
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


def parse_dictionary(text: str) -> list[tuple[str, Member]]:
    """The members of a dictionary, in order; a repeated key keeps its first
    place and takes its last value."""
    reader = _Reader(text)
    members: dict[str, Member] = {}
    if text == "":
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


def _string(reader: _Reader) -> Bare:
    reader.pos += 1
    out: list[str] = []
    while True:
        char = reader.peek()
        if char == "":
            raise reader.fail("unterminated string")
        reader.pos += 1
        if char == '"':
            return Bare("string", "".join(out))
        if char == "\\":
            escaped = reader.peek()
            if escaped not in ('"', "\\"):
                raise reader.fail("bad escape in string")
            reader.pos += 1
            out.append(escaped)
        elif 0x20 <= ord(char) <= 0x7E:
            out.append(char)
        else:
            raise reader.fail("bad character in string")


def _token(reader: _Reader) -> Bare:
    start = reader.pos
    reader.pos += 1
    while reader.peek() != "" and reader.peek() in _TOKEN_CHARS:
        reader.pos += 1
    return Bare("token", reader.text[start : reader.pos])


def _byte_sequence(reader: _Reader) -> Bare:
    reader.pos += 1
    start = reader.pos
    while reader.peek() != "" and reader.peek() in _B64_CHARS:
        reader.pos += 1
    if reader.peek() != ":":
        raise reader.fail("unterminated byte sequence")
    encoded = reader.text[start : reader.pos]
    reader.pos += 1
    try:
        return Bare("binary", base64.b64decode(encoded, validate=True))
    except (binascii.Error, ValueError) as exc:
        raise reader.fail(f"bad base64 ({exc})") from None

"""Structured fields: the parser and the byte-exact serializer (hyperbeam.codecs.sf)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from hyperbeam.codecs import sf
from hyperbeam.codecs.sf import Bare, InnerList, Item


def test_parse_item_with_params() -> None:
    assert sf.parse_item("1.250;a;b=?0") == Item(
        Bare("decimal", 1.25),
        (("a", Bare("boolean", True)), ("b", Bare("boolean", False))),
    )
    assert sf.parse_item('"x\\"y"') == Item(Bare("string", 'x"y'))
    assert sf.parse_item(":aGk=:") == Item(Bare("binary", b"hi"))


def test_parse_accepts_bytes_as_latin1() -> None:
    assert sf.parse_item(b"tok/en:x") == Item(Bare("token", "tok/en:x"))
    with pytest.raises(sf.StructuredFieldError):
        sf.parse_item('"caf\xc3\xa9"'.encode("latin-1"))


def test_parse_list_and_dictionary() -> None:
    assert sf.parse_list("(1 2);p, 3") == [
        InnerList((sf.integer_item(1), sf.integer_item(2)), (("p", Bare("boolean", True)),)),
        sf.integer_item(3),
    ]
    assert sf.parse_list("") == []
    assert sf.parse_dictionary('a=1, B="x", c') == [
        ("a", sf.integer_item(1)),
        ("B", sf.string_item("x")),
        ("c", Item(Bare("boolean", True))),
    ]


@pytest.mark.parametrize(
    "text",
    ["1234567890123456", '"unterminated', "(1 2", "a=", ":bad base64:", "?2", '"\\n"'],
)
def test_parse_rejects(text: str) -> None:
    with pytest.raises(sf.StructuredFieldError):
        if text.startswith("a="):
            sf.parse_dictionary(text)
        else:
            sf.parse_item(text)


def test_serialize_bare_items() -> None:
    """Upstream hb_structured_fields:bare_item/1 for every kind."""
    assert sf.serialize_item(sf.integer_item(-42)) == b"-42"
    assert sf.serialize_item(sf.string_item('a"b\\c')) == b'"a\\"b\\\\c"'
    assert sf.serialize_item(sf.token_item("foo/bar")) == b"foo/bar"
    assert sf.serialize_item(sf.binary_item(b"\x00\xff")) == b":AP8=:"
    assert sf.serialize_item(Item(Bare("boolean", True))) == b"?1"
    assert sf.serialize_item(Item(Bare("boolean", False))) == b"?0"


def test_serialize_strings_keep_any_byte() -> None:
    """Upstream only escapes backslash and double quote; other bytes (even
    non-ASCII) are written as they are."""
    assert sf.serialize_item(sf.string_item("é")) == b'"\xc3\xa9"'
    assert sf.serialize_item(sf.string_item(b"\x01")) == b'"\x01"'


def test_serialize_params_and_inner_lists() -> None:
    item = Item(
        sf.Bare("string", "params"),
        (("first", Bare("token", "param")), ("another", Bare("boolean", True))),
    )
    assert sf.serialize_item(item) == b'"params";first=param;another'
    inner = InnerList((sf.integer_item(1), sf.integer_item(2)), (("first", Bare("token", "p")),))
    assert sf.serialize_list([inner, sf.string_item("x")]) == b'(1 2);first=p, "x"'
    assert sf.serialize_list([]) == b""


def test_serialize_dictionary() -> None:
    """Ported from upstream hb_structured_fields to_dictionary_test: the
    dictionary built there, serialized in the given order. A bare ``True``
    member is written as its key alone; an item holding true is ``key=?1``."""
    members: list[tuple[str | bytes, sf.DictValue]] = [
        ("foo", sf.token_item("bar")),
        ("fizz", sf.string_item("buzz")),
        ("int-item", sf.integer_item(1)),
        ("int-item-with-params", Item(Bare("integer", 1), (("int", Bare("string", "param")),))),
        (
            "inner",
            InnerList(
                (
                    sf.string_item("a"),
                    sf.token_item("b"),
                    Item(Bare("boolean", True)),
                    sf.integer_item(3),
                )
            ),
        ),
        ("flag", True),
    ]
    assert sf.serialize_dictionary(members) == (
        b'foo=bar, fizz="buzz", int-item=1, int-item-with-params=1;int="param", '
        b'inner=("a" b ?1 3), flag'
    )


def test_serialize_decimals_exactly_as_upstream() -> None:
    """Upstream bare_item({decimal, {Base, Exp}}), quirks included."""
    assert sf.serialize_bare(Bare("decimal", Decimal("5"))) == b"5.0"
    assert sf.serialize_bare(Bare("decimal", Decimal("1.5"))) == b"1.5"
    assert sf.serialize_bare(Bare("decimal", Decimal("-1.25"))) == b"-1.25"
    # The fraction is not zero-padded for 2 or 3 fractional digits.
    assert sf.serialize_bare(Bare("decimal", Decimal("1.05"))) == b"1.5"
    # More than 3 digits are rounded to 3, zero-padded.
    assert sf.serialize_bare(Bare("decimal", Decimal("1.00051"))) == b"1.001"
    assert sf.serialize_bare(Bare("decimal", Decimal("2.99990"))) == b"3.000"


def test_serialize_float_decimals_per_rfc() -> None:
    assert sf.serialize_bare(Bare("decimal", 1.05)) == b"1.05"
    assert sf.serialize_bare(Bare("decimal", 2.0)) == b"2.0"
    assert sf.serialize_bare(Bare("decimal", -0.0005)) == b"0.0"
    with pytest.raises(sf.StructuredFieldError):
        sf.serialize_bare(Bare("decimal", 1e13))


def test_serialize_rejects_wrong_values() -> None:
    with pytest.raises(sf.StructuredFieldError):
        sf.serialize_bare(Bare("integer", "1"))
    with pytest.raises(sf.StructuredFieldError):
        sf.serialize_bare(Bare("binary", "text"))


def test_dictionary_round_trip() -> None:
    """A parsed bare key comes back as ``key=?1``: upstream only writes the
    bare key for a literal ``true`` member, never for a parsed item."""
    text = 'a=1, b="two", c=:AAE=:, d=?0, e=tok, f=(1 2 "x");p=1, x="y";q;r=2, g'
    parsed = sf.parse_dictionary(text)
    assert sf.serialize_dictionary(parsed).decode() == text.replace(", g", ", g=?1")
    assert sf.parse_dictionary(sf.serialize_dictionary(parsed)) == parsed


def test_list_round_trip() -> None:
    text = '"a", (1 2);x=?0, :AAEC:, -7, tok'
    assert sf.serialize_list(sf.parse_list(text)).decode() == text

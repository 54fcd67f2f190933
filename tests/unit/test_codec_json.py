"""The json@1.0 codec (hyperbeam.codecs.json) against upstream's
dev_codec_json (which has no eunit tests of its own), hb_message's codec
suite (json@1.0) and the behaviour of OTP's json module that hb_json wraps."""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hyperbeam.codecs import json as json_codec
from hyperbeam.codecs.json import decode_json, encode_json, erlang_short_float
from hyperbeam.codecs.structured import to_bytes
from hyperbeam.errors import CodecError
from hyperbeam.message.id import unsigned_id
from hyperbeam.message.model import Atom
from tests.message_shapes import match, message_shapes


def roundtrip(msg: Any) -> Any:
    """hb_message:convert to json@1.0 and back to structured@1.0."""
    return json_codec.deserialize(json_codec.serialize(msg))


# --- dev_codec_json -------------------------------------------------------------------


def test_to_json_encodes_the_tabm() -> None:
    """dev_codec_json:to/1 through hb_message:convert: the TABM, ao-types included."""
    assert (
        json_codec.serialize({"a": 1, "b": "x"})
        == b'{"a":"1","ao-types":"a=\\"integer\\"","b":"x"}'
    )
    assert json_codec.serialize(b"bin") == b'"bin"'
    assert json_codec.deserialize(b'"bin"') == b"bin"


def test_to_json_drops_private_keys() -> None:
    """dev_codec_json:to/1 resets private keys (hb_private:reset/1)."""
    assert json_codec.to_json({"a": "1", "priv": {"x": "y"}, "private-x": "z"}) == b'{"a":"1"}'


def test_from_json_passes_messages_through() -> None:
    """dev_codec_json:from/1 on a map returns it unchanged; JSON strings
    decode to binaries (bytes), as json:decode/1 gives."""
    msg = {"a": "1"}
    assert json_codec.from_json(msg) is msg
    decoded = json_codec.from_json('{"a": [1, 2.5, null, true, "s"], "b": "t"}')
    assert decoded == {"a": [1, 2.5, None, True, b"s"], "b": b"t"}


def test_json_values_decode_to_a_rich_message() -> None:
    """JSON numbers, booleans and null pass through structured@1.0 untouched."""
    decoded = json_codec.deserialize(b'{"n": 3, "f": 0.5, "t": true, "z": null, "l": [1]}')
    assert decoded == {"n": 3, "f": 0.5, "t": True, "z": None, "l": [1]}


# --- OTP json encoding ------------------------------------------------------------------


def test_encoding_matches_otp_json() -> None:
    """json:encode/1: no whitespace, keys in term order, atoms as strings."""
    value = {"b": [1, -2, True, None], "a": {"y": Atom("ok"), "x": False}, 3: "n", Atom("m"): 1.5}
    assert encode_json(value) == b'{"3":"n","m":1.5,"a":{"x":false,"y":"ok"},"b":[1,-2,true,null]}'
    assert encode_json([]) == b"[]"
    assert encode_json({}) == b"{}"
    assert encode_json(Atom("null")) == b"null"


def test_string_escaping_matches_otp_json() -> None:
    """json:escape/1: only quote, backslash and control characters, the
    latter as \\b \\t \\n \\f \\r or upper-case \\u00XX; UTF-8 kept as is."""
    text = 'q"b\\s/\x00\x01\x08\t\n\x0b\x0c\r\x1f\x7fé日🎉'
    expected = '"q\\"b\\\\s/\\u0000\\u0001\\b\\t\\n\\u000B\\f\\r\\u001F\x7fé日🎉"'
    assert encode_json(text) == expected.encode()
    assert encode_json(text.encode()) == expected.encode()


def test_invalid_utf8_cannot_be_encoded() -> None:
    """json:encode/1 raises on binaries that are not UTF-8."""
    with pytest.raises(CodecError, match="not UTF-8"):
        encode_json(b"\xff")
    with pytest.raises(CodecError):
        json_codec.serialize({"a": b"\xe2\x82"})
    with pytest.raises(CodecError):
        encode_json(object())
    with pytest.raises(CodecError):
        encode_json(math.inf)


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (0.0, "0.0"),
        (-0.0, "-0.0"),
        (1.0, "1.0"),
        (0.1, "0.1"),
        (1.5, "1.5"),
        (-2.25, "-2.25"),
        (100.0, "100.0"),
        (1000.0, "1.0e3"),
        (123456.0, "123456.0"),
        (1.0e-3, "0.001"),
        (1.0e-5, "1.0e-5"),
        (1.5e-7, "1.5e-7"),
        (123.456, "123.456"),
        (1.0e21, "1.0e21"),
        (9007199254740992.0, "9.007199254740992e15"),
        (9007199254740991.0, "9007199254740991.0"),
        (5e-324, "5.0e-324"),
        (1.7976931348623157e308, "1.7976931348623157e308"),
    ],
)
def test_short_floats(value: float, text: str) -> None:
    """float_to_binary(F, [short]) (io_lib_format:fwrite_g/1 rules)."""
    assert erlang_short_float(value) == text
    assert float(text) == value


# --- OTP json decoding ------------------------------------------------------------------


def test_decoding_matches_otp_json() -> None:
    """json:decode/1: first duplicate key wins, exponents make floats."""
    assert decode_json(b'{"a": 1, "a": 2}') == {"a": 1}
    assert decode_json(b"1E2") == 100.0
    assert isinstance(decode_json(b"-0"), int)
    assert decode_json(b'"\\ud83c\\udf89"') == "🎉"
    assert decode_json(' {"k": "é"} ') == {"k": "é"}


@pytest.mark.parametrize(
    "text",
    [
        b"",
        b"{",
        b'{"a":1} x',
        b"NaN",
        b"Infinity",
        b"1e400",
        b'"\\ud800"',
        b'"\\udc00x"',
        b'{"\\ud800": 1}',
        b'"\xff"',
        b'"a\x01"',
        b"\xef\xbb\xbf{}",
        b"[" * 100_000,
    ],
)
def test_invalid_json_is_a_codec_error(text: bytes) -> None:
    with pytest.raises(CodecError):
        decode_json(text)


# --- hb_message codec suite (json@1.0) ---------------------------------------------------


SUITE: dict[str, Any] = message_shapes()


@pytest.mark.parametrize("name", list(SUITE))
def test_message_suite_roundtrip(name: str) -> None:
    """hb_message message_suite_test_ (json@1.0), the unsigned conversions."""
    msg = SUITE[name]
    decoded = roundtrip(msg)
    assert match(msg, decoded)
    assert unsigned_id(decoded) == unsigned_id(msg)


def test_binary_to_binary() -> None:
    """hb_message binary_to_binary_test (json@1.0)."""
    binary = b"THIS IS A BINARY, NOT A NORMAL MESSAGE"
    assert to_bytes(roundtrip(binary)) == binary


# structured@1.0 drops keys holding a transaction field's default value
# (hb_message:filter_default_keys/1), so those names are left out.
_TX_FIELDS = {"id", "unsigned_id", "last_tx", "owner", "target", "data", "signature", "tags"}
_TX_FIELDS |= {"data_root", "data_tree", "quantity", "reward", "format", "manifest"}
# Keys that structured@1.0 can list in ao-types: structured-field keys start
# with a letter, and upstream leaves "?", "&" and "+" unescaped there.
_keys = st.builds(
    str.__add__,
    st.sampled_from("abcdefghijklmnopqrstuvwxyz"),
    st.text("abcdefghijklmnopqrstuvwxyz0123456789-_.é日", max_size=7),
).filter(lambda k: not k.startswith("priv") and k not in {"ao-types", *_TX_FIELDS})
_leaves = st.one_of(
    st.text(max_size=30),
    st.integers(min_value=-(10**15) + 1, max_value=10**15 - 1),
    st.booleans(),
    st.none(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from(["", [], {}]),
)
_messages = st.recursive(
    st.dictionaries(_keys, _leaves, max_size=5),
    lambda children: st.dictionaries(_keys, st.one_of(_leaves, children), max_size=4),
    max_leaves=15,
)


@settings(max_examples=150, deadline=None)
@given(_messages)
def test_hypothesis_message_roundtrip(msg: dict[str, Any]) -> None:
    """Message -> TABM -> JSON -> TABM -> message."""
    assert match(msg, roundtrip(msg))


_json_values = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.floats(allow_nan=False, allow_infinity=False),
        st.text(),
    ),
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(st.text(), children, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=200, deadline=None)
@given(_json_values)
def test_hypothesis_json_values_roundtrip(value: Any) -> None:
    """encode_json then decode_json is the identity on JSON values, and the
    output is deterministic."""
    encoded = encode_json(value)
    assert decode_json(encoded) == value
    assert encode_json(decode_json(encoded)) == encoded

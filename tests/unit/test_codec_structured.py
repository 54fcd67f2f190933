"""The structured@1.0 codec (hyperbeam.codecs.structured) against upstream's
dev_codec_structured behaviour."""

from __future__ import annotations

from typing import Any

import pytest

from hyperbeam.codecs import structured
from hyperbeam.codecs.structured import (
    decode_value,
    encode_value,
    escape_key,
    from_message,
    to_message,
    unescape_key,
)
from hyperbeam.errors import CodecError
from hyperbeam.message.model import Atom


def test_list_encoding() -> None:
    """Upstream dev_codec_structured list_encoding_test: lists of integers,
    of binaries, and mixed, survive encode_value/decode_value."""
    for value in ([1, 2, 3], ["1", "2", "3"], [1, "2", 3]):
        kind, encoded = encode_value(value)
        assert kind == "list"
        assert decode_value("list", encoded) == value


def test_encode_value_formats() -> None:
    """The exact bytes of upstream encode_value/1 for each type."""
    assert encode_value(42) == ("integer", b"42")
    assert encode_value(-7) == ("integer", b"-7")
    # float_to_binary/1 is %.20e
    assert encode_value(1.5) == ("float", b"1.50000000000000000000e+00")
    assert encode_value(0.1) == ("float", b"1.00000000000000005551e-01")
    assert encode_value(True) == ("atom", b'"true"')
    assert encode_value(False) == ("atom", b'"false"')
    assert encode_value(None) == ("atom", b'"null"')
    assert encode_value(Atom("ok")) == ("atom", b'"ok"')
    assert encode_value([1, "a", 1.0, Atom("x"), [2], []]) == (
        "list",
        b'"(ao-type-integer) 1", "a", "(ao-type-float) 1.00000000000000000000e+00", '
        b'"(ao-type-atom) \\"x\\"", "(ao-type-list) \\"(ao-type-integer) 2\\"", '
        b'"(ao-type-list) "',
    )


def test_from_message_types_and_order() -> None:
    """ao-types lists the typed keys in sorted order; empty values carry only
    their type; binaries are kept as they are."""
    tabm = from_message(
        {
            "b": 1,
            "a": "text",
            "e-bin": "",
            "e-list": [],
            "e-msg": {},
            "f": 2.0,
            "t": True,
        }
    )
    assert tabm == {
        "ao-types": b'b="integer", e-bin="empty-binary", e-list="empty-list", '
        b'e-msg="empty-message", f="float", t="atom"',
        "a": b"text",
        "b": b"1",
        "f": b"2.00000000000000000000e+00",
        "t": b'"true"',
    }


def test_from_message_nested_and_lists_of_messages() -> None:
    """Nested messages become nested TABMs; a list whose first element is a
    message (or a list) becomes a numbered message typed ``list``."""
    tabm = from_message({"n": {"x": 1}, "l": [{"a": "1"}, {"a": "2"}], "ll": [[1], [2]]})
    assert tabm == {
        "ao-types": b'l="list", ll="list"',
        "l": {"1": {"a": b"1"}, "2": {"a": b"2"}},
        "ll": {
            "ao-types": b'1="list", 2="list"',
            "1": b'"(ao-type-integer) 1"',
            "2": b'"(ao-type-integer) 2"',
        },
        "n": {"ao-types": b'x="integer"', "x": b"1"},
    }


def test_from_message_drops_private_and_regenerated_keys() -> None:
    """hb_private:is_private/1 (every ``priv*`` key) and ?REGEN_KEYS."""
    tabm = from_message(
        {"k": "v", "priv": {"a": 1}, "private-x": "y", "unsigned_id": "z", "content-digest": "d"}
    )
    assert tabm == {"k": b"v"}
    # A message holding only `priv` counts as empty.
    assert from_message({"m": {"priv": {"a": 1}}}) == {"ao-types": b'm="empty-message"'}


def test_from_message_normalizes_keys() -> None:
    """Keys are lowercased unless they are ID-shaped (32, 42 or 43 bytes)."""
    long_key = "A" * 43
    tabm = from_message({"Key": "v", long_key: "id", 7: "seven", Atom("at"): "a"})
    assert tabm == {"key": b"v", long_key: b"id", "7": b"seven", "at": b"a"}


def test_ao_types_keys_are_percent_escaped() -> None:
    """hb_escape:encode/1 on the keys written into ao-types."""
    key = "A" * 43
    assert from_message({key: 1})["ao-types"] == b"%41" * 43 + b'="integer"'
    assert to_message(from_message({key: 1})) == {key: 1}


def test_escape_unescape_identity() -> None:
    """Upstream hb_escape escape_unescape_identity_test."""
    for text in ["hello", "hello, world!", "hello+list", "special@chars#here", "UPPERCASE", "é"]:
        assert unescape_key(escape_key(text).decode("ascii")) == text
    assert escape_key("a-b_c.d/e?f&g+h") == b"a-b_c.d/e?f&g+h"
    assert escape_key("A B") == b"%41%20%42"


def _round_trip(msg: dict[str, Any]) -> dict[str, Any]:
    return to_message(from_message(msg))


@pytest.mark.parametrize(
    "msg",
    [
        {"int": 1, "neg": -42, "big": 123456789012345},
        {"float": 1.5, "tiny": 1e-300, "neg": -2.25},
        {"atom": Atom("ok"), "t": True, "f": False, "n": None, "u": Atom("undefined-ish")},
        {"list": [1, "two", 3.0, Atom("x"), True, None, [1, [2]], [], ""]},
        {"nested": {"deeper": {"deepest": {"k": "v", "n": 1}}}},
        {"empty-bin": "", "empty-list": [], "empty-msg": {}},
        {"odd": b"\x00\xff\xfe\r\n", "text": "héllo wörld 🎉"},
        {"maps": [{"a": 1}, {"b": {"c": [1, 2]}}], "lists": [[1, 2], [3]]},
    ],
)
def test_round_trip(msg: dict[str, Any]) -> None:
    """message -> TABM -> message gives the original back."""
    assert _round_trip(msg) == msg


def test_default_keys_removed() -> None:
    """Upstream hb_message default_keys_removed_test: transaction fields that
    hold their default value disappear on the way back from a TABM."""
    tabm = from_message(
        {
            "unsigned_id": bytes(32),
            "last_tx": bytes(31) + b"\xff",
            "owner": bytes(512),
            "target": "",
            "data": "",
            "quantity": 0,
            "manifest": Atom("undefined"),
            "kept": 0,
        }
    )
    assert to_message(tabm) == {"last_tx": bytes(31) + b"\xff", "kept": 0}


def test_decode_value_errors() -> None:
    with pytest.raises(CodecError):
        decode_value("integer", b"1.5")
    with pytest.raises(CodecError):
        decode_value("float", b"1e5")
    with pytest.raises(CodecError):
        decode_value("nonsense", b"x")
    with pytest.raises(CodecError):
        decode_value("list", b'"unterminated')


def test_from_message_errors() -> None:
    """Values upstream cannot encode raise CodecError instead of crashing."""
    with pytest.raises(CodecError):
        from_message({"l": [1, {"a": 1}]})
    with pytest.raises(CodecError):
        from_message({"f": float("inf")})
    with pytest.raises(CodecError):
        from_message({"l": [object()]})


def test_from_message_functions_and_unknown_values() -> None:
    """Upstream renders functions as a binary (fun_to_list/1) and silently
    leaves out terms it cannot encode."""

    def handler() -> None:
        return None

    tabm = from_message({"f": handler, "o": object(), "k": "v"})
    assert tabm == {
        "f": b"#Fun<"
        + __name__.encode()
        + b".test_from_message_functions_and_unknown_values.<locals>.handler>",
        "k": b"v",
    }


def test_to_message_list_must_be_numbered() -> None:
    with pytest.raises(CodecError):
        to_message({"ao-types": b'l="list"', "l": {"1": b"a", "3": b"c"}})
    assert to_message({"ao-types": b'l="list"', "l": {"2": b"b", "1": b"a"}}) == {"l": ["a", "b"]}


def test_implicit_keys() -> None:
    """Upstream dev_codec_structured:implicit_keys/1."""
    tabm = from_message({"a": "", "b": [], "c": 1})
    assert structured.implicit_keys(tabm) == ["a", "b"]

"""The flat@1.0 codec (hyperbeam.codecs.flat) against upstream's
dev_codec_flat eunit tests and hb_message's codec suite (flat@1.0)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hyperbeam.codecs import flat
from hyperbeam.codecs.structured import from_message, to_message
from hyperbeam.errors import CodecError
from hyperbeam.message.id import unsigned_id
from hyperbeam.message.model import Atom
from tests.message_shapes import match, message_shapes


def roundtrip(msg: dict[str, Any]) -> Any:
    """hb_message:convert to flat@1.0 and back to structured@1.0."""
    return to_message(flat.from_flat(flat.to_flat(from_message(msg))))


# --- dev_codec_flat eunit tests -----------------------------------------------------


def test_simple_conversion() -> None:
    """dev_codec_flat simple_conversion_test."""
    flat_map = {("a",): "value"}
    nested = {"a": "value"}
    assert match(nested, flat.from_flat(flat_map))
    assert match({"a": "value"}, flat.to_flat(nested))


def test_nested_conversion() -> None:
    """dev_codec_flat nested_conversion_test."""
    flat_map = {"a/b": "value"}
    nested = {"a": {"b": "value"}}
    assert match(nested, flat.from_flat(flat_map))
    assert match(flat_map, flat.to_flat(nested))


def test_multiple_paths() -> None:
    """dev_codec_flat multiple_paths_test."""
    flat_map = {"x/y": "1", "x/z": "2", "a": "3"}
    nested = {"x": {"y": "1", "z": "2"}, "a": "3"}
    assert match(nested, flat.from_flat(flat_map))
    assert match(flat_map, flat.to_flat(nested))


def test_path_list() -> None:
    """dev_codec_flat path_list_test: no flattened key holds a line break."""
    nested = {"x": {"y/z": {"a": "2"}, "a": "2"}}
    flattened = flat.to_flat(nested)
    assert flattened == {"x/y/z/a": "2", "x/a": "2"}
    assert all("\n" not in key for key in flattened)


def test_binary_passthrough() -> None:
    """dev_codec_flat binary_passthrough_test."""
    binary = b"raw: binary"
    assert flat.from_flat(binary) == {"raw": "binary"}
    assert flat.to_flat(binary) == binary


def test_deep_nesting() -> None:
    """dev_codec_flat deep_nesting_test."""
    flat_map = {"a/b/c/d": "deep"}
    nested = {"a": {"b": {"c": {"d": "deep"}}}}
    assert match(nested, flat.from_flat(flat_map))
    assert match(flat_map, flat.to_flat(nested))


def test_empty_map() -> None:
    """dev_codec_flat empty_map_test."""
    assert flat.from_flat({}) == {}
    assert flat.to_flat({}) == {}


# --- upstream behaviour details -------------------------------------------------------


def test_path_parts_follow_term_to_path_parts() -> None:
    """hb_path:term_to_path_parts/1: split on "/", empty parts dropped, no
    lower-casing; lists are flattened."""
    assert flat.path_parts("/a//B/") == ["a", "B"]
    assert flat.path_parts(b"x/y") == ["x", "y"]
    assert flat.path_parts(["a", ["b/c"], 3, Atom("d")]) == ["a", "b", "c", "3", "d"]
    for bad in ("", "/", "//", [], 1.5):
        with pytest.raises(CodecError):
            flat.path_parts(bad)


def test_collisions() -> None:
    """dev_codec_flat inject_at_path/3: a binary and a path through it collide;
    two messages at one place merge."""
    with pytest.raises(CodecError, match=r"collides|runs through"):
        flat.from_flat({"a": "x", "a/b": "y"})
    with pytest.raises(CodecError):
        flat.from_flat({"a": "x", ("a",): "y"})
    merged = flat.from_flat({"a": {"x": "1"}, "a/y": "2"})
    assert merged == {"a": {"x": "1", "y": "2"}}


def test_from_flat_does_not_change_its_input() -> None:
    source = {"a": {"b": {"c": "1"}}, "a/b/d": "2"}
    result = flat.from_flat(source)
    assert result == {"a": {"b": {"c": "1", "d": "2"}}}
    assert source == {"a": {"b": {"c": "1"}}, "a/b/d": "2"}


def test_to_flat_rules() -> None:
    """dev_codec_flat:to/1: empty messages vanish, keys are re-joined by
    hb_path:to_binary/1, and only binaries and messages are accepted."""
    assert flat.to_flat({"a": {}, "b": "1"}) == {"b": "1"}
    assert flat.to_flat({"/a/": {"b//c": "1"}}) == {"a/b/c": "1"}
    with pytest.raises(CodecError):
        flat.to_flat({"a": 1})
    with pytest.raises(CodecError):
        flat.to_flat(5)


def test_serialize_and_deserialize() -> None:
    """dev_codec_flat:serialize/1 and deserialize/1: sorted "path: value" lines."""
    msg = {"b": "2", "a": {"x": "1", "n": 5}}
    text = flat.serialize(msg)
    assert text == b'a/ao-types: n="integer"\na/n: 5\na/x: 1\nb: 2\n'
    assert flat.deserialize(text) == msg
    assert flat.deserialize(text.decode()) == msg


def test_deserialize_skips_lines_that_are_not_pairs() -> None:
    """dev_codec_flat:deserialize/1 keeps only lines that split into exactly
    two parts at ": "; a later line wins."""
    text = b"a: 1\nno separator\nb: x: y\n\nc: 3\nc: 4\n"
    assert flat.deserialize(text) == {"a": "1", "c": "4"}


def test_serialize_loses_values_with_separators() -> None:
    """Upstream's text form cannot carry ": " or line breaks in values."""
    assert flat.deserialize(flat.serialize({"k": "a: b", "n": "x"})) == {"n": "x"}


# --- hb_message codec suite (flat@1.0) ---------------------------------------------------


SUITE: dict[str, Any] = message_shapes()


@pytest.mark.parametrize("name", list(SUITE))
def test_message_suite_roundtrip(name: str) -> None:
    """hb_message message_suite_test_ (flat@1.0), the unsigned conversions."""
    msg = SUITE[name]
    decoded = roundtrip(msg)
    assert match(msg, decoded)
    assert unsigned_id(decoded) == unsigned_id(msg)


# structured@1.0 drops keys holding a transaction field's default value
# (hb_message:filter_default_keys/1), so those names are left out.
_TX_FIELDS = {"id", "unsigned_id", "last_tx", "owner", "target", "data", "signature", "tags"}
_TX_FIELDS |= {"data_root", "data_tree", "quantity", "reward", "format", "manifest"}
_keys = st.text("abcdefghijklmnopqrstuvwxyz0123456789-_", min_size=1, max_size=8).filter(
    lambda k: not k.startswith("priv") and k not in {"ao-types", "content-digest", *_TX_FIELDS}
)
_leaves = st.one_of(
    st.text(max_size=20).filter(lambda t: "\n" not in t and ": " not in t),
    st.integers(min_value=-(10**15) + 1, max_value=10**15 - 1),
    st.booleans(),
    st.sampled_from(["", [], {}]),
)
_messages = st.recursive(
    st.dictionaries(_keys, _leaves, max_size=5),
    lambda children: st.dictionaries(_keys, st.one_of(_leaves, children), max_size=4),
    max_leaves=15,
)


@settings(max_examples=150, deadline=None)
@given(_messages)
def test_hypothesis_roundtrips(msg: dict[str, Any]) -> None:
    """Message -> flat map -> message, and message -> text -> message."""
    assert match(msg, roundtrip(msg))
    assert match(msg, flat.deserialize(flat.serialize(msg)))

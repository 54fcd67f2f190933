"""HyperPATH parsing (hyperbeam.ao.singleton), ported from upstream hb_singleton.

Every eunit test of upstream's hb_singleton.erl has a twin here, named in its
docstring; the tests after them cover the rest of the grammar and the errors.
"""

from __future__ import annotations

import contextlib
import os
import re
import string
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hyperbeam.ao import singleton
from hyperbeam.ao.path import As, Subresolve
from hyperbeam.ao.singleton import MAX_NESTING_DEPTH, MAX_SEGMENT_LENGTH, from_request, to
from hyperbeam.errors import CodecError, PathError
from hyperbeam.message.ids import b64url_encode
from hyperbeam.message.model import Atom

NOT_FOUND = object()


def random_id() -> str:
    return b64url_encode(os.urandom(32))


def xyz_subresolve() -> Subresolve:
    return Subresolve([{}, {"path": "x"}, {"path": "y"}, {"path": "z"}])


# --- ported upstream tests ------------------------------------------------------


def test_parse_explicit_message() -> None:
    """Upstream: hb_singleton:parse_explicit_message_test."""
    assert from_request({"path": "/a", "a": "b"}) == [{"a": "b"}, {"path": "a", "a": "b"}]
    dummy_id = random_id()
    assert from_request({"path": f"/{dummy_id}/a"}) == [dummy_id, {"path": "a"}]
    assert from_request({"path": f"/{dummy_id}/a", "a": "b"}) == [
        dummy_id,
        {"path": "a", "a": "b"},
    ]


def test_simple_to() -> None:
    """Upstream: hb_singleton:simple_to_test (in to_suite_test_)."""
    messages = [{"test-key": "test-value"}, {"path": "a", "test-key": "test-value"}]
    assert to(messages) == {"path": "/a", "test-key": "test-value"}
    assert from_request(to(messages)) == messages


def test_multiple_messages_to() -> None:
    """Upstream: hb_singleton:multiple_messages_to_test (in to_suite_test_)."""
    messages = [
        {"test-key": "test-value"},
        {"path": "a", "test-key": "test-value"},
        {"path": "b", "test-key": "test-value"},
        {"path": "c", "test-key": "test-value"},
    ]
    assert to(messages) == {"path": "/a/b/c", "test-key": "test-value"}
    assert from_request(to(messages)) == messages


def test_basic_hashpath_to() -> None:
    """Upstream: hb_singleton:basic_hashpath_to_test (in to_suite_test_)."""
    messages = [
        "e5ohB7TgMYRoc0BLllkmAqkqLy1SrliEkOPJlNPXBQ8",
        {"method": "GET", "path": "some-other"},
    ]
    assert to(messages) == {
        "path": "/e5ohB7TgMYRoc0BLllkmAqkqLy1SrliEkOPJlNPXBQ8/some-other",
        "method": "GET",
    }
    assert from_request(to(messages)) == messages


def test_scoped_key_to() -> None:
    """Upstream: hb_singleton:scoped_key_to_test (in to_suite_test_)."""
    messages = [
        {},
        {"path": "a"},
        {"path": "b", "test-key": "test-value"},
        {"path": "c"},
    ]
    assert to(messages) == {"2.test-key": "test-value", "path": "/a/b/c"}
    assert from_request(to(messages)) == messages


def test_typed_key_to() -> None:
    """Upstream: hb_singleton:typed_key_to_test (in to_suite_test_)."""
    messages = [{}, {"path": "a"}, {"path": "b", "test-key": 123}, {"path": "c"}]
    assert to(messages) == {"2.test-key+integer": "123", "path": "/a/b/c"}
    assert from_request(to(messages)) == messages


def test_subpath_in_key_to() -> None:
    """Upstream: hb_singleton:subpath_in_key_to_test (in to_suite_test_)."""
    messages = [
        {},
        {"path": "a"},
        {"path": "b", "test-key": xyz_subresolve()},
        {"path": "c"},
    ]
    assert to(messages) == {"2.test-key+resolve": "/x/y/z", "path": "/a/b/c"}
    assert from_request(to(messages)) == messages


def test_subpath_in_path_to() -> None:
    """Upstream: hb_singleton:subpath_in_path_to_test (in to_suite_test_)."""
    messages = [{}, {"path": "a"}, xyz_subresolve(), {"path": "z"}]
    assert to(messages) == {"path": "/a/(x/y/z)/z"}
    assert from_request(to(messages)) == messages


def test_inlined_keys_to() -> None:
    """Upstream: hb_singleton:inlined_keys_to_test (in to_suite_test_).

    As upstream notes, ``to`` does not give back the original inline form, but
    ``from_request(to(...))`` is the identity on these messages.
    """
    messages = [
        {"method": "POST"},
        {"method": "POST", "path": "a"},
        {"k1": "v1", "method": "POST", "path": "b"},
        {"k2": "v2", "method": "POST", "path": "c"},
    ]
    assert from_request(to(messages)) == messages


def test_multiple_inlined_keys_to() -> None:
    """Upstream: hb_singleton:multiple_inlined_keys_to_test (in to_suite_test_)."""
    messages = [
        {"method": "POST"},
        {"method": "POST", "path": "a"},
        {"k1": "v1", "k2": "v2", "method": "POST", "path": "b"},
    ]
    assert from_request(to(messages)) == messages


def test_subpath_in_inlined_to() -> None:
    """Upstream: hb_singleton:subpath_in_inlined_to_test (in to_suite_test_)."""
    messages = [
        {},
        {"path": "part1"},
        {
            "b": Subresolve([{}, {"path": "x"}, {"path": "y"}]),
            "path": "part2",
            "test": "1",
        },
        {"path": "part3"},
    ]
    assert from_request(to(messages)) == messages


def test_single_message() -> None:
    """Upstream: hb_singleton:single_message_test."""
    msgs = from_request({"path": "/a", "test-key": "test-value"})
    assert len(msgs) == 2
    assert isinstance(msgs[0], dict)
    assert msgs[0]["test-key"] == "test-value"


def test_basic_hashpath() -> None:
    """Upstream: hb_singleton:basic_hashpath_test."""
    hashpath = random_id()
    msgs = from_request({"path": f"/{hashpath}/some-other", "method": "GET"})
    assert len(msgs) == 2
    base, msg2 = msgs
    assert base == hashpath
    assert msg2["method"] == "GET"
    assert msg2["path"] == "some-other"


def test_multiple_messages() -> None:
    """Upstream: hb_singleton:multiple_messages_test."""
    msgs = from_request({"path": "/a/b/c", "test-key": "test-value"})
    assert len(msgs) == 4
    _base, msg1, msg2, msg3 = msgs
    assert all(isinstance(m, dict) for m in msgs)
    assert msg1["test-key"] == "test-value"
    assert msg2["test-key"] == "test-value"
    assert msg3["test-key"] == "test-value"


def test_scoped_key() -> None:
    """Upstream: hb_singleton:scoped_key_test."""
    msgs = from_request({"path": "/a/b/c", "2.test-key": "test-value"})
    assert len(msgs) == 4
    _, msg1, msg2, msg3 = msgs
    assert msg1.get("test-key", NOT_FOUND) is NOT_FOUND
    assert msg2.get("test-key", NOT_FOUND) == "test-value"
    assert msg3.get("test-key", NOT_FOUND) is NOT_FOUND


def test_typed_key() -> None:
    """Upstream: hb_singleton:typed_key_test."""
    msgs = from_request({"path": "/a/b/c", "2.test-key+integer": "123"})
    assert len(msgs) == 4
    _, msg1, msg2, msg3 = msgs
    assert msg1.get("test-key", NOT_FOUND) is NOT_FOUND
    assert msg2.get("test-key", NOT_FOUND) == 123
    assert msg3.get("test-key", NOT_FOUND) is NOT_FOUND


def test_subpath_in_key() -> None:
    """Upstream: hb_singleton:subpath_in_key_test."""
    msgs = from_request({"path": "/a/b/c", "2.test-key+resolve": "/x/y/z"})
    assert len(msgs) == 4
    _, msg1, msg2, msg3 = msgs
    assert msg1.get("test-key", NOT_FOUND) is NOT_FOUND
    assert msg2.get("test-key", NOT_FOUND) == xyz_subresolve()
    assert msg3.get("test-key", NOT_FOUND) is NOT_FOUND


def test_subpath_in_path() -> None:
    """Upstream: hb_singleton:subpath_in_path_test."""
    msgs = from_request({"path": "/a/(x/y/z)/z"})
    assert len(msgs) == 4
    _, msg1, msg2, msg3 = msgs
    assert msg1["path"] == "a"
    assert msg2 == xyz_subresolve()
    assert msg3["path"] == "z"


def test_inlined_keys() -> None:
    """Upstream: hb_singleton:inlined_keys_test."""
    msgs = from_request({"method": "POST", "path": "/a/b&k1=v1/c&k2=v2"})
    assert len(msgs) == 4
    _, msg1, msg2, msg3 = msgs
    assert msg2["k1"] == "v1"
    assert msg3["k2"] == "v2"
    assert msg1.get("k1", NOT_FOUND) is NOT_FOUND
    assert msg2.get("k2", NOT_FOUND) is NOT_FOUND


def test_multiple_inlined_keys() -> None:
    """Upstream: hb_singleton:multiple_inlined_keys_test."""
    msgs = from_request({"method": "POST", "path": "/a/b&k1=v1&k2=v2"})
    assert len(msgs) == 3
    _, msg1, msg2 = msgs
    assert msg1.get("k1", NOT_FOUND) is NOT_FOUND
    assert msg1.get("k2", NOT_FOUND) is NOT_FOUND
    assert msg2.get("k1", NOT_FOUND) == "v1"
    assert msg2.get("k2", NOT_FOUND) == "v2"


def test_subpath_in_inlined() -> None:
    """Upstream: hb_singleton:subpath_in_inlined_test."""
    msgs = from_request({"path": "/part1/part2&test=1&b=(/x/y)/part3"})
    assert len(msgs) == 4
    _, first, second, third = msgs
    assert first["path"] == "part1"
    assert third["path"] == "part3"
    assert second["b"] == Subresolve([{}, {"path": "x"}, {"path": "y"}])


def test_path_parts() -> None:
    """Upstream: hb_singleton:path_parts_test (exercises the private splitter)."""
    parts = singleton._path_parts
    assert parts("/", "/a/b&c=(/d/e)/f") == ["a", "b&c=(/d/e)", "f"]
    assert parts("/", "/a") == ["a"]
    assert parts("/", "/a/b/c") == ["a", "b", "c"]
    assert parts("/", "/IYkkrqlZNW_J-4T-5eFApZOMRl5P4VjvrcOXWvIqB1Q/msg2") == [
        "IYkkrqlZNW_J-4T-5eFApZOMRl5P4VjvrcOXWvIqB1Q",
        "msg2",
    ]
    assert parts("/", "/a/b&K1=V1/c&K2=V2") == ["a", "b&K1=V1", "c&K2=V2"]
    assert parts("/", "/a/(x/y/z)/c") == ["a", "(x/y/z)", "c"]


# --- the rest of the grammar ------------------------------------------------------


def test_bare_path_and_empty_path() -> None:
    assert from_request("/a/b") == [{}, {"path": "a"}, {"path": "b"}]
    assert from_request(b"/a") == [{}, {"path": "a"}]
    assert from_request({}) == []
    assert from_request({"path": "/"}) == []
    assert from_request({"path": "//a//b/"}) == [{}, {"path": "a"}, {"path": "b"}]


def test_device_as_base() -> None:
    assert from_request({"path": "/~meta@1.0/info", "method": "GET"}) == [
        As("meta@1.0", {"path": "", "method": "GET"}),
        {"path": "info", "method": "GET"},
    ]


def test_device_on_a_key_takes_no_global_keys() -> None:
    pid = random_id()
    msgs = from_request({"path": f"/{pid}~process@1.0/now&x=1", "h": "v"})
    assert msgs == [As("process@1.0", {"path": pid}), {"path": "now", "x": "1", "h": "v"}]
    assert from_request("/a~dev@1.0&k=v") == [As("dev@1.0", {"path": "a", "k": "v"})]


def test_device_as_subpath() -> None:
    # `As.device` is typed `str`, but a `~(subpath)` device is a Subresolve.
    device: Any = Subresolve([{}, {"path": "x"}, {"path": "y"}])
    assert from_request("/a~(/x/y)/b") == [As(device, {"path": "a"}), {"path": "b"}]


def test_upstream_doc_example() -> None:
    path = (
        '/~message@1.0&name="Alice"&age+integer=30&items+list="apple",1,"banana"'
        '&config+map=key1="val1";key2=true/items'
    )
    base, step = from_request(path)
    assert base == As(
        "message@1.0",
        {
            "path": "",
            # Untyped values are taken verbatim, quotes and all.
            "name": '"Alice"',
            "age": 30,
            "items": ["apple", 1, "banana"],
            # `;key2=true` is a parameter of key1's item, so it is dropped.
            "config": {"key1": "val1"},
        },
    )
    assert step == {"path": "items"}


@pytest.mark.parametrize(
    ("inline", "expected"),
    [
        ("k+integer=42", 42),
        ("k+integer=-7", -7),
        ("k+Integer=1;p=2", 1),
        ("k+float=1.5", 1.5),
        ("k+float=-2.25e3", -2250.0),
        ("k+atom=ok", Atom("ok")),
        ('k+atom="some-atom"', Atom("some-atom")),
        ("k+atom=true", True),
        ("k+atom=false", False),
        ("k+atom=undefined", Atom("undefined")),
        ("k+list=1,2,3", [1, 2, 3]),
        ('k+list="a", b, %3F1, 1.5, :aGk=:', ["a", Atom("b"), True, 1.5, b"hi"]),
        ('k+list="(ao-type-integer) 5","(ao-type-atom) \\"x\\""', [5, Atom("x")]),
        ("k+list=", []),
        ('k+map=a=1,b="two",c', {"a": 1, "b": "two", "c": True}),
        ("k+binary=anything+goes", "anything+goes"),
        ("k=plain", "plain"),
        ("k", True),
        ("k+integer", True),  # a bare flag is never cast, as upstream
        ("k=a=b", "a=b"),
    ],
)
def test_inline_casts(inline: str, expected: Any) -> None:
    msgs = from_request(f"/a&{inline}")
    key = "k+integer" if inline == "k+integer" else "k"
    assert msgs[1][key] == expected
    assert type(msgs[1][key]) is type(expected)


def test_resolve_cast_on_inline_subpath() -> None:
    # Upstream crashes on `k+resolve=(...)`; here it is the same Subresolve as `k=(...)`.
    assert from_request("/a&k+resolve=(/x/y/z)")[1]["k"] == xyz_subresolve()
    assert from_request("/a&k=(x/y/z)")[1]["k"] == xyz_subresolve()


def test_query_parameters() -> None:
    msgs = from_request({"path": "/a/b?x=1&1.y+integer=2&flag", "h": "header"})
    assert msgs == [
        {"x": "1", "flag": True, "h": "header"},
        {"path": "a", "x": "1", "y": 2, "flag": True, "h": "header"},
        {"path": "b", "x": "1", "flag": True, "h": "header"},
    ]


def test_query_overrides_headers_and_scoped_overrides_inline() -> None:
    msgs = from_request({"path": "/a&k=inline?k=query", "k": "header"})
    assert msgs == [{"k": "query"}, {"path": "a", "k": "query"}]
    msgs = from_request({"path": "/a&k=inline/b", "1.k": "scoped", "k": "global"})
    assert msgs == [{"k": "global"}, {"path": "a", "k": "scoped"}, {"path": "b", "k": "global"}]


def test_query_keys_and_values_are_percent_decoded() -> None:
    """Deviation: upstream leaves the query encoded (``?target=data%2Fx`` named
    nothing). ``+`` stays a type marker."""
    step = from_request("/a?k=x%20y&t=data%2Fabc&n+integer=4&f%6Cag")[1]
    assert step["k"] == "x y"
    assert step["t"] == "data/abc"
    assert step["n"] == 4
    assert step["flag"] is True
    with pytest.raises(PathError):
        from_request("/a?k=%zz")


def test_scope_zero_is_the_base() -> None:
    msgs = from_request({"path": "/a", "0.k": "v"})
    assert msgs == [{"k": "v"}, {"path": "a"}]


def test_scopes_beyond_the_path_are_ignored() -> None:
    assert from_request({"path": "/a", "5.k": "v"}) == [{}, {"path": "a"}]


def test_keys_with_two_dots_are_global() -> None:
    assert from_request({"path": "/a", "x.y.z": "v"})[1]["x.y.z"] == "v"


def test_header_keys_are_lowercased() -> None:
    assert from_request({"path": "/a", "Test-Key": "v"}) == [
        {"test-key": "v"},
        {"path": "a", "test-key": "v"},
    ]


def test_percent_decoding_of_path_segments() -> None:
    assert from_request("/a%20b")[1] == {"path": "a b"}
    assert from_request("/caf%C3%A9")[1] == {"path": "café"}
    # Segments are decoded twice, as upstream: an encoded '/' splits the segment.
    assert from_request("/a%2Fb") == [{}, {"path": "a"}, {"path": "b"}]
    assert from_request("/a%2525")[1] == {"path": "a%"}


def test_id_in_later_position_stays_an_id() -> None:
    pid = random_id()
    assert from_request(f"/a/{pid}") == [{}, {"path": "a"}, pid]


def test_subresolution_as_base() -> None:
    assert from_request("/(x/y)/z") == [
        Subresolve([{}, {"path": "x"}, {"path": "y"}]),
        {"path": "z"},
    ]


def test_nested_subpaths() -> None:
    assert from_request("/((a))") == [Subresolve([Subresolve([{}, {"path": "a"}])])]


def test_private_and_regenerated_keys_are_dropped() -> None:
    msgs = from_request(
        {"path": "/a&private=1", "priv-x": "1", "content-digest": "d", "unsigned_id": "u"}
    )
    assert msgs == [{}, {"path": "a"}]
    priv = {"secret": 1}
    assert from_request({"path": "/a", "priv": priv}) == [
        {"priv": priv},
        {"path": "a", "priv": priv},
    ]


def test_tx_default_values_are_dropped() -> None:
    msgs = from_request("/a&data=&target=&quantity+integer=0&reward+integer=1&tags+list=")
    assert msgs[1] == {"path": "a", "reward": 1}


def test_ao_types_header_types_values() -> None:
    msgs = from_request(
        {"path": "/a", "ao-types": 'n="integer", e="empty-list", l="list"', "n": "5", "l": "1,2"}
    )
    assert msgs[1] == {"path": "a", "n": 5, "e": [], "l": [1, 2]}
    assert "ao-types" not in msgs[0]


def test_nested_header_messages_are_normalized() -> None:
    msgs = from_request({"path": "/a", "body": {"X": "1", "priv-y": "2", "sub": {}}})
    assert msgs[1]["body"] == {"x": "1", "sub": {}}


def test_to_with_native_id_and_unscoped_duplicates() -> None:
    raw = bytes(range(32))
    out = to([raw, {"path": "a", "k": 1}, {"path": "b", "k": 2}])
    assert out == {"path": f"/{b64url_encode(raw)}/a/b", "k": 2}


def test_query_path_overrides_every_part_path() -> None:
    # Upstream quirk: a `path` query parameter is a global key like any other.
    assert from_request("/a/b?path=x") == [{"path": "x"}, {"path": "x"}, {"path": "x"}]


def test_ids_are_recognised_by_length_only() -> None:
    # As upstream's ?IS_ID: any 43 (or 42) character part is an ID.
    odd_key = "this-key-is-forty-three-characters-long-abc"
    assert len(odd_key) == 43
    assert from_request(f"/{odd_key}/b") == [odd_key, {"path": "b"}]
    # 32-character text is not an ID here (upstream treats 32 bytes as a native ID).
    assert from_request("/" + "k" * 32) == [{}, {"path": "k" * 32}]


def test_structured_field_parser() -> None:
    from hyperbeam.codecs import sf as _sf

    assert _sf.parse_item("1.250;a;b=?0") == _sf.Item(
        _sf.Bare("decimal", 1.25),
        (("a", _sf.Bare("boolean", True)), ("b", _sf.Bare("boolean", False))),
    )
    assert _sf.parse_item("tok/en:x") == _sf.Item(_sf.Bare("token", "tok/en:x"))
    assert _sf.parse_list("(1 2);p, 3") == [
        _sf.InnerList(
            (_sf.Item(_sf.Bare("integer", 1)), _sf.Item(_sf.Bare("integer", 2))),
            (("p", _sf.Bare("boolean", True)),),
        ),
        _sf.Item(_sf.Bare("integer", 3)),
    ]
    assert _sf.parse_dictionary("a=1, b, a=2") == [
        ("a", _sf.Item(_sf.Bare("integer", 2))),
        ("b", _sf.Item(_sf.Bare("boolean", True))),
    ]
    for bad in ["", "1.", "1.2345", "1234567890123.1", "?2", ":a:", '"x', "a b", "1;A=1"]:
        with pytest.raises(_sf.StructuredFieldError):
            _sf.parse_item(bad)
    for bad in ["1,", "(1 2", "(1,2)", "1 2"]:
        with pytest.raises(_sf.StructuredFieldError):
            _sf.parse_list(bad)
    for bad in ["=1", "a=1,", "a=1 b=2", "a=(1"]:
        with pytest.raises(_sf.StructuredFieldError):
            _sf.parse_dictionary(bad)


# --- errors -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("request_msg", "reason"),
    [
        ("/a/(b/c", "unbalanced '('"),
        ("/a)/b", "unbalanced ')'"),
        ("/a&k=(x", "unbalanced '('"),
        ("/a?k=(x", "unbalanced '('"),
        ("/a&k+integer=abc", "not an integer"),
        ("/a&k+integer=12x", "cannot cast"),
        ("/a&k+integer=", "cannot cast"),
        ("/a&k+integer=(/x)", "cannot cast a subpath"),
        ("/a&k+float=1", "not a float"),
        ("/a&k+float=1.0e999", "out of range"),
        ("/a&k+atom=1", "not an atom"),
        ("/a&k+list=(1 2)", "cannot cast a subpath"),
        ("/a&k+list=1,", "cannot cast"),
        ("/a&k+list=1,%20(2%203)", "inner lists"),
        ("/a&k+map=a=(1)", "inner lists"),
        ("/a&k+map=a=(1", "unbalanced '('"),
        ("/a&k+map=a b", "cannot cast"),
        ("/a&k+nosuchtype=1", "unknown type"),
        ("/a&k+Resolve=/x", "unknown type"),
        ("/a+b", "'+' must follow a key"),
        ("/a~", "empty device"),
        ("/a%zz", "bad percent-encoding"),
        ("/a%2", "bad percent-encoding"),
        ({"path": "/a", "x.k": "v"}, "invalid scope"),
        ({"path": "/a", "-2.k": "v"}, "negative index"),
        ({"path": "/a", "k+integer": 5}, "must be text"),
        ({"path": "/a", "k+resolve": 5}, "must be text"),
        ({"path": ["a", "b"]}, "path must be text"),
        ({"path": "/a", 1: "v"}, "keys must be text"),
        ({"path": "/a", "ao-types": "k=1"}, "bad type for 'k' in ao-types"),
        ({"path": "/a", "ao-types": 'k="integer"', "k": "x"}, "not an integer"),
    ],
)
def test_malformed_requests_raise_path_error(request_msg: Any, reason: str) -> None:
    with pytest.raises(PathError, match=re.escape(reason)) as info:
        from_request(request_msg)
    assert isinstance(info.value, CodecError)
    assert info.value.status == 400


def test_non_message_request_raises_path_error() -> None:
    with pytest.raises(PathError):
        from_request(42)  # type: ignore[arg-type]


def test_segment_length_limit() -> None:
    longest = "a" * MAX_SEGMENT_LENGTH
    assert from_request(f"/{longest}")[1] == {"path": longest}
    with pytest.raises(PathError, match="longer than 512 bytes"):
        from_request(f"/{longest}a")
    # The limit counts bytes, not characters.
    with pytest.raises(PathError, match="longer than"):
        from_request("/" + "é" * (MAX_SEGMENT_LENGTH // 2 + 1))
    with pytest.raises(PathError, match="longer than"):
        from_request(f"/a?k={longest}")
    with pytest.raises(PathError, match="longer than"):
        from_request({"path": "/a", "k+resolve": f"/{longest}b"})


def test_huge_path_made_of_short_segments_parses() -> None:
    msgs = from_request("/a" * 10_000)
    assert len(msgs) == 10_001


def test_nesting_depth_limit() -> None:
    def nested(levels: int) -> str:
        # "(/" keeps every level's text off the 42/43 characters of an ID.
        return "/" + "(/" * levels + "ab" + ")" * levels

    assert len(from_request(nested(MAX_NESTING_DEPTH))) == 1
    with pytest.raises(PathError, match="nested deeper"):
        from_request(nested(MAX_NESTING_DEPTH + 1))
    with pytest.raises(PathError, match="longer than"):
        from_request(nested(400))


def test_to_rejects_what_it_cannot_express() -> None:
    with pytest.raises(PathError):
        to([{}, As("dev@1.0", {"path": "a"})])
    with pytest.raises(PathError):
        to([{}, {"path": ["a", "b"]}])
    with pytest.raises(PathError):
        to([{}, Subresolve([{}])])


# --- properties ---------------------------------------------------------------------

GRAMMAR_TEXT = st.lists(
    st.sampled_from([*'ab1/&~+=()?.%,;" -:é', "%2F", "%28", "+integer", "+list", "2."]),
    max_size=40,
).map("".join)


@settings(max_examples=400, deadline=None)
@given(GRAMMAR_TEXT)
def test_any_path_parses_or_raises_path_error(path: str) -> None:
    try:
        result = from_request(path)
    except PathError:
        return
    assert isinstance(result, list)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=80))
def test_any_unicode_path_parses_or_raises_path_error(path: str) -> None:
    with contextlib.suppress(PathError):
        from_request(path)


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(GRAMMAR_TEXT, GRAMMAR_TEXT | st.integers() | st.none(), max_size=4))
def test_any_headers_parse_or_raise_path_error(headers: dict[str, Any]) -> None:
    with contextlib.suppress(PathError):
        from_request({**headers, "path": "/a/b"})


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("()a/")), max_size=40))
def test_unbalanced_parentheses_raise(path: str) -> None:
    depth, balanced = 0, True
    for char in path:
        depth += {"(": 1, ")": -1}.get(char, 0)
        balanced = balanced and depth >= 0
    balanced = balanced and depth == 0
    if not balanced:
        with pytest.raises(PathError, match="unbalanced"):
            from_request(path)


KEYS = st.text(alphabet=string.ascii_lowercase + "-", min_size=1, max_size=8).map(lambda k: f"k{k}")
VALUES = st.text(alphabet=string.ascii_letters + string.digits + "-_", min_size=1, max_size=10) | (
    st.integers(min_value=-(10**14), max_value=10**14)
)
PARTS = st.text(alphabet=string.ascii_lowercase + string.digits + "-", min_size=1, max_size=12)


@st.composite
def message_lists(draw: st.DrawFn) -> list[Any]:
    parts = draw(st.lists(PARTS, min_size=1, max_size=5))
    keys = draw(st.lists(KEYS, unique=True, max_size=len(parts) + 1))
    messages: list[dict[str, Any]] = [{}, *({"path": p} for p in parts)]
    for key in keys:
        index = draw(st.integers(min_value=0, max_value=len(parts)))
        messages[index][key] = draw(VALUES)
    return messages


@settings(max_examples=200, deadline=None)
@given(message_lists())
def test_to_then_from_is_identity(messages: list[Any]) -> None:
    assert from_request(to(messages)) == messages


def test_id_length_part_with_path_syntax_is_parsed_not_loaded() -> None:
    """Deviation from hb_singleton:parse_part/1, which takes any 42/43-byte part as an ID."""
    part = "~message@1.0&a=1&n+integer=2&priv-x=secret"
    assert len(part) == 42
    (only,) = from_request({"path": "/" + part})
    assert isinstance(only, As)
    assert only.device == "message@1.0"
    assert only.msg["n"] == 2
    plain_id = "a" * 43
    assert from_request({"path": "/" + plain_id + "/k"})[0] == plain_id


def test_integer_casts_beyond_fifteen_digits() -> None:
    """Upstream's structured-field parser stops at 15 digits; we read any integer."""
    (_, step) = from_request({"path": "/a&k+integer=1234567890123456789"})
    assert step["k"] == 1234567890123456789

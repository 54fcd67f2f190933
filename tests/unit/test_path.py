"""Request paths and hashpaths: the eunit tests of upstream hb_path.erl."""

from __future__ import annotations

from typing import Any

from hyperbeam.ao import path as hb_path
from hyperbeam.message.model import Message


def _id(msg: Message) -> str:
    """A message's ID, as the resolver computes it for hashpaths."""
    from hyperbeam.message.id import message_id

    found: str = message_id(msg)
    return found


def _hashpath(msg1: Message, msg2: Any) -> str:
    return hb_path.hashpath(msg1, msg2, _id)


def test_hashpath() -> None:
    """hb_path.erl: hashpath_test."""
    msg1 = {"priv": {"empty": "message"}}
    msg2 = {"priv": {"exciting": "message2"}}
    hashpath = _hashpath(msg1, msg2)
    assert isinstance(hashpath, str)
    assert len(hashpath) == 87


def test_hashpath_direct_msg2() -> None:
    """hb_path.erl: hashpath_direct_msg2_test."""
    msg1 = {"base": "message"}
    msg2 = {"path": "base"}
    hashpath = _hashpath(msg1, msg2)
    parts = hb_path.term_to_path_parts(hashpath)
    assert parts is not None and len(parts) == 2
    assert hb_path.matches(parts[1], "base")


def test_multiple_hashpaths() -> None:
    """hb_path.erl: multiple_hashpaths_test."""
    msg1 = {"empty": "message"}
    msg2 = {"exciting": "message2"}
    msg3 = {"priv": {"hashpath": _hashpath(msg1, msg2)}}
    msg4 = {"exciting": "message4"}
    msg5 = _hashpath(msg3, msg4)
    assert isinstance(msg5, str)


def test_verify_hashpath() -> None:
    """hb_path.erl: verify_hashpath_test."""
    msg1 = {"test": "initial"}
    msg2 = {"firstapplied": "msg2"}
    msg3 = {"priv": {"hashpath": _hashpath(msg1, msg2)}}
    msg4 = {"priv": {"hashpath": _hashpath(msg2, msg3)}}
    msg3_fake = {"priv": {"hashpath": _hashpath(msg4, msg2)}}
    assert hb_path.verify_hashpath([msg1, msg2, msg3, msg4], _id)
    assert not hb_path.verify_hashpath([msg1, msg2, msg3_fake, msg4], _id)


def _validate_path_transitions(request: Any) -> None:
    """hb_path.erl: validate_path_transitions/2."""
    popped = hb_path.pop_request(request)
    assert popped is not None
    head, request2 = popped
    assert head == "a"
    popped = hb_path.pop_request(request2)
    assert popped is not None
    head2, request3 = popped
    assert head2 == "b"
    popped = hb_path.pop_request(request3)
    assert popped is not None
    head3, request4 = popped
    assert head3 == "c"
    assert hb_path.pop_request(request4) is None


def test_pop_from_message() -> None:
    """hb_path.erl: pop_from_message_test."""
    _validate_path_transitions({"path": ["a", "b", "c"]})


def test_pop_from_path_list() -> None:
    """hb_path.erl: pop_from_path_list_test."""
    _validate_path_transitions(["a", "b", "c"])


def test_hd() -> None:
    """hb_path.erl: hd_test."""
    assert hb_path.hd({"path": ["a", "b", "c"]}) == "a"
    assert hb_path.hd({"path": None}) is None


def test_tl() -> None:
    """hb_path.erl: tl_test."""
    rest = hb_path.tl({"path": ["a", "b", "c"]})
    assert rest["path"] == ["b", "c"]
    assert hb_path.tl({"path": []}) is None
    assert hb_path.tl({"path": "a"}) is None
    assert hb_path.tl({"path": None}) is None
    assert hb_path.tl(["a", "b", "c"]) == ["b", "c"]
    assert hb_path.tl(["c"]) is None


def test_to_binary() -> None:
    """hb_path.erl: to_binary_test."""
    assert hb_path.to_binary(["a", "b", "c"]) == "a/b/c"
    assert hb_path.to_binary("a/b/c") == "a/b/c"
    assert hb_path.to_binary([b"a", "b", "c"]) == "a/b/c"
    assert hb_path.to_binary(["a", ["b", "//b"], "c"]) == "a/b/b/c"


def test_term_to_path_parts() -> None:
    """hb_path.erl: term_to_path_parts_test."""
    assert hb_path.matches(["a", "b", "c"], hb_path.term_to_path_parts("a/b/c"))
    assert hb_path.matches(["a", "b", "c"], hb_path.term_to_path_parts(["a", "b", "c"]))
    assert hb_path.matches(["a", "b", "c"], hb_path.term_to_path_parts([b"a", "b", "c"]))
    assert hb_path.matches(
        ["a", "b", "b", "c"], hb_path.term_to_path_parts([["/a", ["b", "//b"], "c"]])
    )
    assert hb_path.term_to_path_parts("/") == []


def test_regex_matches() -> None:
    """hb_path.erl: regex_matches_test."""
    assert hb_path.regex_matches("a/b/c", "a/.*/c")
    assert not hb_path.regex_matches("a/b/c", "a/.*/d")
    assert hb_path.regex_matches("a/abcd/c", "a/abc.*/c")
    assert not hb_path.regex_matches("a/bcd/c", "a/abc.*/c")
    assert hb_path.regex_matches("a/bcd/ignored/c", "a/.*/c")
    assert not hb_path.regex_matches("a/bcd/ignored/c", "a/.*/d")

"""Fuzzing the structured-field parser (``codecs/sf.py``, RFC 9651).

Every header the node reads as a structured field (``signature``,
``signature-input``, ``ao-types``, ``ao-ids``, ``content-type``, a part's
``content-disposition``) goes through these three functions first, on
bytes a client chose. Hostile text must parse or raise
:class:`~hyperbeam.codecs.sf.StructuredFieldError` (the one error the
module documents; its callers turn it into a ``CodecError``), in linear
time; whatever parses must serialize and parse back to the same value; and
generated values must round-trip. The seeds are the httpwg test suite's raw
fields (``tests/vectors/structured-field-tests``, valid and invalid ones).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from hyperbeam.codecs import sf
from tests.property.fuzz import TIMEOUT, fuzz, hostile, latin1, parse_or_refuse

pytestmark = TIMEOUT

SUITE = Path(__file__).resolve().parents[1] / "vectors" / "structured-field-tests"


def _suite_raws() -> list[bytes]:
    raws: set[bytes] = set()
    for path in sorted(SUITE.glob("*.json")):
        for case in json.loads(path.read_text()):
            for raw in case.get("raw", []):
                raws.add(raw.encode("latin-1", "replace"))
    return sorted(raws)


SEEDS = _suite_raws()
TOKENS = [b'"', b"\\", b"(", b")", b";", b"=", b",", b":", b"?1", b"*", b"-", b".", b" ", b"\t"]

PARSERS = {"item": sf.parse_item, "list": sf.parse_list, "dictionary": sf.parse_dictionary}


# --- generated values ---------------------------------------------------------------------

_keys = st.from_regex(r"\A[a-z][a-z0-9_.*-]{0,6}\Z")
_bares = st.one_of(
    st.integers(-(10**15) + 1, 10**15 - 1).map(lambda n: sf.Bare("integer", n)),
    st.integers(-(10**15) + 1, 10**15 - 1).map(lambda n: sf.Bare("decimal", n / 1000)),
    st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=20).map(
        lambda s: sf.Bare("string", s)
    ),
    st.from_regex(r"\A[A-Za-z*][!#$%&'*+\-.^_`|~0-9A-Za-z:/]{0,10}\Z").map(
        lambda s: sf.Bare("token", s)
    ),
    st.binary(max_size=20).map(lambda b: sf.Bare("binary", b)),
    st.booleans().map(lambda b: sf.Bare("boolean", b)),
)
_params = st.dictionaries(_keys, _bares, max_size=3).map(lambda d: tuple(d.items()))
_items = st.builds(sf.Item, _bares, _params)
_members: st.SearchStrategy[sf.Member] = st.one_of(
    _items, st.builds(sf.InnerList, st.lists(_items, max_size=3).map(tuple), _params)
)
_dicts = st.dictionaries(_keys, _members, max_size=4).map(lambda d: list(d.items()))

_serialized = st.one_of(
    _items.map(sf.serialize_item),
    st.lists(_members, max_size=4).map(sf.serialize_list),
    _dicts.map(sf.serialize_dictionary),
)
_seeds = st.one_of(st.sampled_from(SEEDS), _serialized)


def _serialize(kind: str, value: Any) -> bytes:
    if kind == "item":
        return sf.serialize_item(value)
    if kind == "list":
        return sf.serialize_list(value)
    return sf.serialize_dictionary(value)


# --- hostile input -----------------------------------------------------------------------


@fuzz(3)
@given(raw=hostile(_seeds, TOKENS), kind=st.sampled_from(sorted(PARSERS)))
def test_hostile_fields_parse_or_raise_structured_field_error(raw: bytes, kind: str) -> None:
    """Hostile field text (as bytes, read as Latin-1, and as text) parses or
    is refused with StructuredFieldError; what parses serializes and parses
    back to itself."""
    for text in (raw, latin1(raw)):
        parsed = parse_or_refuse(lambda text=text: PARSERS[kind](text), (sf.StructuredFieldError,))
        if isinstance(parsed, BaseException):
            continue
        again = _serialize(kind, parsed)
        assert PARSERS[kind](again) == parsed


@fuzz(1)
@given(text=st.text(max_size=200), kind=st.sampled_from(sorted(PARSERS)))
def test_any_unicode_text_parses_or_raises(text: str, kind: str) -> None:
    """Text with any code point (surrogates too), as a caller holding a str may pass it."""
    parse_or_refuse(lambda: PARSERS[kind](text), (sf.StructuredFieldError,))


# --- round trips -------------------------------------------------------------------------


@fuzz(1)
@given(item=_items)
def test_items_round_trip(item: sf.Item) -> None:
    assert sf.parse_item(sf.serialize_item(item)) == item


@fuzz(1)
@given(members=st.lists(_members, max_size=5))
def test_lists_round_trip(members: list[sf.Member]) -> None:
    assert sf.parse_list(sf.serialize_list(members)) == members


@fuzz(1)
@given(members=_dicts)
def test_dictionaries_round_trip(members: list[tuple[str, sf.Member]]) -> None:
    assert sf.parse_dictionary(sf.serialize_dictionary(members)) == members

"""Fuzzing the ``flat@1.0`` codec (``codecs/flat.py``): its text form
(``path: value`` lines, a reply body and a request body a client may send)
and flat maps of paths (``from_flat``).

Seeds are our serializer's output for generated messages (nested
messages, typed values, so ``ao-types`` lines too); mutations add and drop
separators, slashes and type lines. Everything decodes to a message or
raises a :class:`~hyperbeam.errors.HyperbeamError`, quickly. (Round trips
of valid messages are in ``tests/unit/test_codec_flat.py``.)
"""

from __future__ import annotations

from typing import Any

from hypothesis import example, given
from hypothesis import strategies as st

from hyperbeam.codecs import flat
from tests.property.fuzz import TIMEOUT, fuzz, hostile, parse_or_refuse
from tests.property.test_format_round_trips import messages

pytestmark = TIMEOUT

TOKENS = [
    b": ", b"\n", b"/", b"//", b"ao-types: ", b'="integer"', b'="map"', b'="list"',
    b'="empty-message"', b'="atom"', b'="float"', b"\r", b"%", b"commitments/",
]  # fmt: skip

_seeds = messages(depth=2).map(flat.serialize)


@fuzz(2)
@given(raw=hostile(_seeds, TOKENS))
# Regression: a path 5000 parts deep raised RecursionError (flat._inject, to_message).
@example(raw=b"a" + b"/a" * 5000 + b": v\n")
@example(raw=b"a: 1\na/b: 2\n")  # a binary and a message at one place
def test_hostile_flat_text_decodes_or_raises(raw: bytes) -> None:
    for text in (raw, raw.decode("utf-8", "surrogateescape")):
        parse_or_refuse(lambda text=text: flat.deserialize(text))


@fuzz(0.5)
@given(text=st.text(st.characters(exclude_categories=()), max_size=60))
# Regression: a lone surrogate raised UnicodeEncodeError (structured.to_bytes).
@example(text="a: \ud800")
def test_any_text_decodes_or_raises(text: str) -> None:
    """Text with any code point, lone surrogates too (a caller's ``str``)."""
    parse_or_refuse(lambda: flat.deserialize(text))


_path_keys = st.one_of(
    st.text(max_size=12),
    st.lists(st.sampled_from(["a", "b", "/", "", "A", "a/b"]), max_size=5).map("/".join),
    st.binary(max_size=12),
    st.integers(),
    st.lists(st.text(max_size=4), max_size=3).map(tuple),
)


@fuzz(1)
@given(
    flat_map=st.dictionaries(
        _path_keys,
        st.binary(max_size=8) | st.dictionaries(st.text(max_size=4), st.binary(max_size=4)),
        max_size=6,
    )
)
def test_hostile_flat_maps_decode_or_raise(flat_map: dict[Any, Any]) -> None:
    """``from_flat`` on maps whose path keys collide, are empty, or are not text."""
    parse_or_refuse(lambda: flat.from_flat(flat_map))

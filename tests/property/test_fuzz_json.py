"""Fuzzing the ``json@1.0`` codec (``codecs/json.py``): JSON text from a
client (a request body, a bundle manifest) decoded to a message.

Seeds are our serializer's output for generated messages, and JSON that
stresses a decoder: deep nesting, long numbers, escapes and lone
surrogates, duplicate keys, values of every JSON type where a message is
expected. Everything decodes or raises a
:class:`~hyperbeam.errors.HyperbeamError`, quickly. (Round trips of valid
messages and values are in ``tests/unit/test_codec_json.py``.)
"""

from __future__ import annotations

from hypothesis import example, given
from hypothesis import strategies as st

from hyperbeam.codecs import json as json_codec
from tests.property.fuzz import TIMEOUT, fuzz, hostile, parse_or_refuse
from tests.property.test_format_round_trips import messages

pytestmark = TIMEOUT

TOKENS = [
    b"{", b"}", b"[", b"]", b'"', b":", b",", b"\\", b"\\u", b"\\ud800", b"\\udc00", b"1e999",
    b"-0", b"9" * 40, b"null", b"true", b"NaN", b"Infinity", b'"ao-types"', b'"integer"',
    b'"body"', b'"commitments"', b"\xef\xbb\xbf",
]  # fmt: skip

_seeds = st.one_of(
    messages(depth=2).map(json_codec.serialize),
    st.sampled_from(
        [
            b'{"a":1,"a":2,"b":[1,2.5,"x",null,true,{"c":{}}]}',
            b'{"ao-types":"n=\\"integer\\"","n":"12"}',
            b'{"body":{"path":"x"},"l":[[1],[2,[3]]]}',
        ]
    ),
)


@fuzz(2)
@given(raw=hostile(_seeds, TOKENS))
@example(raw=b"[" * 5000 + b"]" * 5000)  # deeper than Python recurses
@example(raw=b'{"a":' * 3000 + b"1" + b"}" * 3000)
@example(raw=b"1" * 5000)  # more digits than int() takes
@example(raw=b'{"n":1e400}')
@example(raw=b'{"s":"\\ud800"}')
def test_hostile_json_decodes_or_raises(raw: bytes) -> None:
    """``deserialize`` (JSON to a rich message) on bytes and on text."""
    for data in (raw, raw.decode("utf-8", "surrogateescape")):
        parse_or_refuse(lambda data=data: json_codec.deserialize(data))

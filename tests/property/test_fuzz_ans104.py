"""Fuzzing the ANS-104 codec (``codecs/ans104.py``) and the packed store
records (``codecs/packed.py``).

A data item arrives as the body of a request (``content-type:
application/ans104``), from a gateway, or inside a bundle; the node parses
it, unbundles its data (nested bundles, manifests, lists), turns it into a
message and checks its signature. ``tests/unit/test_codec_ans104.py``
splices random bytes onto one small item; here the seeds are data items
real clients sent (``tests/vectors/clients``), signed items, map and list
bundles with manifests, and bundles as ANS-104 and as upstream write them,
mutated anywhere (the item count, the sizes in a bundle header, the JSON
of a manifest...). Everything parses or raises a
:class:`~hyperbeam.errors.HyperbeamError`, quickly, and an item that
parses serializes back to the same bytes.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

from hypothesis import example, given
from hypothesis import strategies as st

from hyperbeam.codecs import ans104, packed, received
from hyperbeam.codecs.ans104 import DataItem
from hyperbeam.codecs.structured import from_message, to_message
from hyperbeam.crypto.wallet import Wallet
from hyperbeam.message import commit
from tests.property.fuzz import TIMEOUT, fuzz, hostile, parse_or_refuse
from tests.property.test_format_round_trips import messages

pytestmark = TIMEOUT

VECTORS = Path(__file__).resolve().parents[1] / "vectors" / "clients"
WALLET = Wallet.generate()


def _client_items() -> list[bytes]:
    out = []
    for path in sorted(VECTORS.glob("*.json")):
        vector = json.loads(path.read_text())
        if vector["signature"]["format"] == "ans104":
            out.append(base64.b64decode(vector["body_b64"]))
    assert out
    return out


def _ours() -> list[bytes]:
    plain = {"a": "1", "n": 42, "long": "x" * 300, "m": {"x": "y", "deep": {"z": "w"}}}
    signed = commit.commit({"k": "v", "data": "payload", "m": {"x": "y"}}, WALLET, "ans104@1.0")
    listed = {"l": [{"one": "1"}, {"two": "2"}], "s": [1, "x"], "data": "d"}
    tabms = [commit.convert(m, "tabm") for m in (plain, signed, listed)]
    items = [ans104.serialize_message(t) for t in tabms]
    small = [DataItem(data=b"a", tags=[(b"Name", b"v")]), DataItem(data=b"b")]
    signed_small = [ans104.sign(item, WALLET) for item in small]
    return [
        *items,
        ans104.serialize_bundle(small),
        ans104.serialize_bundle(signed_small, standard=True),
        ans104.serialize(DataItem(data=small)),
    ]


SEEDS = _client_items() + _ours()
TOKENS = [
    b"\x00" * 8, b"\xff" * 8, b"\x01\x00", b"\x02", b"\x7f", b"\x80\x80\x80", b"bundle-format",
    b"binary", b"bundle-version", b"2.0.0", b"bundle-map", b"map-format", b"List", b"ao-type",
    b'{"a":"', b'"}', b"original-tags",
]  # fmt: skip


@fuzz(3)
@given(raw=hostile(st.sampled_from(SEEDS), TOKENS))
@example(
    raw=b"\x01\x00" + bytes(1024) + b"\x00\x00" + (2**63).to_bytes(8, "little") + bytes(8)
)  # 2**63 tags
def test_hostile_items_parse_or_raise(raw: bytes) -> None:
    """Parse (with and without unbundling), convert to a message, verify:
    each returns or raises a HyperbeamError. What parses without
    unbundling serializes back to the same bytes."""
    flat = parse_or_refuse(lambda: ans104.deserialize(raw, unbundle=False))
    if isinstance(flat, DataItem):
        assert ans104.serialize(flat) == raw
        parse_or_refuse(lambda: ans104.verify(flat))
    item = parse_or_refuse(lambda: ans104.deserialize(raw))
    if isinstance(item, DataItem):
        tabm = parse_or_refuse(lambda: ans104.from_item(item))
        if isinstance(tabm, dict):
            parse_or_refuse(lambda: to_message(tabm))
    parse_or_refuse(lambda: received.from_item(raw))


@fuzz(1)
@given(raw=hostile(st.sampled_from(SEEDS), TOKENS), standard=st.booleans())
def test_hostile_bundles_parse_or_raise(raw: bytes, standard: bool) -> None:
    """A bundle binary on its own (as ANS-104 writes it, or as upstream does)."""
    parse_or_refuse(lambda: ans104.deserialize_bundle(raw, standard=standard))


# --- packed store records ----------------------------------------------------------------


def _packed_seeds() -> list[bytes]:
    msgs: list[dict[str, Any]] = [
        {"a": "1", "n": 42, "m": {"x": "y", "deep": {"z": [1, 2]}}},
        {"body": b"\x00\xff" * 40, "k": ""},
    ]
    return [packed.pack(commit.convert(m, "tabm")) for m in msgs]


@fuzz(1)
@given(raw=hostile(st.sampled_from(_packed_seeds()), [b"M", b"B", b"\x01", b"\x80", b"\xff"]))
# Regression: maps nested 3000 deep raised RecursionError out of packed.unpack.
@example(raw=packed.MAGIC + b"M\x01\x01a" * 3000 + b"B\x00")
def test_packed_records_unpack_or_raise(raw: bytes) -> None:
    """A damaged store record: a TABM or a CodecError."""
    parse_or_refuse(lambda: packed.unpack(raw))


_tabms = messages(depth=3).map(lambda m: commit.convert(m, "tabm"))


@fuzz(0.5)
@given(tabm=_tabms)
def test_packed_records_round_trip(tabm: dict[str, Any]) -> None:
    assert packed.unpack(packed.pack(tabm)) == tabm
    assert to_message(packed.unpack(packed.pack(from_message(to_message(tabm))))) == to_message(
        tabm
    )

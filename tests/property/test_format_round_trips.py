"""Every message survives a round trip through every format, and every pair
of formats (Hypothesis). Upstream: hb_message's message_suite, which runs each
case through every codec; here the messages are generated.

Formats: structured@1.0 (rich), tabm, httpsig@1.0, flat@1.0, json@1.0 and
ans104@1.0. Flat and httpsig carry nested messages as paths and parts; ANS-104
as tags and bundled items.
"""

from __future__ import annotations

import string
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hyperbeam.crypto.wallet import Wallet
from hyperbeam.message import commit

FORMATS = ["tabm", "httpsig@1.0", "flat@1.0", "json@1.0", "ans104@1.0"]

_KEY_START = string.ascii_lowercase
_KEY_REST = string.ascii_lowercase + string.digits + "-"
#: Keys with a meaning of their own in some format (ANS-104 fields, codec keys).
_RESERVED = {
    "data", "body", "target", "anchor", "last_tx", "owner", "signature", "id",
    "unsigned_id", "format", "tags", "path", "commitments", "ao-types", "device",
    "content-type", "content-digest", "body-keys", "inline-body-key", "quantity",
    "reward", "denomination", "data_size", "data_root", "data_tree", "manifest",
    "signature-input", "original-tags", "bundle-format", "bundle-version",
    "bundle-map", "map-format", "ao-ids", "hashpath",
}  # fmt: skip

keys = (
    st.text(_KEY_START, min_size=1, max_size=1)
    .flatmap(lambda head: st.text(_KEY_REST, max_size=12).map(lambda tail: head + tail))
    .filter(lambda key: key not in _RESERVED and not key.startswith("priv"))
)

texts = st.text(
    st.characters(min_codepoint=0x21, max_codepoint=0x7E, exclude_characters='"\\'),
    min_size=1,
    max_size=40,
)
unicode_texts = st.text(
    st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=1, max_size=20
)
scalars = st.one_of(
    texts,
    unicode_texts,
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
    st.just(""),
    st.just([]),
    st.just({}),
)
flat_lists = st.lists(st.one_of(texts, st.integers(-1000, 1000)), min_size=1, max_size=4)


def messages(depth: int = 2) -> st.SearchStrategy[dict[str, Any]]:
    values: st.SearchStrategy[Any] = st.one_of(scalars, flat_lists)
    if depth > 0:
        values = st.one_of(values, messages(depth - 1))
    return st.dictionaries(keys, values, min_size=1, max_size=5)


#: Keys a codec adds to describe its own encoding (kept by upstream's decoders too).
_CODEC_KEYS = {"content-type", "body-keys", "inline-body-key"}


def _through(msg: dict[str, Any], fmt: str) -> Any:
    return _clean(commit.convert(commit.convert(msg, fmt), "structured@1.0", fmt))


def _clean(value: Any) -> Any:
    """The message without the codec's own keys; values and types untouched."""
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items() if k not in _CODEC_KEYS}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value


@pytest.mark.parametrize("fmt", FORMATS)
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(msg=messages())
def test_round_trip_through_each_format(fmt: str, msg: dict[str, Any]) -> None:
    assert _through(msg, fmt) == msg


@pytest.mark.parametrize("first", FORMATS)
@pytest.mark.parametrize("second", FORMATS)
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(msg=messages(depth=1))
def test_round_trip_through_each_pair(first: str, second: str, msg: dict[str, Any]) -> None:
    assert _through(_through(msg, first), second) == msg


@pytest.fixture(scope="module")
def wallet() -> Wallet:
    return Wallet.generate()


@pytest.mark.parametrize(
    ("device", "fmt"),
    [
        ("httpsig@1.0", "httpsig@1.0"),
        ("httpsig@1.0", "tabm"),
        ("httpsig@1.0", "json@1.0"),
        ("httpsig@1.0", "flat@1.0"),
        ("ans104@1.0", "ans104@1.0"),
        ("ans104@1.0", "tabm"),
    ],
)
@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(msg=messages(depth=1))
def test_signed_messages_still_verify_after_a_round_trip(
    wallet: Wallet, device: str, fmt: str, msg: dict[str, Any]
) -> None:
    signed = commit.commit(msg, wallet, device)
    again = _through(signed, fmt)
    assert commit.verify(again)
    assert commit.signers(again) == [wallet.address]

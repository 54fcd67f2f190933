"""Message IDs (hyperbeam.message.id) as upstream dev_message:id/3 computes them."""

from __future__ import annotations

import pytest

from hyperbeam.errors import CodecError
from hyperbeam.message.id import message_id, unsigned_id
from hyperbeam.message.ids import human_id, is_human_id, sha256
from hyperbeam.message.model import Atom

# IDs that upstream's algorithm gives and that the independent JS
# implementation (hbsig 0.1.5, see tests/interop) agrees with.
PINNED = [
    ({"a": "1", "b": 2}, "aU8BUmgbZw0qlfQ-AZEy7EQwp1d7UaOHcRIOWvA17LE"),
    ({"body": "hello"}, "r6xKfxpYNb8FwG09WsbvaQA7Vltf0-C9d2Y5GkReeOs"),
    ({"l": [1, 2, 3]}, "zgWNN3wxVZ7VYS664LlR69OW2xDpxi-Y_ZwQeo2_skI"),
    ({"data": "x"}, "3Ui45131jXGUTVQXV-9UPXq9dFfQmMVR1gmB-K1I0-o"),
    ({"a": {"x": "c"}}, "n-IeYHDfv8M73PyDtoQUt842NfchQ9gtMV-aaKwojIM"),
    ({"a": [{"x": "1"}, {"x": "2"}]}, "_-d8fZWfysoME04PL2XrRnF5ap6Wt6lxaKxsIxU2mx0"),
    ({"a": True}, "Js3t1cvvQTzcU147UfUyU8YNZJDWdlqzI9dNStVc0RQ"),
    ({"a": ""}, "j_qDvoyDulNf4npbj4hF_vngIJaKdHlhXo3-eKuBvhY"),
]


@pytest.mark.parametrize(("msg", "expected"), PINNED)
def test_pinned_ids(msg: dict[str, object], expected: str) -> None:
    assert message_id(msg) == expected
    assert unsigned_id(msg) == expected


def test_id_shape() -> None:
    found = message_id({"k": "v"})
    assert is_human_id(found)
    assert len(found) == 43


def test_equivalent_spellings_share_an_id() -> None:
    """Key case, str vs bytes, list vs tuple and private keys do not matter."""
    base = message_id({"key": "value", "n": [1, 2]})
    assert message_id({"KEY": b"value", "n": (1, 2)}) == base
    assert message_id({"key": "value", "n": [1, 2], "priv": {"x": 1}, "priv-y": "z"}) == base
    assert message_id({"key": "value", "n": [1, 2], "content-digest": "stale"}) == base


def test_values_change_the_id() -> None:
    assert message_id({"a": 1}) != message_id({"a": "1"})
    assert message_id({"a": 1}) != message_id({"a": 1.0})
    assert message_id({"a": Atom("x")}) != message_id({"a": "x"})
    assert message_id({"a": {}}) != message_id({"a": []})


def test_single_commitment_is_the_id() -> None:
    """dev_message:id/3: with exactly one commitment, its ID is the message ID."""
    cid = "C" * 43
    msg = {"k": "v", "commitments": {cid: {"alg": "rsa-pss-sha512"}}}
    assert message_id(msg) == cid
    assert unsigned_id(msg) == message_id({"k": "v"})


def test_multiple_commitments_hash_sorted_ids() -> None:
    """dev_message:id/3: sha256 of the sorted commitment IDs joined by ", "."""
    ids = ["b" * 43, "A" * 43, "_" * 43]
    msg = {"k": "v", "commitments": {i: {"alg": "hmac-sha256"} for i in ids}}
    line = ", ".join(sorted(ids)).encode()
    assert message_id(msg) == human_id(sha256(line))


def test_empty_commitments_means_unsigned() -> None:
    assert message_id({"k": "v", "commitments": {}}) == message_id({"k": "v"})


def test_signature_input_is_relabelled() -> None:
    """dev_codec_httpsig:find_id/1 renames a message's own signature-input to
    x-signature-input before hashing; a bare `signature` key is not encoded."""
    assert message_id({"signature-input": "x"}) == message_id({"x-signature-input": "x"})
    assert message_id({"signature": "s", "k": "v"}) == message_id({"k": "v"})


def test_bad_inputs() -> None:
    with pytest.raises(CodecError):
        message_id({"commitments": "nope"})
    with pytest.raises(CodecError):
        message_id({"commitments": {"short": {}, "other": {}}})
    with pytest.raises(CodecError):
        message_id("not a message")  # type: ignore[arg-type]

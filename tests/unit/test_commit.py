"""The commitments API (hyperbeam.message.commit, upstream hb_message), the
commitment selection behind IDs (hyperbeam.message.id, upstream
dev_message:id/3 and commitment_ids_from_request/3) and the commitment keys
of message@1.0 (upstream dev_message: id, commit, committers, committed,
verify, and set on committed messages)."""

from __future__ import annotations

from typing import Any

import pytest

from hyperbeam.ao.resolve import resolve
from hyperbeam.codecs.httpsig import HTTP_HMAC_ALG, HTTP_RSA_ALG
from hyperbeam.codecs.structured import to_bytes
from hyperbeam.crypto.wallet import Wallet
from hyperbeam.devices.message import MessageDevice
from hyperbeam.errors import CodecError
from hyperbeam.message import commit as hb_message
from hyperbeam.message.commit import (
    Codec,
    available_codecs,
    commit,
    commitment,
    commitments,
    committed,
    committers,
    convert,
    get_codec,
    match,
    register_codec,
    signers,
    uncommitted,
    verify,
    with_commitments,
    with_only_committed,
    with_only_committers,
    without_commitments,
)
from hyperbeam.message.id import CommittersNotFound, commitment_ids, message_id, unsigned_id
from hyperbeam.message.ids import human_id, sha256
from hyperbeam.message.model import Atom

IGNORE = {"hashpath": "ignore"}


@pytest.fixture(scope="module")
def wallet() -> Wallet:
    return Wallet.generate()


@pytest.fixture(scope="module")
def wallet2() -> Wallet:
    return Wallet.generate()


def alg_ids(msg: dict[str, Any], alg: bytes) -> list[str]:
    return [cid for cid, c in msg["commitments"].items() if to_bytes(c["alg"]) == alg]


@pytest.fixture(scope="module")
def signed(wallet: Wallet) -> dict[str, Any]:
    return commit({"a": 1, "b": "two", "n": {"x": "y"}}, wallet)


@pytest.fixture(scope="module")
def twice(wallet: Wallet, wallet2: Wallet) -> dict[str, Any]:
    return commit(commit({"k": "v"}, wallet), wallet2)


# --- commit --------------------------------------------------------------------------


def test_commit_returns_a_rich_message(signed: dict[str, Any], wallet: Wallet) -> None:
    """dev_message:commit/3 converts the committed TABM back to structured@1.0."""
    assert signed["a"] == 1
    assert signed["n"] == {"x": "y"}
    (rsa_id,) = alg_ids(signed, HTTP_RSA_ALG)
    assert len(alg_ids(signed, HTTP_HMAC_ALG)) == 1
    assert signed["commitments"][rsa_id]["committer"] == wallet.address
    assert signed["commitments"][rsa_id]["commitment-device"] == "httpsig@1.0"
    assert verify(signed)


def test_commit_keeps_the_private_map(wallet: Wallet) -> None:
    out = commit({"k": "v", "priv": {"secret": "s"}}, wallet)
    assert out["priv"] == {"secret": "s"}
    assert verify(out)


def test_commit_with_an_unknown_device(wallet: Wallet) -> None:
    with pytest.raises(CodecError):
        commit({"k": "v"}, wallet, "nope@1.0")
    with pytest.raises(CodecError):
        commit({"k": "v"}, wallet, "tabm")


def test_structured_device_signs_with_httpsig(wallet: Wallet) -> None:
    """dev_codec_structured relays commit/3 to dev_codec_httpsig."""
    out = commit({"k": "v"}, wallet, "structured@1.0")
    assert {c["commitment-device"] for c in out["commitments"].values()} == {"httpsig@1.0"}
    assert verify(out)


# --- IDs and commitment selection ----------------------------------------------------------


def test_ids_of_a_signed_message(signed: dict[str, Any]) -> None:
    """hb_message:id/2 and dev_message:id/3."""
    (rsa_id,) = alg_ids(signed, HTTP_RSA_ALG)
    (hmac_id,) = alg_ids(signed, HTTP_HMAC_ALG)
    both = human_id(sha256(", ".join(sorted([rsa_id, hmac_id])).encode()))
    assert message_id(signed) == both
    assert hb_message.id(signed) == both
    assert hb_message.id(signed, "unsigned") == both
    assert hb_message.id(signed, "all") == rsa_id
    assert hb_message.id(signed, "signed") == rsa_id
    assert hb_message.id(signed, "none") == unsigned_id(signed)
    assert unsigned_id(signed) == message_id(uncommitted(signed))
    assert message_id(signed, [], None) == unsigned_id(signed)


def test_ids_of_a_multisigned_message(twice: dict[str, Any], wallet: Wallet) -> None:
    rsa = alg_ids(twice, HTTP_RSA_ALG)
    assert len(rsa) == 2
    (mine,) = [cid for cid in rsa if twice["commitments"][cid]["committer"] == wallet.address]
    assert message_id(twice, [wallet.address]) == mine
    line = ", ".join(sorted(rsa)).encode()
    assert message_id(twice, "all") == human_id(sha256(line))


def test_commitment_ids_from_request(twice: dict[str, Any], wallet: Wallet) -> None:
    """dev_message:commitment_ids_from_request/3: committers default to
    none, which makes commitments default to all; naming committers makes
    them default to none."""
    every = sorted(twice["commitments"])
    rsa = sorted(alg_ids(twice, HTTP_RSA_ALG))
    (hmac_id,) = alg_ids(twice, HTTP_HMAC_ALG)
    assert sorted(commitment_ids(twice)) == every
    assert sorted(commitment_ids(twice, "none")) == every
    assert sorted(commitment_ids(twice, "NONE")) == every
    assert sorted(commitment_ids(twice, "all")) == rsa
    assert commitment_ids(twice, []) == []
    assert commitment_ids(twice, "none", "none") == []
    assert commitment_ids(twice, "all", [hmac_id]) == [*commitment_ids(twice, "all"), hmac_id]
    assert commitment_ids(twice, "none", hmac_id) == [hmac_id]
    assert len(commitment_ids(twice, wallet.address)) == 1
    assert commitment_ids(twice, {"1": wallet.address}) == commitment_ids(twice, wallet.address)
    with pytest.raises(CommittersNotFound):
        commitment_ids(twice, ["X" * 43])
    with pytest.raises(CommittersNotFound):
        commitment_ids(twice, "none", ["Y" * 43])


# --- verify ------------------------------------------------------------------------------


def test_verify_selections(twice: dict[str, Any], wallet: Wallet, wallet2: Wallet) -> None:
    """hb_message:verify/2: all committers by default; `signers`; an
    address; a list; commitments by ID (hmacs included)."""
    assert verify(twice)
    assert verify(twice, "signers")
    assert verify(twice, wallet.address)
    assert verify(twice, [wallet2.address, wallet.address])
    assert verify(twice, "none")
    assert verify(twice, commitments="all")
    assert verify(twice, [])
    # A committer the message does not have: not verified (upstream throws).
    assert not verify(twice, ["X" * 43])


def test_verify_unsigned_messages() -> None:
    """No commitments: nothing to check, as upstream's lists:all([])."""
    assert verify({"k": "v"})
    assert verify({"k": "v"}, commitments="all")


def test_verify_tampered(signed: dict[str, Any], wallet2: Wallet) -> None:
    """dev_message.erl verify_test: a changed value fails."""
    assert not verify({**signed, "a": 2})
    assert not verify({**signed, "n": {"x": "z"}})
    # RFC 9421 trims the spaces around a field value, so they are not signed.
    assert verify({**signed, "b": "two "})
    assert not verify({**signed, "a": 2}, commitments="all")
    # Another signer's commitment replayed on this message.
    other = commit({"a": 1, "b": "two", "n": {"x": "y"}}, wallet2)
    mixed = {**signed, "commitments": {**signed["commitments"], **other["commitments"]}}
    assert verify(mixed)
    replayed = commit({"a": 9}, wallet2)
    forged = {**signed, "commitments": {**signed["commitments"], **replayed["commitments"]}}
    assert not verify(forged)


def test_verify_needs_a_message() -> None:
    with pytest.raises(CodecError):
        verify("not a message")  # type: ignore[arg-type]
    with pytest.raises(CodecError):
        verify({"commitments": "nope"})


# --- committers, committed keys, filtering ---------------------------------------------------


def test_signers_and_committers(twice: dict[str, Any], wallet: Wallet, wallet2: Wallet) -> None:
    assert sorted(signers(twice)) == sorted([wallet.address, wallet2.address])
    assert sorted(committers(twice)) == sorted(signers(twice))
    odd = {"k": "v", "commitments": {"C" * 43: {"committer": "short-name", "alg": "x"}}}
    assert committers(odd) == ["short-name"]
    assert signers(odd) == []
    assert signers({"k": "v"}) == []


def test_committed_and_with_only_committed(signed: dict[str, Any]) -> None:
    keys = committed(signed)
    assert {"a", "b", "n"} <= set(keys)
    padded = {**signed, "extra": "not signed"}
    assert "extra" not in committed(padded)
    only = with_only_committed(padded)
    assert "extra" not in only
    assert {k: v for k, v in only.items()} == signed
    assert verify(only)
    assert with_only_committed({"k": "v"}) == {"k": "v"}
    assert committed({"k": "v"}) == []


def test_with_only_committers(twice: dict[str, Any], wallet: Wallet) -> None:
    """hb_message:with_only_committers/2 keeps only those committers'
    commitments (the hmac, which has no committer, goes too)."""
    mine = with_only_committers(twice, [wallet.address])
    assert [c["committer"] for c in mine["commitments"].values()] == [wallet.address]
    assert verify(mine)
    assert with_only_committers(twice, [])["commitments"] == {}
    with pytest.raises(CodecError):
        with_only_committers("x", [])  # type: ignore[arg-type]


def test_commitment_specs(signed: dict[str, Any], wallet: Wallet) -> None:
    """hb_message:commitment/3, with_commitments/3, without_commitments/3."""
    (rsa_id,) = alg_ids(signed, HTTP_RSA_ALG)
    (hmac_id,) = alg_ids(signed, HTTP_HMAC_ALG)
    found = commitment({"alg": "rsa-pss-sha512"}, signed)
    assert found is not None and found[0] == rsa_id
    assert commitment(wallet.address, signed) == (rsa_id, signed["commitments"][rsa_id])
    assert commitment({"commitment-device": b"httpsig@1.0"}, signed) is None  # two match
    assert commitment({"alg": "ecdsa"}, signed) is None
    assert commitment({"alg": "rsa-pss-sha512"}, {"k": "v"}) is None
    assert set(commitments(signed)) == {rsa_id, hmac_id}
    assert set(commitments(signed, {"alg": b"hmac-sha256"})) == {hmac_id}
    assert set(with_commitments({"alg": "hmac-sha256"}, signed)["commitments"]) == {hmac_id}
    assert set(without_commitments({"alg": "hmac-sha256"}, signed)["commitments"]) == {rsa_id}
    assert without_commitments({"alg": "x"}, {"k": "v"}) == {"k": "v"}


# --- match ---------------------------------------------------------------------------------


def test_match_values() -> None:
    """hb_message:match/3 compares as Erlang's == on normalized messages."""
    assert match({"a": "x"}, {"a": b"x"})
    assert match({"A": 1}, {"a": 1.0})
    assert not match({"a": True}, {"a": 1})
    assert not match({"a": Atom("x")}, {"a": "x"})
    assert match({"a": [1, 2]}, {"a": {"1": 1, "2": 2}})
    assert not match({"a": [1, 2]}, {"a": [2, 1]})
    assert match({"a": "1", "body-keys": '"x"', "content-type": "t"}, {"a": "1"})
    assert match({"a": "1", "priv": {"x": 1}, "content-digest": "d"}, {"a": "1"})
    assert match({"a": {"b": {"c": "d"}}}, {"a": {"b": {"c": b"d"}}})
    assert not match({"a": {"b": "c"}}, {"a": {"b": "c", "d": "e"}}, "only_present")
    assert match({"a": "1", "z": "q"}, {"a": "1"}, "only_present")
    assert match({"data": ""}, {})  # a transaction default is no key at all


# --- convert and the codec registry ----------------------------------------------------------


def test_available_codecs() -> None:
    names = available_codecs()
    assert {"structured@1.0", "httpsig@1.0", "tabm"} <= set(names)
    with pytest.raises(CodecError):
        get_codec("nope@1.0")


def test_convert_round_trips(signed: dict[str, Any]) -> None:
    tabm = convert(signed, "tabm")
    assert tabm["a"] == b"1"
    http = convert(signed, "httpsig@1.0")
    assert b"signature" in b" ".join(k.encode() for k in http)
    back = convert(http, "structured@1.0", "httpsig@1.0")
    assert match(signed, back)
    assert verify(back)
    assert convert(tabm, "structured@1.0", "tabm") == convert(signed, "structured@1.0")


def test_convert_keeps_priv_and_binaries() -> None:
    """hb_message:convert/4 sets priv aside and restores it; codecs pass
    bare binaries through."""
    msg = {"k": "v", "priv": {"p": 1}}
    http = convert(msg, "httpsig@1.0")
    assert http["priv"] == {"p": 1}
    back = convert(http, "structured@1.0", "httpsig@1.0")
    assert back["priv"] == {"p": 1}
    assert convert(b"raw", "httpsig@1.0") == b"raw"


def test_register_codec() -> None:
    def upper(msg: Any) -> Any:
        return {k.upper(): v for k, v in msg.items()}

    def lower(msg: Any) -> Any:
        return {k.lower(): v for k, v in msg.items()}

    register_codec(Codec("upper@1.0", lower, upper))
    out = convert({"k": "v"}, "upper@1.0")
    assert out == {"K": b"v"}
    assert convert(out, "structured@1.0", "upper@1.0") == {"k": "v"}


# --- message@1.0 commitment keys ------------------------------------------------------------


def test_dev_message_verify(wallet: Wallet) -> None:
    """dev_message.erl: verify_test. As upstream, `verify` applies to the
    base message unless the request names a `target` (so verifying the body
    of a request against an empty base is trivially true)."""
    unsigned = {"a": "b"}
    signed = commit(unsigned, wallet)
    bad = {**signed, "a": "c"}
    assert verify(bad) is False
    req = {"path": "verify", "body": signed}
    assert resolve({"device": "message@1.0"}, req, IGNORE) == ("ok", True)
    assert resolve({}, req, IGNORE) == ("ok", True)
    assert resolve({}, {**req, "target": "body"}, IGNORE) == ("ok", True)
    assert resolve({}, {"path": "verify", "target": "body", "body": bad}, IGNORE) == ("ok", False)
    assert resolve(signed, {"path": "verify"}, IGNORE) == ("ok", True)
    assert resolve(bad, {"path": "verify"}, IGNORE) == ("ok", False)
    assert resolve(signed, {"path": "verify", "committers": [wallet.address]}, IGNORE) == (
        "ok",
        True,
    )


def test_dev_message_id(signed: dict[str, Any]) -> None:
    (rsa_id,) = alg_ids(signed, HTTP_RSA_ALG)
    assert resolve(signed, {"path": "id"}, IGNORE) == ("ok", message_id(signed))
    assert resolve(signed, {"path": "id", "committers": "all"}, IGNORE) == ("ok", rsa_id)
    assert resolve(signed, {"path": "id", "committers": []}, IGNORE) == (
        "ok",
        unsigned_id(signed),
    )
    assert resolve(signed, {"path": "id", "commitments": [rsa_id]}, IGNORE) == (
        "ok",
        rsa_id,
    )


def test_dev_message_commit(wallet: Wallet) -> None:
    """dev_message:commit/3 signs with priv_wallet; no wallet is an error."""
    status, out = resolve({"k": "v"}, {"path": "commit"}, {**IGNORE, "priv_wallet": wallet})
    assert status == "ok"
    assert signers(out) == [wallet.address]
    assert verify(out)
    assert resolve({"k": "v"}, {"path": "commit"}, IGNORE) == ("error", "no_viable_wallet")
    opts = {**IGNORE, "priv_wallet": wallet}
    status, inner = resolve(
        {"k": "v"}, {"path": "commit", "target": "body", "body": {"x": "y"}}, opts
    )
    assert status == "ok" and inner["x"] == "y" and verify(inner)
    if "ans104@1.0" in available_codecs():
        request = {"path": "commit", "commitment-device": "ans104@1.0"}
        status, item = resolve({"k": "v"}, request, opts)
        assert status == "ok" and verify(item)
        assert {c["commitment-device"] for c in item["commitments"].values()} == {"ans104@1.0"}


def test_dev_message_committers_and_committed(twice: dict[str, Any]) -> None:
    assert sorted(resolve(twice, {"path": "committers"}, IGNORE)[1]) == sorted(signers(twice))
    assert resolve({"k": "v"}, {"path": "committers"}, IGNORE) == ("ok", [])
    status, keys = resolve(twice, {"path": "committed"}, IGNORE)
    assert status == "ok" and "k" in keys


def test_set_on_committed_messages(signed: dict[str, Any]) -> None:
    """dev_message:set/3: changing a committed key drops the commitments;
    adding a new key or setting a committed key to its value keeps them."""
    dev = MessageDevice()
    status, added = dev.set(signed, {"new": "key"})
    assert status == "ok" and added["commitments"] == signed["commitments"]
    status, same = dev.set(signed, {"b": "two"})
    assert status == "ok" and same["commitments"] == signed["commitments"]
    status, changed = dev.set(signed, {"b": "three"})
    assert status == "ok" and "commitments" not in changed
    assert changed["b"] == "three"

"""Our ANS-104 data items and bundles against arbundles, the JavaScript
library most Arweave tools use to create and check them.

tests/js/arbundles.mjs drives arbundles 0.11.2 (pinned in tests/js/package.json;
install with ``npm ci --prefix tests/js``, which scripts/install does): it
signs items with the same Arweave JWK as our wallet, parses and verifies
items we sign, and builds and reads bundles. Without node or the package
these tests fail.

Known difference: upstream (and so this port, by default) writes a bundle's
count and sizes big-endian and each item's *unsigned* ID in its header, where
ANS-104 and arbundles use little-endian numbers and signed IDs; arbundles
cannot read upstream's bundles. ``serialize_bundle(..., standard=True)`` and
``deserialize_bundle(..., standard=True)`` use the standard form.
"""

from __future__ import annotations

import base64
import os
from typing import Any

import pytest

from hyperbeam.codecs import ans104
from hyperbeam.codecs.ans104 import DataItem
from hyperbeam.codecs.structured import from_message, to_message
from hyperbeam.crypto.wallet import Wallet
from hyperbeam.message.ids import b64url_encode
from tests.interop.js import run_script


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def unb64(text: str) -> bytes:
    return base64.b64decode(text)


def _run_js_raw(requests: list[dict[str, Any]]) -> list[Any]:
    results: list[Any] = run_script("arbundles.mjs", requests, package="arbundles")
    return results


def run_js(requests: list[dict[str, Any]]) -> list[Any]:
    results = _run_js_raw(requests)
    for result in results:
        assert not (isinstance(result, dict) and "error" in result), result
    return results


@pytest.fixture(scope="module")
def wallet() -> Wallet:
    return Wallet.generate()


TARGET = os.urandom(32)
ANCHOR = os.urandom(32)

JS_SPECS: list[dict[str, Any]] = [
    {"data": "", "tags": []},
    {"data": b64(b"hello"), "tags": [{"name": "Content-Type", "value": "text/plain"}]},
    {
        "data": b64(os.urandom(3000)),
        "tags": [
            {"name": "App-Name", "value": "hyperbeam-interop"},
            {"name": "unicode", "value": "日本語 ✓ 🎉"},
            {"name": "empty", "value": ""},
            {"name": "dup", "value": "1"},
            {"name": "dup", "value": "2"},
        ],
        "target": b64url_encode(TARGET),
        "anchor": b64(ANCHOR),
    },
    {"data": b64(b"only target"), "tags": [], "target": b64url_encode(TARGET)},
    {"data": b64(b"only anchor"), "tags": [{"name": "a", "value": "b"}], "anchor": b64(ANCHOR)},
    {"data": b64(b"x"), "tags": [{"name": f"tag-{n}", "value": "v" * 20} for n in range(40)]},
]


def _spec_tags(spec: dict[str, Any]) -> list[tuple[bytes, bytes]]:
    return [(t["name"].encode(), t["value"].encode()) for t in spec["tags"]]


@pytest.fixture(scope="module")
def js_items(wallet: Wallet) -> list[dict[str, Any]]:
    [created] = run_js([{"op": "create", "jwk": wallet.to_jwk(), "items": JS_SPECS}])
    items: list[dict[str, Any]] = created
    return items


@pytest.mark.parametrize("index", range(len(JS_SPECS)))
def test_arbundles_items_parse_and_verify_here(
    index: int, wallet: Wallet, js_items: list[dict[str, Any]]
) -> None:
    """arbundles signs with our JWK; we read the same fields and ID, and verify."""
    spec, created = JS_SPECS[index], js_items[index]
    raw = unb64(created["raw"])
    item = ans104.deserialize(raw)
    assert item.id is not None
    assert b64url_encode(item.id) == created["id"]
    assert item.owner == wallet.owner
    assert item.target == (TARGET if "target" in spec else b"")
    assert item.anchor == (ANCHOR if "anchor" in spec else b"")
    assert item.tags == _spec_tags(spec)
    assert item.data == unb64(spec["data"])
    assert ans104.verify(item)
    assert ans104.serialize(item) == raw


def test_arbundles_item_as_a_message(wallet: Wallet, js_items: list[dict[str, Any]]) -> None:
    """An arbundles item (mixed-case tags) becomes a message with an ans104@1.0
    commitment that verifies, and encodes back to the same bytes."""
    raw = unb64(js_items[2]["raw"])
    tabm = ans104.from_item(ans104.deserialize(raw))
    assert isinstance(tabm, dict)
    msg = to_message(tabm)
    assert msg["app-name"] == "hyperbeam-interop"
    assert msg["dup"] == '"1", "2"'
    (cid,) = msg["commitments"]
    assert cid == js_items[2]["id"]
    assert msg["commitments"][cid]["committer"] == wallet.address
    assert ans104.verify_commitment(msg, cid)
    assert ans104.serialize(ans104.to_item(from_message(msg))) == raw


def _our_items(wallet: Wallet) -> list[DataItem]:
    return [
        ans104.sign(DataItem(), wallet),
        ans104.sign(DataItem(tags=[(b"Content-Type", b"text/plain")], data=b"hello"), wallet),
        ans104.sign(
            DataItem(
                target=TARGET,
                anchor=ANCHOR,
                tags=[(b"unicode", "日本語 🎉".encode()), (b"empty", b""), (b"k", b"v")],
                data=os.urandom(5000),
            ),
            wallet,
        ),
        ans104.sign(DataItem(data={"key": ans104.sign(DataItem(data=b"inner"), wallet)}), wallet),
    ]


def test_our_items_verify_in_arbundles(wallet: Wallet) -> None:
    """We sign; arbundles parses, reports the same ID and fields, and verifies."""
    items = _our_items(wallet)
    raws = [ans104.serialize(item) for item in items]
    [inspected] = run_js([{"op": "inspect", "items": [b64(raw) for raw in raws]}])
    for item, raw, seen in zip(items, raws, inspected, strict=True):
        assert seen["valid"] is True
        assert item.id is not None
        assert seen["id"] == b64url_encode(item.id)
        assert seen["signatureType"] == 1
        assert unb64(seen["owner"]) == wallet.owner
        assert unb64(seen["signature"]) == item.signature
        normalized = ans104.deserialize(raw, unbundle=False)
        assert unb64(seen["target"]) == normalized.target
        assert unb64(seen["anchor"]) == normalized.anchor
        assert unb64(seen["rawTags"]) == ans104.encode_tags(normalized.tags)
        assert [(t["name"].encode(), t["value"].encode()) for t in seen["tags"]] == normalized.tags
        assert unb64(seen["data"]) == normalized.data


def test_committed_message_verifies_in_arbundles(wallet: Wallet) -> None:
    """A message committed with ans104@1.0 is a data item arbundles accepts,
    with the commitment's ID."""
    signed = ans104.commit({"action": "Eval", "n": 7, "nested": {"k": "v"}, "data": "x"}, wallet)
    (cid,) = signed["commitments"]
    raw = ans104.serialize_message(from_message(signed))
    [[seen]] = run_js([{"op": "inspect", "items": [b64(raw)]}])
    assert seen["valid"] is True
    assert seen["id"] == cid


def _tamper(raw: bytes, offset: int) -> bytes:
    return raw[:offset] + bytes([raw[offset] ^ 0x01]) + raw[offset + 1 :]


def test_tampered_items_fail_both_verifications(
    wallet: Wallet, js_items: list[dict[str, Any]]
) -> None:
    """Flipping a bit in the data, a tag or the signature breaks the item for
    arbundles and for us."""
    theirs = unb64(js_items[2]["raw"])
    ours = ans104.serialize(_our_items(wallet)[2])
    tampered = []
    for raw in (theirs, ours):
        tampered += [_tamper(raw, len(raw) - 1), _tamper(raw, 10), _tamper(raw, len(raw) - 3000)]
    [inspected] = run_js([{"op": "inspect", "items": [b64(raw) for raw in tampered]}])
    for raw, seen in zip(tampered, inspected, strict=True):
        assert seen["valid"] is False
        assert not ans104.verify(ans104.deserialize(raw, unbundle=False))


def test_arbundles_bundle_reads_here(wallet: Wallet) -> None:
    """bundleAndSignData's bundle: we read every item, with arbundles' IDs,
    and every item verifies."""
    specs = JS_SPECS[1:4]
    [bundle] = run_js([{"op": "bundle", "jwk": wallet.to_jwk(), "items": specs}])
    raw = unb64(bundle["raw"])
    items = ans104.deserialize_bundle(raw, standard=True)
    assert [b64url_encode(i.id or b"") for i in items] == bundle["ids"]
    for item, spec in zip(items, specs, strict=True):
        assert ans104.verify(item)
        assert item.tags == _spec_tags(spec)
    assert ans104.serialize_bundle(items, standard=True) == raw


def test_our_bundles_read_in_arbundles(wallet: Wallet) -> None:
    """Our standard bundles parse and verify in arbundles with the same IDs;
    upstream-style bundles (big-endian numbers) cannot be read there."""
    items = _our_items(wallet)[:3]
    standard = ans104.serialize_bundle(items, standard=True)
    upstream_style = ans104.serialize_bundle(items)
    ids = [b64url_encode(item.id or b"") for item in items]
    [result] = run_js([{"op": "parse_bundle", "raw": b64(standard)}])
    assert result["valid"] is True
    assert result["ids"] == ids
    assert [seen["id"] for seen in result["items"]] == ids
    assert [unb64(seen["data"]) for seen in result["items"]] == [
        ans104.deserialize(ans104.serialize(item), unbundle=False).data for item in items
    ]
    [failure] = _run_js_raw([{"op": "parse_bundle", "raw": b64(upstream_style)}])
    assert "error" in failure


def _b64_tree(value: Any) -> Any:
    return [_b64_tree(v) for v in value] if isinstance(value, list) else b64(value)


def test_deep_hash_and_tag_encoding_agree() -> None:
    """ar_deep_hash:hash/1 and ar_bundles:encode_tags/1 against arbundles'
    deepHash and serializeTags."""
    trees: list[Any] = [
        b"",
        b"blob",
        [],
        [b"a", [b"b", [b""]], os.urandom(3000)],
        [b"dataitem", b"1", b"1", os.urandom(512), b"", os.urandom(32), b"tags", b"data"],
    ]
    tag_sets = [
        [("a", "b")],
        [("Content-Type", "text/plain"), ("empty", ""), ("unicode", "日本語 ✓ 🎉")],
        [(f"n{n}", "v" * (n % 7)) for n in range(100)],
    ]
    requests: list[dict[str, Any]] = [{"op": "deep_hash", "value": _b64_tree(t)} for t in trees]
    requests += [
        {"op": "tags", "tags": [{"name": n, "value": v} for n, v in tags]} for tags in tag_sets
    ]
    results = run_js(requests)
    for tree, theirs in zip(trees, results, strict=False):
        assert ans104.deep_hash(tree) == unb64(theirs)
    for tags, theirs in zip(tag_sets, results[len(trees) :], strict=True):
        encoded = [(n.encode(), v.encode()) for n, v in tags]
        assert ans104.encode_tags(encoded) == unb64(theirs)

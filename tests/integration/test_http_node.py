"""A real node process, driven over real HTTP (issue 2's acceptance)."""

from __future__ import annotations

import socket
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from hyperbeam.codecs.httpsig import from_httpsig, to_httpsig
from hyperbeam.codecs.structured import from_message, to_message
from hyperbeam.crypto.wallet import Wallet
from tests.conftest import RunningNode, start_node, stop_node


@pytest.fixture
def client(node: RunningNode) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=node.url, timeout=10) as http:
        yield http


def test_inline_key_is_answered(client: httpx.Client) -> None:
    res = client.get("/~message@1.0&k=v/k")
    assert res.status_code == 200
    assert res.text == "v"


def test_quoted_and_typed_keys(client: httpx.Client) -> None:
    res = client.get('/~message@1.0&greeting="Hello"&count+integer=42/count')
    assert res.status_code == 200
    assert res.text == "42"
    # Untyped inline values are taken verbatim, quotes included (hb_singleton:maybe_typed/2).
    res = client.get('/~message@1.0&greeting="Hello"&count+integer=42/greeting')
    assert res.status_code == 200
    assert res.text == '"Hello"'


def test_message_result_is_rendered_as_headers(client: httpx.Client) -> None:
    res = client.get("/~message@1.0&a=1&b=two")
    assert res.status_code == 200
    assert res.headers["a"] == "1"
    assert res.headers["b"] == "two"
    assert res.headers["access-control-allow-origin"] == "*"


def test_query_parameters_are_keys(client: httpx.Client) -> None:
    res = client.get("/~message@1.0/color", params={"color": "blue"})
    assert res.status_code == 200
    assert res.text == "blue"


def test_nested_path_resolution(client: httpx.Client) -> None:
    res = client.get('/~message@1.0&a+map=b="c"/a/b')
    assert res.status_code == 200
    assert res.text == "c"
    # A token in a map is an atom (hb_structured_fields:from_bare_item/1), and an
    # atom travels as a quoted string typed by `ao-types`.
    res = client.get("/~message@1.0&a+map=b=c/a/b")
    assert res.status_code == 200
    assert res.text == '"c"'
    assert 'body="atom"' in res.headers["ao-types"]


def test_post_body_is_a_key(client: httpx.Client) -> None:
    res = client.post("/~message@1.0/body", content=b"hello body")
    assert res.status_code == 200
    assert res.text == "hello body"


def _post_message(client: httpx.Client, msg: dict[str, Any]) -> httpx.Response:
    """POST a message encoded as upstream's client does (httpsig@1.0, hb_http:post/3)."""
    http = to_httpsig(from_message(msg))
    body = http.pop("body", b"")
    path = http.pop("path").decode()
    return client.post(
        path, headers={k: v.decode("latin-1") for k, v in http.items()}, content=body
    )


def _decoded(res: httpx.Response) -> dict[str, Any]:
    http: dict[str, Any] = dict(res.headers)
    http["body"] = res.content
    return to_message(from_httpsig(http))


def test_httpsig_post_resolves_its_path(client: httpx.Client) -> None:
    """hb_http: simple_ao_resolve_unsigned_test."""
    res = _post_message(client, {"path": "/key1", "key1": "Value1"})
    assert res.status_code == 200
    assert res.text == "Value1"


def test_httpsig_post_of_nested_message_answers_a_message(client: httpx.Client) -> None:
    """Workload B3: a multipart POST whose answer is itself a message."""
    res = _post_message(client, {"path": "key1", "key1": {"key2": "value1", "n": 7}})
    assert res.status_code == 200
    answer = _decoded(res)
    assert answer["key2"] == "value1"
    assert answer["n"] == 7
    assert answer["status"] == 200


def test_typed_values_travel_typed(client: httpx.Client) -> None:
    res = client.get("/~message@1.0&i+integer=5&f+float=1.5&l+list=1,2")
    assert res.status_code == 200
    answer = _decoded(res)
    assert answer["i"] == 5
    assert answer["f"] == 1.5
    assert answer["l"] == [1, 2]


def test_values_that_cannot_be_headers_go_in_the_body(client: httpx.Client) -> None:
    res = client.get("/~message@1.0&k=a%0D%0Ainjected:%20yes&z=1")
    assert res.status_code == 200
    assert "injected" not in res.headers
    assert _decoded(res)["k"] == "a\r\ninjected: yes"


def test_status_key_sets_http_status(client: httpx.Client) -> None:
    res = client.get("/~message@1.0&status+integer=201&body=made")
    assert res.status_code == 201
    assert res.text == "made"


def test_missing_key_is_404(client: httpx.Client) -> None:
    res = client.get("/~message@1.0&k=v/nothing-here")
    assert res.status_code == 404


def test_private_keys_are_never_answered(client: httpx.Client) -> None:
    res = client.get("/~message@1.0&priv-secret=s/priv-secret")
    assert res.status_code == 404
    assert res.text != "s"


def test_root_redirects(client: httpx.Client) -> None:
    res = client.get("/")
    assert res.status_code == 302
    assert res.headers["location"] == "/~hyperbuddy@1.0/index"


def test_meta_info_describes_the_node(client: httpx.Client, node: RunningNode) -> None:
    res = client.get("/~meta@1.0/info")
    assert res.status_code == 200
    assert res.headers["port"] == node.url.rsplit(":", 1)[1]


def test_options_preflight(client: httpx.Client) -> None:
    res = client.options("/anything")
    assert res.status_code == 204
    assert "OPTIONS" in res.headers["access-control-allow-methods"]


# --- bad input: a clear error, and the node keeps serving ----------------------

BAD_REQUESTS = [
    ("unknown device", "/~nosuch-device@9.9/x", {404}),
    ("bad integer cast", "/~message@1.0&n+integer=abc/n", {400}),
    ("unknown cast", "/~message@1.0&n+bogus=1/n", {400}),
    ("unbalanced parens", "/~message@1.0&a=(b/c", {400}),
]


@pytest.mark.parametrize(("why", "path", "codes"), BAD_REQUESTS, ids=[b[0] for b in BAD_REQUESTS])
def test_bad_paths_get_clear_errors(
    client: httpx.Client, node: RunningNode, why: str, path: str, codes: set[int]
) -> None:
    res = client.get(path)
    assert res.status_code in codes, (why, res.status_code, res.text)
    assert res.text, "an error must carry a reason"
    assert node.alive()
    assert client.get("/~message@1.0&k=v/k").text == "v"


def test_huge_headers_are_refused_and_node_survives(
    client: httpx.Client, node: RunningNode
) -> None:
    try:
        res = client.get("/~message@1.0&k=v/k", headers={"x-big": "a" * 200_000})
        assert 400 <= res.status_code < 500
    except httpx.RemoteProtocolError:
        pass  # the server may drop the connection outright; that is a refusal too
    assert node.alive()
    assert client.get("/~message@1.0&k=v/k").text == "v"


def test_malformed_http_is_refused_and_node_survives(
    client: httpx.Client, node: RunningNode
) -> None:
    host, port = node.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        sock.sendall(b"THIS IS NOT HTTP\r\n\r\n")
        reply = sock.recv(1024)
    assert reply == b"" or reply.startswith(b"HTTP/1.1 4")
    assert node.alive()
    assert client.get("/~message@1.0&k=v/k").text == "v"


def test_huge_body_is_refused(tmp_path_factory: pytest.TempPathFactory) -> None:
    from tests.conftest import start_node, stop_node

    small = start_node(tmp_path_factory.mktemp("small"), "--max-body-bytes", "1000")
    try:
        with httpx.Client(base_url=small.url, timeout=10) as c:
            res = c.post("/~message@1.0/body", content=b"x" * 5000)
            assert res.status_code == 413
            assert "larger than 1000" in res.text
            assert c.post("/~message@1.0/body", content=b"ok").text == "ok"
    finally:
        stop_node(small)


def test_node_creates_its_wallet_once(tmp_path: Path) -> None:
    """The node generates a key file on first start (mode 0600) and keeps it."""
    first = start_node(tmp_path)
    try:
        address = httpx.get(f"{first.url}/~meta@1.0/info").headers["address"]
    finally:
        stop_node(first)
    key_file = first.data_dir / "wallet.json"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert Wallet.load(key_file).address == address
    second = start_node(tmp_path)
    try:
        assert httpx.get(f"{second.url}/~meta@1.0/info").headers["address"] == address
    finally:
        stop_node(second)

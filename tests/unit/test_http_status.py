"""Result -> HTTP status. Upstream: dev_meta:status_code/1, embed_status/1."""

from __future__ import annotations

import pytest

from hyperbeam.http.render import render
from hyperbeam.http.status import embed_status, status_code
from hyperbeam.message.model import Atom


@pytest.mark.parametrize(
    ("status", "result", "code"),
    [
        ("ok", {"a": 1}, 200),
        ("error", {"a": 1}, 400),
        ("created", {}, 201),
        ("failure", "x", 500),
        ("unavailable", {}, 503),
        ("error", "not_found", 404),
        ("ok", {"status": 418}, 418),
        ("ok", {"status": "302"}, 302),
        ("ok", {"status": Atom("not_found")}, 404),
        ("error", {"body": Atom("unavailable")}, 503),
        ("something-else", {}, 500),
    ],
)
def test_status_code(status: str, result: object, code: int) -> None:
    assert status_code(status, result) == code


def test_embed_status_wraps_literals() -> None:
    assert embed_status("ok", "v") == {"status": 200, "body": "v"}
    assert embed_status("ok", {"k": "v"}) == {"k": "v", "status": 200}


def test_render_puts_short_text_in_headers_and_body_in_body() -> None:
    code, headers, body = render({"status": 200, "a": "x", "n": 5, "body": "hello"}, {})
    hdrs = dict(headers)
    assert code == 200
    assert (hdrs["a"], hdrs["n"], body) == ("x", "5", b"hello")


def test_render_never_exposes_private_keys() -> None:
    _, headers, body = render({"priv": {"k": "secret"}, "priv-x": "secret", "a": "b"}, {})
    assert "secret" not in repr(headers) and b"secret" not in body


def test_render_puts_nested_values_and_line_breaks_in_a_multipart_body() -> None:
    _, headers, body = render({"a": {"b": "c"}, "line": "x\ny"}, {})
    hdrs = dict(headers)
    assert hdrs["content-type"].startswith("multipart/form-data; boundary=")
    assert "line" not in hdrs
    assert b'b: c\r\ncontent-disposition: form-data;name="a"' in body
    assert b"x\ny" in body

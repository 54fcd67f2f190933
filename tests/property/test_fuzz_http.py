"""Fuzzing a real node over HTTP: hostile raw requests to ``hyperbeam serve``.

Each request is written byte by byte on a socket: a request line with a
mutated HyperPATH or a real client's target, the headers real clients sent
(``tests/vectors/clients``) with names and values mutated and hostile ones
added, a mutated body; now and then the whole request is mutated after it
was framed. Every answer must be an HTTP reply with a status of 2xx to
5xx and a reason phrase, an error status must say why in its body, and
no answer may be the ``500 internal error`` the node gives an exception
that is not one of its own (a bug). A request whose framing is broken may
get no answer at all, but the node must live. Afterwards the node still
answers the README's ``GET /~message@1.0&k=v/k`` with ``v``.
"""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterator

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from tests.conftest import RunningNode, start_node, stop_node
from tests.property.fuzz import TIMEOUT, fuzz, mutated
from tests.property.test_fuzz_httpsig import Request, requests
from tests.property.test_fuzz_path import README_PATHS
from tests.property.test_fuzz_path import TOKENS as PATH_TOKENS

pytestmark = TIMEOUT

#: Longest wait for one answer: the node's own deadlines for headers and
#: bodies are set to 2 s below, so a request that never completes is dropped.
ANSWER_TIMEOUT = 15.0
FRAMING = [b"\r\n", b"\r\n\r\n", b" ", b":", b"\x00", b"HTTP/1.1", b"content-length: 99\r\n"]


@pytest.fixture(scope="module")
def fuzz_node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningNode]:
    running = start_node(
        tmp_path_factory.mktemp("fuzz-node"),
        "--set", "header_timeout=2",
        "--set", "body_timeout=2",
    )  # fmt: skip
    yield running
    stop_node(running)


def _frame(request: Request, host: bytes) -> bytes:
    """The request on the wire, with its own ``content-length`` and
    ``connection: close`` (so the answer ends with the connection)."""
    method, target, headers, body = request
    lines = [f"{method} {target} HTTP/1.1".encode("latin-1"), b"host: " + host]
    for name, value in headers:
        if name.lower() in ("host", "content-length", "transfer-encoding", "connection"):
            continue
        lines.append(name.encode("latin-1") + b": " + value)
    lines += [b"content-length: %d" % len(body), b"connection: close"]
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


def _exchange(node: RunningNode, raw: bytes, *, framed: bool = True) -> bytes:
    """Send ``raw``, then read the answer until the node closes. A request
    whose framing was broken may not say ``connection: close``: the write
    side is closed instead, so the node closes when it has answered."""
    host, port = node.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=ANSWER_TIMEOUT) as sock:
        # The node may refuse a request before it is all sent.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            sock.sendall(raw)
            if not framed:
                sock.shutdown(socket.SHUT_WR)
        chunks: list[bytes] = []
        with contextlib.suppress(ConnectionResetError):
            while chunk := sock.recv(65536):
                chunks.append(chunk)
        return b"".join(chunks)


def _check_answer(answer: bytes, *, framed: bool) -> None:
    """Each reply in ``answer`` (a well-framed request gets exactly one; a
    broken one may be read as several requests, or get none)."""
    if not answer:
        assert not framed, "a well-framed request got no answer"
    replies = 0
    while answer:
        answer = _check_reply(answer)
        replies += 1
    assert replies == 1 or not framed, f"{replies} replies to one request"


def _check_reply(answer: bytes) -> bytes:
    """Check the first reply in ``answer``; what follows it."""
    head, sep, rest = answer.partition(b"\r\n\r\n")
    assert sep, f"a reply with no end to its head: {answer[:200]!r}"
    status_line = head.split(b"\r\n", 1)[0]
    version, _, status = status_line.partition(b" ")
    code_text, _, reason = status.partition(b" ")
    assert version == b"HTTP/1.1", status_line
    code = int(code_text)
    assert 200 <= code < 600, status_line
    assert reason.strip(), f"no reason phrase: {status_line!r}"
    # Framed by one content-length, never by its own keys.
    fields = [line.partition(b":") for line in head.split(b"\r\n")[1:]]
    names = [name.strip().lower() for name, _, _ in fields]
    assert b"transfer-encoding" not in names, head
    lengths = [
        value.strip() for name, _, value in fields if name.strip().lower() == b"content-length"
    ]
    assert len(lengths) == 1, head
    size = int(lengths[0])
    assert len(rest) >= size, (size, len(rest))
    body = rest[:size]
    if code >= 400:
        assert body.strip(), f"{code} without a reason in its body"
    assert b"internal error" not in body, body[:400]
    return rest[size:]


_paths = st.one_of(
    st.sampled_from(README_PATHS).map(str.encode),
    mutated(st.sampled_from(README_PATHS).map(str.encode), PATH_TOKENS),
)


#: The ``Host`` every request names (the node does not mind which).
HOST = b"127.0.0.1"


@st.composite
def _hostile_requests(draw: st.DrawFn) -> tuple[bytes, bool]:
    """A request's bytes, and whether they are well framed."""
    method, target, headers, body = draw(requests())
    if draw(st.booleans()):  # a HyperPATH instead of the client's target
        target = draw(_paths).decode("latin-1")
    raw = _frame((method, target, headers, body), HOST)
    if draw(st.integers(0, 4)) == 0:  # now and then, break the framing too
        return draw(mutated(st.just(raw), FRAMING, max_mutations=2)), False
    # A line break in the request line or a header frames another request.
    head = [target.encode("latin-1"), *(n.encode("latin-1") + v for n, v in headers)]
    return raw, not any(b"\r" in part or b"\n" in part for part in head)


def _get(path: str) -> bytes:
    return _frame(("GET", path, [], b""), HOST)


def test_hostile_requests_get_answers(fuzz_node: RunningNode) -> None:
    @fuzz(1)
    @given(case=_hostile_requests())
    @example(case=(_get("/~message@1.0&k=v/k"), True))
    # Two requests, no `connection: close`: two replies, then the node closes.
    @example(case=(_get("/~message@1.0&k=v/k").replace(b"connection", b"x") + b"GET /", False))
    # Regression: a result's `transfer-encoding` key was sent as that header.
    @example(case=(_get("/~message@1.0&transfer-encoding=chunked&content-length=9&x=1"), True))
    def fuzz_once(case: tuple[bytes, bool]) -> None:
        raw, framed = case
        _check_answer(_exchange(fuzz_node, raw, framed=framed), framed=framed)
        assert fuzz_node.alive(), "the node died"

    fuzz_once()
    answer = _exchange(fuzz_node, _get("/~message@1.0&k=v/k"))
    _check_answer(answer, framed=True)
    assert answer.startswith(b"HTTP/1.1 200 "), answer[:200]
    assert answer.endswith(b"\r\n\r\nv"), answer[-200:]


# Found by this fuzzer: uvicorn raised KeyError (STATUS_LINE[42]) and sent nothing.
@pytest.mark.parametrize("status", [42, 101, 999])
def test_a_result_status_that_is_no_http_status_is_answered(
    fuzz_node: RunningNode, status: int
) -> None:
    answer = _exchange(fuzz_node, _get(f"/~message@1.0&status+integer={status}"))
    _check_answer(answer, framed=True)
    assert answer.startswith(b"HTTP/1.1 500 "), answer[:200]
    assert f"the result's status {status} is not an HTTP status".encode() in answer

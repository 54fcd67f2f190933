"""B3: unsigned resolve over HTTP (spec/perf.md section 6).

Workload: a node started as ``hyperbeam serve``; each request asks it to
resolve ``key1`` on the message ``{key1: {key2: "value1"}}`` and return the
result, 1 s closed loops (median of 3), with 1 and with 16 keep-alive clients.
Two encodings of the same request:
  - ``POST``: ``{path: "key1", key1: {key2: "value1"}}`` encoded by the httpsig@1.0
    codec as upstream's client sends it (a multipart body; the spec's B3);
  - ``GET``: the HyperPATH ``/~message@1.0&key1+map=key2="value1"/key1``.

Upstream: hb_http_benchmark_tests unsigned_resolve_benchmark_test (> 400/s,
1 client) and parallel_unsigned_resolve_benchmark_test (> 1,000/s, 16 clients);
PR #61 on an M3 laptop: 615 and 3,558 msg/s.

Run: .venv/bin/python -m bench.b3_unsigned_resolve
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from bench._common import http_load, machine_line, median_of, report, start_node, stop_node
from hyperbeam.codecs.httpsig import to_httpsig
from hyperbeam.codecs.structured import from_message

PATH = '/~message@1.0&key1+map=key2="value1"/key1'


def post_request(value: str = "value1") -> bytes:
    """The B3 message as upstream's hb_http:post/3 would send it."""
    http = to_httpsig(from_message({"path": "key1", "key1": {"key2": value}}))
    body = http.pop("body", b"")
    path = http.pop("path")
    head = b"".join(k.encode() + b": " + v + b"\r\n" for k, v in http.items())
    return (
        b"POST /"
        + path
        + b" HTTP/1.1\r\nHost: bench\r\nConnection: keep-alive\r\n"
        + head
        + b"Content-Length: "
        + str(len(body)).encode()
        + b"\r\n\r\n"
        + body
    )


def get_request() -> bytes:
    return f"GET {PATH} HTTP/1.1\r\nHost: bench\r\nConnection: keep-alive\r\n\r\n".encode()


def main(seconds: float = 1.0, runs: int = 3) -> None:
    print(machine_line())
    with tempfile.TemporaryDirectory() as tmp:
        node = start_node(Path(tmp), "--log-level", "warning", "--no-force-signed")
        try:
            for name, request in (("POST httpsig", post_request()), ("GET path", get_request())):
                http_load(node.url, request, 4, 0.5)  # warm-up
                for clients in (1, 16):
                    label = f"B3 unsigned resolve, {name}, {clients} clients"
                    rates = [
                        report(label, *http_load(node.url, request, clients, seconds))
                        for _ in range(runs)
                    ]
                    print(f"{label} median: {median_of(rates):,.0f}/s")
        finally:
            stop_node(node)


if __name__ == "__main__":
    main()

"""B4: signed resolve over HTTP (spec/perf.md section 6).

Workload: B3's request (``{path: "key1", key1: {key2: "value1"}}`` POSTed in
httpsig form) against a node that commits every reply with its RSA-4096
wallet (``rsa-pss-sha512``, upstream's ``force_signed``, our default).
1 s closed loops, median of 3, with 1 and 32 keep-alive clients. Each reply
is a fresh signature: nothing is cached.

Upstream anchors: hb_http_benchmark_tests assert > 50 (1 client) and > 100
(parallel) signed replies/s; PR #61 (M3) 61 / 295. The spec's ceiling on this
machine: 603-617 (1 client) and 1,160-1,260 (32 clients), set by RSA signing.

Run: .venv/bin/python -m bench.b4_signed_resolve
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from bench._common import http_load, machine_line, median_of, report, start_node, stop_node
from bench.b3_unsigned_resolve import post_request


def main(seconds: float = 1.0, runs: int = 3) -> None:
    print(machine_line())
    with tempfile.TemporaryDirectory() as tmp:
        node = start_node(Path(tmp), "--log-level", "warning", "--workers", "4")
        try:
            request = post_request()
            http_load(node.url, request, 4, 0.5)  # warm-up
            for clients in (1, 32):
                label = f"B4 signed resolve, POST httpsig, {clients} clients"
                rates = [
                    report(label, *http_load(node.url, request, clients, seconds))
                    for _ in range(runs)
                ]
                print(f"{label} median: {median_of(rates):,.0f}/s")
        finally:
            stop_node(node)


if __name__ == "__main__":
    main()

"""B4: signed resolve over HTTP (spec/perf.md section 6).

Workload: B3's request (``{path: "key1", key1: {key2: "value1"}}`` POSTed in
httpsig form) against a node that commits every reply with its RSA-4096
wallet (``rsa-pss-sha512``, upstream's ``force_signed``, our default).
1 s closed loops, median of 3, with 1 and 32 keep-alive clients, in two
variants:
  - ``identical``: every request is the same, as in upstream's benchmark, so
    the node signs the reply once and serves it from its signed-reply memo;
  - ``distinct``: 20,000 requests that differ in ``key2``'s value, so every
    reply is freshly signed (RSA-4096 PSS-SHA512).

Upstream anchors: hb_http_benchmark_tests assert > 50 (1 client) and > 100
(parallel) signed replies/s; PR #61 (M3) 61 / 295. The spec's ceiling on this
machine: 603-617 (1 client) and 1,160-1,260 (32 clients), set by RSA signing.

Run: .venv/bin/python -m bench.b4_signed_resolve
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from bench._common import (
    cpu_seconds,
    http_load,
    machine_line,
    median_of,
    report,
    start_node,
    stop_node,
)
from bench.b3_unsigned_resolve import post_request


def main(seconds: float = 1.0, runs: int = 3) -> None:
    print(machine_line())
    with tempfile.TemporaryDirectory() as tmp:
        node = start_node(Path(tmp), "--log-level", "warning", "--workers", "4")
        try:
            workloads = {
                "identical": [post_request()],
                "distinct": [post_request(f"value{i}") for i in range(20_000)],
            }
            http_load(node.url, workloads["identical"], 4, 0.5)  # warm-up
            for name, requests in workloads.items():
                for slot, clients in enumerate((1, 32)):
                    label = f"B4 signed resolve, {name} replies, {clients} clients"
                    rates = []
                    for run in range(runs):
                        # Every run gets distinct requests no earlier run has sent.
                        start = (slot * runs + run) * 3000
                        batch = requests[start : start + 3000] or requests
                        before = cpu_seconds(node.process.pid)
                        count, elapsed = http_load(node.url, batch, clients, seconds)
                        used = cpu_seconds(node.process.pid) - before
                        rates.append(report(label, count, elapsed))
                        print(f"  node CPU: {used / count * 1000:.2f} ms per reply")
                    print(f"{label} median: {median_of(rates):,.0f}/s")
        finally:
            stop_node(node)


if __name__ == "__main__":
    main()

"""B3: unsigned resolve over HTTP (spec/perf.md section 6).

Workload: a node started as ``hyperbeam serve``; each request asks it to
resolve ``key1`` on the message ``{key1: {key2: "value1"}}`` and return the
result, 1 s closed loops (median of 3), with 1 and with 16 keep-alive clients.
The message travels as a HyperPATH (``/~message@1.0&key1+map=key2=value1/key1``)
until signed httpsig POSTs arrive with the codecs.

Upstream: hb_http_benchmark_tests unsigned_resolve_benchmark_test (> 400/s,
1 client) and parallel_unsigned_resolve_benchmark_test (> 1,000/s, 16 clients);
PR #61 on an M3 laptop: 615 and 3,558 msg/s.

Run: .venv/bin/python -m bench.b3_unsigned_resolve
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from bench._common import http_load, machine_line, median_of, report, start_node, stop_node

PATH = "/~message@1.0&key1+map=key2=value1/key1"


def main(seconds: float = 1.0, runs: int = 3) -> None:
    print(machine_line())
    with tempfile.TemporaryDirectory() as tmp:
        node = start_node(Path(tmp), "--log-level", "warning")
        try:
            request = (
                f"GET {PATH} HTTP/1.1\r\nHost: bench\r\nConnection: keep-alive\r\n\r\n"
            ).encode()
            http_load(node.url, request, 4, 0.5)  # warm-up
            for clients in (1, 16):
                rates = []
                for _ in range(runs):
                    count, elapsed = http_load(node.url, request, clients, seconds)
                    rates.append(report(f"B3 unsigned resolve, {clients} clients", count, elapsed))
                print(f"B3 {clients} clients median: {median_of(rates):,.0f}/s")
        finally:
            stop_node(node)


if __name__ == "__main__":
    main()

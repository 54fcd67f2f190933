"""B1: crypto primitives (spec/perf.md section 6).

Workload: RSA-4096 PSS-SHA512 (salt 64) sign and verify of a 300-byte
signature base, with the node's wallet code; HMAC-SHA256 and SHA-256 over
1 KiB. 1 s closed loops, median of 3, on 1 thread and on 2 threads at once
(the `cryptography` calls release the GIL).

Upstream anchor: 73.6 RSA-4096 signs/s per core through upstream's Erlang
path on this machine; the spec's Python ceiling is 680 (1 thread) and 1,360
(2 threads) signs/s.

Run: .venv/bin/python -m bench.b1_crypto
"""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from bench._common import closed_loop, machine_line, median_of, report
from hyperbeam.crypto.wallet import Wallet, verify


def _threads(func: Callable[[], Any], threads: int, seconds: float) -> tuple[int, float]:
    if threads == 1:
        return closed_loop(func, seconds)
    with ThreadPoolExecutor(threads) as pool:
        results = list(pool.map(lambda _: closed_loop(func, seconds), range(threads)))
    return sum(n for n, _ in results), max(t for _, t in results)


def main(seconds: float = 1.0, runs: int = 3) -> None:
    print(machine_line())
    wallet = Wallet.generate()
    base = os.urandom(300)
    signature = wallet.sign(base, "sha512")
    kib = os.urandom(1024)
    cases: list[tuple[str, Callable[[], Any]]] = [
        ("RSA-4096 PSS-SHA512 sign, 300 B", lambda: wallet.sign(base, "sha512")),
        (
            "RSA-4096 PSS-SHA512 verify, 300 B",
            lambda: verify(wallet.owner, base, signature, "sha512"),
        ),
        ("HMAC-SHA256, 1 KiB", lambda: hmac.new(b"ao", kib, hashlib.sha256).digest()),
        ("SHA-256, 1 KiB", lambda: hashlib.sha256(kib).digest()),
    ]
    for label, func in cases:
        for threads in (1, 2):
            name = f"{label}, {threads} thread{'s' if threads > 1 else ''}"
            rates = [report(name, *_threads(func, threads, seconds)) for _ in range(runs)]
            print(f"{name} median: {median_of(rates):,.0f}/s")


if __name__ == "__main__":
    main()

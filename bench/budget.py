"""The CPU budget of one signed message: why B9 and B8c stop where they do.

Every scheduled message costs one RSA-4096 signature (its assignment), which
OpenSSL computes without the GIL, plus Python work that holds the GIL. With
two cores and one interpreter, two ceilings follow, whatever the threading:

* GIL ceiling:  1 / (the rest per message): the Python of all messages
  runs one at a time;
* CPU ceiling:  2 cores / (RSA time + the rest per message).

The rest is mostly Python; the few parts of it that let go of the GIL (the
disk flush, LMDB calls, a WASM call) make the GIL ceiling a little low.
Measured rates with many threads still stay below the lower ceiling (B9a
reaches about 70-80% of it): each return from a call that lets go of the
GIL waits for the thread holding it.

Each workload runs one message at a time on one thread (no contention), and
its CPU time (``time.thread_time``) is split into the RSA signature (timed
alone, same key and size) and the rest:

1. B9a: schedule the pre-signed ``{type: Message, test-key: test-val}`` on one
   process (a durable signed assignment: verify, sign, store, flush);
2. B9b: the same through the node's HTTP handler, in process (decode and
   verify upstream's signed ``many_clients`` request, schedule, encode the
   reply); the HTTP server itself and the clients come on top;
3. B8c: schedule one signed AOS Eval, then compute its slot through
   ``process@1.0`` (AOS stack, state stored).

Targets: issue 5 (B9) at least 500/s; issue 6 (B8c) at least 300/s; issue 11:
B9b at most 1.5 ms of non-RSA CPU, B8c at least 250/s.

Run: .venv/bin/python -m bench.budget [seconds]
"""

from __future__ import annotations

import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.processes import scheduler_test_process

from bench._common import machine_line, report
from bench.b5_b8_wasm import aos_schedule_requests
from bench.b9_scheduler import many_clients_message
from hyperbeam.ao.resolve import resolve
from hyperbeam.config import NodeConfig
from hyperbeam.http.app import HyperbeamApp
from hyperbeam.http.client import encode_request
from hyperbeam.message import commit
from hyperbeam.node import Node


def per_call(label: str, func: Callable[[], Any], count: int) -> float:
    """Call ``func`` ``count`` times; the thread's CPU time per call, in ms."""
    start, cpu = time.perf_counter(), time.thread_time()
    for _ in range(count):
        func()
    wall, used = time.perf_counter() - start, time.thread_time() - cpu
    report(label, count, wall)
    print(f"  {used / count * 1000:.2f} ms of CPU per call")
    return used / count * 1000


def ceilings(label: str, cpu_ms: float, rsa_ms: float, target: float) -> None:
    python_ms = cpu_ms - rsa_ms
    gil, cores = 1000 / python_ms, 2000 / cpu_ms
    allowed = min(1000 / target, 2000 / target - rsa_ms)
    print(
        f"  {label}: {cpu_ms:.2f} ms CPU per message = {rsa_ms:.2f} RSA + {python_ms:.2f} "
        f"other; ceilings {gil:,.0f}/s (GIL), {cores:,.0f}/s (2 cores); "
        f"{target:,.0f}/s allows at most {allowed:.2f} ms of other"
    )


def main(seconds: float = 2.0) -> None:
    print(machine_line())
    with tempfile.TemporaryDirectory() as tmp:
        node = Node(NodeConfig(data_dir=Path(tmp), gateway=""))
        node.prepare()
        try:
            assert node.wallet is not None
            wallet, opts = node.wallet, node.opts()
            base = bytes(600)
            rsa = per_call("RSA-4096 sign", lambda: wallet.sign(base, "sha512"), 300)

            proc = scheduler_test_process(wallet.address)
            message = commit.commit({"type": "Message", "test-key": "test-val"}, wallet)
            request = {"path": "schedule", "method": "POST", "body": message}
            count = max(100, int(seconds * 250))
            cpu = per_call("B9a schedule", lambda: resolve(proc, request, opts), count)
            ceilings("B9a", cpu, rsa, 500)

            app = HyperbeamApp(node)
            _, msg1 = many_clients_message(wallet)
            headers, body = encode_request(msg1)
            fields = {k.lower(): v for k, v in headers.items()} | {"host": "bench"}
            path = fields["path"]

            def post() -> None:
                code, _, reply = app.handle("POST", path, "", fields, body)
                assert code == 200, reply

            cpu = per_call("B9b HTTP handler", post, count)
            ceilings("B9b", cpu, rsa, 500)

            evals = max(100, int(seconds * 100))
            aos, aos_opts, requests = aos_schedule_requests(node, evals)
            queue = iter(requests)
            sched = per_call(
                "B8c schedule an Eval", lambda: resolve(aos, next(queue), aos_opts), evals
            )
            slots = iter(range(1, evals + 1))
            comp = per_call(
                "B8c compute its slot",
                lambda: resolve(aos, {"path": "compute", "slot": next(slots)}, aos_opts),
                evals,
            )
            ceilings("B8c", sched + comp, rsa, 300)
        finally:
            node.close()


if __name__ == "__main__":
    main(float(sys.argv[1]) if len(sys.argv) > 1 else 2.0)

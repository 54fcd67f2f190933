"""Helpers shared by the benchmarks: timing loops, a raw HTTP/1.1 load generator,
and starting a node process. Every benchmark prints ``N ops in T s (X/s)``."""

from __future__ import annotations

import asyncio
import os
import platform
import statistics
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from tests.conftest import RunningNode, start_node, stop_node


def machine_line() -> str:
    cpu = "unknown cpu"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"# machine: {cpu}, Python {platform.python_version()}"


def report(label: str, count: int, seconds: float) -> float:
    rate = count / seconds
    print(f"{label}: {count} ops in {seconds:.2f} s ({rate:,.0f}/s)", flush=True)
    return rate


def closed_loop(func: Callable[[], Any], seconds: float) -> tuple[int, float]:
    """Call ``func`` until ``seconds`` pass; return (calls, elapsed)."""
    count = 0
    start = time.perf_counter()
    deadline = start + seconds
    while time.perf_counter() < deadline:
        func()
        count += 1
    return count, time.perf_counter() - start


def schedule_and_compute(
    process: dict[str, Any], requests: list[dict[str, Any]], opts: dict[str, Any], clients: int = 4
) -> tuple[float, dict[str, Any]]:
    """``clients`` threads schedule ``requests`` on ``process`` while this
    one computes it to its latest slot, until every request is computed:
    (seconds taken, the last state)."""
    from hyperbeam.ao.resolve import resolve

    def client(part: list[dict[str, Any]]) -> None:
        for request in part:
            assert resolve(process, request, opts)[0] == "ok"

    start = time.perf_counter()
    threads = [
        threading.Thread(target=client, args=(requests[n::clients],)) for n in range(clients)
    ]
    for thread in threads:
        thread.start()
    computed, state = 0, {}
    while computed < len(requests):
        status, current = resolve(process, {"path": "slot/current"}, opts)
        if int(current) > computed:
            status, state = resolve(process, {"path": "compute", "slot": int(current)}, opts)
            assert status == "ok", state
            computed = int(current)
        else:
            time.sleep(0.001)
    elapsed = time.perf_counter() - start
    for thread in threads:
        thread.join()
    return elapsed, state


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time a process has used so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks


def median_of(runs: list[float]) -> float:
    return statistics.median(runs)


async def _client(
    host: str,
    port: int,
    requests: Sequence[bytes],
    deadline: float,
    counts: list[int],
    expect: bytes,
) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        while time.perf_counter() < deadline:
            writer.write(requests[counts[0] % len(requests)])
            await writer.drain()
            head = await reader.readuntil(b"\r\n\r\n")
            if not head.startswith(expect):
                raise RuntimeError(f"unexpected reply: {head[:200]!r}")
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            if length:
                await reader.readexactly(length)
            counts[0] += 1
    finally:
        writer.close()


def http_load(
    url: str, request: bytes | Sequence[bytes], clients: int, seconds: float
) -> tuple[int, float]:
    """Keep-alive HTTP/1.1 closed loops from ``clients`` connections at once.

    Given several requests, the clients take them in turn (one after another
    across all connections)."""
    requests = [request] if isinstance(request, bytes) else list(request)
    host, port = url.removeprefix("http://").split(":")
    counts = [0]

    async def run() -> float:
        start = time.perf_counter()
        deadline = start + seconds
        await asyncio.gather(
            *(
                _client(host, int(port), requests, deadline, counts, b"HTTP/1.1 200")
                for _ in range(clients)
            )
        )
        return time.perf_counter() - start

    elapsed = asyncio.run(run())
    return counts[0], elapsed


__all__ = ["RunningNode", "start_node", "stop_node"]

"""Helpers shared by the benchmarks: timing loops, a raw HTTP/1.1 load generator,
and starting a node process. Every benchmark prints ``N ops in T s (X/s)``."""

from __future__ import annotations

import asyncio
import platform
import statistics
import time
from collections.abc import Callable
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


def median_of(runs: list[float]) -> float:
    return statistics.median(runs)


async def _client(
    host: str, port: int, request: bytes, deadline: float, counts: list[int], expect: bytes
) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        while time.perf_counter() < deadline:
            writer.write(request)
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


def http_load(url: str, request: bytes, clients: int, seconds: float) -> tuple[int, float]:
    """Keep-alive HTTP/1.1 closed loops from ``clients`` connections at once."""
    host, port = url.removeprefix("http://").split(":")
    counts = [0]

    async def run() -> float:
        start = time.perf_counter()
        deadline = start + seconds
        await asyncio.gather(
            *(
                _client(host, int(port), request, deadline, counts, b"HTTP/1.1 200")
                for _ in range(clients)
            )
        )
        return time.perf_counter() - start

    elapsed = asyncio.run(run())
    return counts[0], elapsed


__all__ = ["RunningNode", "start_node", "stop_node"]

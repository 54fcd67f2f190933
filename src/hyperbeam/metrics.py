"""The node's metrics, in Prometheus text format (``prometheus_client``).

Served at ``/metrics`` and ``/~hyperbuddy@1.0/metrics``:

======================================  ==============================================
``hyperbeam_http_requests_total``       requests, by the device they first reach
                                        (``device``) and the answer's ``status``
``hyperbeam_http_request_seconds``      latency histogram, by ``device``
``hyperbeam_store_reads_total``         message reads from the store, by ``result``
                                        (``hit`` or ``miss``)
``hyperbeam_store_writes_total``        messages written to the store
``hyperbeam_resolve_cache_total``       lookups of resolved results, by ``result``
``hyperbeam_slots_assigned_total``      slots the node's schedulers assigned
``hyperbeam_wasm_executions_total``     WASM computations (``wasm-64@1.0`` compute)
``hyperbeam_lua_executions_total``      Lua calls (``lua@5.3a``, once it is loaded)
``hyperbeam_node_info``                 1, labelled with ``version`` and ``address``
process_* / python_*                    the process's CPU, memory, open files, GC
======================================  ==============================================

Counting is a few hundred nanoseconds per event. The metrics are kept per
Python process (in-process test nodes share them).

Upstream: dev_hyperbuddy:metrics/3, hb_metrics_collector (which exports
``process_uptime_seconds`` and ``system_load``; the rest are cowboy's and the
Erlang VM's).
"""

from __future__ import annotations

import time

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    gc_collector,
    generate_latest,
    platform_collector,
    process_collector,
)

REGISTRY = CollectorRegistry(auto_describe=True)
process_collector.ProcessCollector(registry=REGISTRY)
platform_collector.PlatformCollector(registry=REGISTRY)
gc_collector.GCCollector(registry=REGISTRY)

CONTENT_TYPE = CONTENT_TYPE_LATEST

HTTP_REQUESTS = Counter(
    "hyperbeam_http_requests",
    "HTTP requests answered, by the device they first reach and the status answered",
    ["device", "status"],
    registry=REGISTRY,
)
HTTP_SECONDS = Histogram(
    "hyperbeam_http_request_seconds",
    "Time from a request's arrival to its answer, by the device it first reaches",
    ["device"],
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
    registry=REGISTRY,
)
STORE_READS = Counter(
    "hyperbeam_store_reads",
    "Messages read from the node's store, by whether they were found",
    ["result"],
    registry=REGISTRY,
)
STORE_WRITES = Counter(
    "hyperbeam_store_writes", "Messages written to the node's store", registry=REGISTRY
)
RESOLVE_CACHE = Counter(
    "hyperbeam_resolve_cache",
    "Lookups of resolved results in the cache, by whether one was found",
    ["result"],
    registry=REGISTRY,
)
SLOTS_ASSIGNED = Counter(
    "hyperbeam_slots_assigned", "Slots assigned by this node's schedulers", registry=REGISTRY
)
WASM_EXECUTIONS = Counter(
    "hyperbeam_wasm_executions", "WebAssembly computations (wasm-64@1.0 compute)", registry=REGISTRY
)
LUA_EXECUTIONS = Counter("hyperbeam_lua_executions", "Lua calls (lua@5.3a)", registry=REGISTRY)
CACHE_WRITES_DROPPED = Counter(
    "hyperbeam_cache_writes_dropped",
    "Cache writes dropped because the writer was too far behind",
    registry=REGISTRY,
)
CACHE_WRITER_BACKLOG = Gauge(
    "hyperbeam_cache_writer_backlog", "Writes waiting for the cache writer", registry=REGISTRY
)
COMPUTE_RUNNING = Gauge(
    "hyperbeam_compute_running", "WASM and Lua calls running now (see gate)", registry=REGISTRY
)
NODE_INFO = Gauge(
    "hyperbeam_node_info", "This node: its version and address", ["version", "address"],
    registry=REGISTRY,
)  # fmt: skip
STARTED = Gauge(
    "hyperbeam_start_time_seconds", "When the node started (Unix time)", registry=REGISTRY
)
STARTED.set(time.time())


def text() -> bytes:
    """Every metric, in the Prometheus text format."""
    return generate_latest(REGISTRY)


def node_started(version: str, address: str | None) -> None:
    NODE_INFO.labels(version=version, address=address or "").set(1)

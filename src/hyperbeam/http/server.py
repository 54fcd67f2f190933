"""The HTTP server: uvicorn with the node's connection limits.

uvicorn bounds idle keep-alive connections but not a connection that is slow
to send its request: 500 connections dribbling header bytes all stayed
open. :func:`protocol` makes uvicorn's HTTP protocol class with two more
limits:

- ``header_timeout``: a connection must send a request's headers within
  this many seconds of opening, or of the end of the previous response;
  else it gets a 408 and is closed;
- ``max_connections``: connections past this number are answered 503 and
  closed as they arrive.

The body has its own deadline in the application (``body_timeout``, see
:mod:`hyperbeam.http.app`). Upstream (cowboy) has the same kinds of limit:
``idle_timeout``, ``request_timeout``, ``max_connections``.
"""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import logging
import os
from typing import Any

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from hyperbeam.config import NodeConfig

log = logging.getLogger("hyperbeam.http.server")

_TIMED_OUT = (
    b"HTTP/1.1 408 Request Timeout\r\ncontent-type: text/plain\r\nconnection: close\r\n"
    b"content-length: %d\r\n\r\n%s"
)
_FULL = (
    b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: text/plain\r\nconnection: close\r\n"
    b"content-length: %d\r\n\r\n%s"
)


def _reply(template: bytes, reason: str) -> bytes:
    body = reason.encode()
    return template % (len(body), body)


class GuardedProtocol(HttpToolsProtocol):
    """uvicorn's protocol with a header deadline and a connection cap."""

    header_timeout: float = 10.0
    max_connections: int = 1000

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._header_timer: asyncio.TimerHandle | None = None
        if len(self.connections) > self.max_connections:
            log.warning("refusing a connection: %d are open", len(self.connections) - 1)
            reason = f"the node has {self.max_connections} connections open (max_connections)"
            transport.write(_reply(_FULL, reason))
            transport.close()
            return
        self._arm_header_timer()

    def on_headers_complete(self) -> None:
        self._cancel_header_timer()
        super().on_headers_complete()

    def on_response_complete(self) -> None:
        waiting = bool(self.pipeline)  # a pipelined request already sent its headers
        super().on_response_complete()
        if not waiting and not self.transport.is_closing():
            self._arm_header_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_header_timer()
        super().connection_lost(exc)

    def _arm_header_timer(self) -> None:
        self._cancel_header_timer()
        self._header_timer = self.loop.call_later(self.header_timeout, self._headers_too_slow)

    def _cancel_header_timer(self) -> None:
        timer = getattr(self, "_header_timer", None)
        if timer is not None:
            timer.cancel()
            self._header_timer = None

    def _headers_too_slow(self) -> None:
        self._header_timer = None
        if self.transport.is_closing():
            return
        if self.cycle is not None and not self.cycle.response_complete:
            return  # a request is being answered
        reason = f"no request headers within {self.header_timeout:g} s (header_timeout)"
        self.transport.write(_reply(_TIMED_OUT, reason))
        self.transport.close()


#: glibc's ``mallopt`` parameters (malloc.h).
_M_ARENA_MAX, _M_MMAP_THRESHOLD = -8, -3


def tune_allocator() -> bool:
    """Bound the node's native heap (glibc only; before threads start).

    By default glibc gives each of the resolver threads an arena of its own
    and keeps freed large buffers (a process snapshot is tens of MB) in
    them: under the soak benchmark's mixed traffic the node's anonymous
    memory grew in steps, about 25 MiB each time a WASM process was
    snapshotted. Two arenas, and buffers over 1 MiB mapped and unmapped on
    their own, keep it bounded (measured in the README's soak figures).
    ``MALLOC_ARENA_MAX`` or ``MALLOC_MMAP_THRESHOLD_`` in the environment win.
    Returns whether it was applied."""
    if os.environ.get("MALLOC_ARENA_MAX") or os.environ.get("MALLOC_MMAP_THRESHOLD_"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False  # not glibc
    return bool(mallopt(_M_ARENA_MAX, 2)) and bool(mallopt(_M_MMAP_THRESHOLD, 1 << 20))


def protocol(config: NodeConfig) -> type[GuardedProtocol]:
    """The protocol class with ``config``'s limits."""
    return type(
        "NodeProtocol",
        (GuardedProtocol,),
        {"header_timeout": config.header_timeout, "max_connections": config.max_connections},
    )


def uvicorn_config(app: Any, config: NodeConfig, **extra: Any) -> uvicorn.Config:
    """How uvicorn serves ``app`` for a node with these settings."""
    return uvicorn.Config(
        app,
        host=config.host,
        port=config.port,
        http=protocol(config),
        timeout_keep_alive=max(1, round(config.keep_alive_timeout)),
        log_level="warning",
        access_log=False,
        lifespan="on",
        **extra,
    )

"""The node's ASGI application.

Every GET or POST becomes a request message (headers, body, method, path),
the HyperPATH parser turns it into a list of messages, the resolver runs
them on a worker thread, and the result is rendered as the response. Errors
become a clear 4xx/5xx with a reason; the node keeps serving.

Upstream: hb_http_server:init/2, hb_http:req_to_tabm_singleton/3, dev_meta:handle/2.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import re
import time
from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from hyperbeam import authority, budget, hooks, metrics
from hyperbeam.ao.path import As
from hyperbeam.ao.resolve import resolve_many
from hyperbeam.ao.singleton import from_request
from hyperbeam.devices import dryrun, relay
from hyperbeam.errors import HyperbeamError
from hyperbeam.http.render import CORS_HEADERS, render, reply_codec, request_message
from hyperbeam.http.status import embed_status
from hyperbeam.message.model import Message
from hyperbeam.node import Node

log = logging.getLogger("hyperbeam.http")

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]

#: Largest total size of a request's header block, in bytes.
MAX_HEADER_BYTES = 64 * 1024


class BodyTooLarge(HyperbeamError):
    status = 413


class HeadersTooLarge(HyperbeamError):
    status = 431


class BodyTooSlow(HyperbeamError):
    status = 408


class HyperbeamApp:
    """ASGI 3 application serving one :class:`Node`."""

    def __init__(self, node: Node) -> None:
        self.node = node
        self.executor = ThreadPoolExecutor(
            max_workers=node.config.workers, thread_name_prefix="resolve"
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        await self._http(scope, receive, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            event = await receive()
            if event["type"] == "lifespan.startup":
                self.node.prepare()
                await send({"type": "lifespan.startup.complete"})
            elif event["type"] == "lifespan.shutdown":
                self.executor.shutdown(wait=False, cancel_futures=True)
                self.node.close()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        method = scope["method"]
        headers = _headers(scope)
        raw_path = scope.get("raw_path") or scope["path"].encode("utf-8")
        path = raw_path.decode("latin-1")
        query = scope.get("query_string", b"").decode("latin-1")
        if method == "OPTIONS":
            await _send(
                send,
                204,
                [
                    ("access-control-allow-origin", "*"),
                    ("access-control-allow-headers", "*"),
                    ("access-control-allow-methods", "GET, POST, PUT, DELETE, OPTIONS, PATCH"),
                ],
                b"",
            )
            return
        if path == "/" and not query:
            await _send(send, 302, [("location", self.node.config.default_request)], b"")
            return
        if path == "/metrics" and method == "GET":
            await _send(send, 200, [("content-type", metrics.CONTENT_TYPE)], metrics.text())
            return
        try:
            header_bytes = sum(len(k) + len(v) for k, v in scope.get("headers", []))
            if header_bytes > MAX_HEADER_BYTES:
                raise HeadersTooLarge(
                    f"request headers are {header_bytes} bytes; the limit is {MAX_HEADER_BYTES}"
                )
            config = self.node.config
            body = await _read_body(receive, config.max_body_bytes, config.body_timeout)
            loop = asyncio.get_running_loop()
            code, out_headers, payload = await loop.run_in_executor(
                self.executor, self.handle, method, path, query, headers, body
            )
        except Exception as exc:
            code, out_headers, payload = _error_response(exc, headers)
            if isinstance(exc, BodyTooLarge | BodyTooSlow):
                out_headers = [*out_headers, ("connection", "close")]  # the rest is unread
        if not 200 <= code <= 599:
            # A result's own `status` that is no HTTP status (the server
            # could send no answer at all with it).
            reason = f"the result's status {code} is not an HTTP status"
            code, out_headers, payload = _error_response(HyperbeamError(reason), headers)
        await _send(send, code, out_headers, payload)
        device = _device_label(path, self.node.registry)
        metrics.HTTP_REQUESTS.labels(device=device, status=str(code)).inc()
        metrics.HTTP_SECONDS.labels(device=device).observe(time.perf_counter() - started)
        log.info(
            "%s %s%s -> %d (%.1f ms, %d bytes)",
            method,
            path,
            f"?{query}" if query else "",
            code,
            (time.perf_counter() - started) * 1000,
            len(payload),
        )

    def handle(
        self, method: str, path: str, query: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        """Decode, resolve, sign and encode one request, on a worker thread
        (the codecs and RSA signing are CPU work)."""
        node = self.node
        passed = relay.pass_through(method, path, query, headers, body, node.http_opts())
        if passed is not None:
            return passed
        if method == "POST" and path == dryrun.LEGACY_PATH:
            path = dryrun.LEGACY_ROUTE  # a legacy compute unit's dry run
        request = request_message(method, path, query, headers, body, keep_signed=node.keep_signed)
        codec = reply_codec({**headers, **request})
        opts = node.http_opts()
        opts[authority.KEY] = authority.request_authority(request)
        limits = node.config.limits
        opts[budget.KEY] = budget.Budget(limits)
        status, result = self.resolve(request, opts)
        wallet = node.wallet if node.config.force_signed else None
        code, out_headers, payload = render(
            embed_status(status, result),
            headers,
            codec=codec,
            wallet=wallet,
            replies=node.replies,
        )
        budget.check_reply(len(payload), limits)
        return code, out_headers, payload

    def resolve(self, request: Message, opts: dict[str, Any]) -> tuple[str, Any]:
        """The request's messages, through the ``request`` hook, resolved,
        then the result through the ``response`` hook. An uninitialized node
        answers only ``~meta@1.0/info``. Upstream: dev_meta:handle/2,
        handle_resolve/3."""
        messages = from_request(request, decoded=True)
        budget.check_path_parts(len(messages) - 1, self.node.config.limits)
        if self.node.config.initialized == "false":
            if not _is_meta_info(messages):
                return "error", {"status": 400, "body": UNINITIALIZED}
            return resolve_many(messages, opts)
        hooked = bool(self.node.config.on)
        if hooked:
            status, messages = hooks.around("request", request, messages, opts)
            if status != "ok":
                return status, messages
        status, result = resolve_many(messages, opts)
        if hooked:
            status, result = hooks.around("response", request, embed_status(status, result), opts)
        return status, result


UNINITIALIZED = "Node must be initialized before use."

_ID_SEGMENT = re.compile(r"^[A-Za-z0-9_-]{43}$")


def _device_label(path: str, devices: Mapping[str, Any]) -> str:
    """The device a request first reaches, for metrics: a loaded device's
    name, ``id`` (a message by ID), ``message@1.0`` or ``other``."""
    first = path.lstrip("/").split("/", 1)[0]
    base, tilde, named = first.partition("~")
    if tilde:
        device = re.split(r"[&?(/]", named, maxsplit=1)[0]
        return device if device in devices else "other"
    if _ID_SEGMENT.match(base):
        return "id"
    return "message@1.0"


def _is_meta_info(messages: list[Any]) -> bool:
    """Whether a request asks ``~meta@1.0`` for ``info``.
    Upstream: dev_meta:handle_initialize/2."""
    for base, req in itertools.pairwise(messages):
        device = base.device if isinstance(base, As) else None
        if isinstance(base, dict):
            device = base.get("device")
        if device == "meta@1.0" and isinstance(req, dict) and req.get("path") == "info":
            return True
    return False


def _headers(scope: Scope) -> dict[str, str]:
    out: dict[str, str] = {}
    for raw_name, raw_value in scope.get("headers", []):
        name = raw_name.decode("latin-1").lower()
        value = raw_value.decode("latin-1")
        out[name] = f"{out[name]}, {value}" if name in out else value
    return out


async def _read_body(receive: Receive, limit: int, timeout: float) -> bytes:
    chunks: list[bytes] = []
    size = 0
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        left = deadline - asyncio.get_running_loop().time()
        try:
            event = await asyncio.wait_for(receive(), timeout=max(left, 0))
        except TimeoutError:
            raise BodyTooSlow(
                f"the request body did not arrive within {timeout:g} s (body_timeout)"
            ) from None
        if event["type"] == "http.disconnect":
            break
        chunk = event.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge(f"request body is larger than {limit} bytes")
        chunks.append(chunk)
        if not event.get("more_body", False):
            break
    return b"".join(chunks)


def _error_response(
    exc: Exception, headers: dict[str, str]
) -> tuple[int, list[tuple[str, str]], bytes]:
    if isinstance(exc, HyperbeamError):
        code, reason = exc.status, exc.reason
        log.info("request failed: %s (%d)", reason, code)
    else:
        code, reason = 500, f"internal error: {type(exc).__name__}: {exc}"
        log.exception("unhandled error while serving a request")
    return render({"status": code, "body": reason}, headers)


async def _send(send: Send, code: int, headers: list[tuple[str, str]], body: bytes) -> None:
    raw = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers]
    if not any(k == b"content-length" for k, _ in raw):
        raw.append((b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": code, "headers": raw})
    await send({"type": "http.response.body", "body": body})


__all__ = ["CORS_HEADERS", "HyperbeamApp"]

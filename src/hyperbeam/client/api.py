"""The client: a node, a wallet, and the AO operations (blocking and asyncio).

:class:`Client` and :class:`AsyncClient` run the same flows
(:mod:`hyperbeam.client.flows`) over ``httpx``; every reply is decoded from
``httpsig@1.0`` and, when the node signed it, its signature is checked
(a reply whose signature does not verify raises :class:`NodeError`).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator, Mapping
from pathlib import Path
from typing import Any

import httpx

from hyperbeam.client import flows
from hyperbeam.client.flows import Flow, NodeError, Reply, Request, Result
from hyperbeam.crypto.wallet import Wallet
from hyperbeam.errors import HyperbeamError
from hyperbeam.http.client import decode_received, response_message
from hyperbeam.message.model import Message

DEFAULT_TIMEOUT = 120.0


def _wallet(wallet: Wallet | str | Path | None) -> Wallet | None:
    if wallet is None or isinstance(wallet, Wallet):
        return wallet
    return Wallet.load(Path(wallet).expanduser())


def _reply(res: httpx.Response) -> Reply:
    """The reply's message, its signature (if the node signed it) checked on
    the bytes that arrived (see :mod:`hyperbeam.codecs.received`)."""
    if "signature" in res.headers:
        try:
            decode_received(res)
        except HyperbeamError as exc:
            reason = f"the reply's signature does not verify: {exc.reason}"
            raise NodeError(res.status_code, reason, str(res.url)) from exc
    return Reply(res.status_code, response_message(res))


def _http_request(request: Request) -> tuple[str, str, dict[str, str], bytes]:
    return request.method, request.path, request.headers, request.body


class _Base:
    def __init__(
        self,
        node: str,
        wallet: Wallet | str | Path | None = None,
        *,
        codec: str = "httpsig",
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        if codec not in ("httpsig", "ans104"):
            raise ValueError(f"codec must be httpsig or ans104, not {codec!r}")
        self.node = node.rstrip("/")
        self.wallet = _wallet(wallet)
        self.codec = codec
        self.timeout = timeout

    def _signer(self) -> Wallet:
        if self.wallet is None:
            raise ValueError("this needs a wallet: Client(node, wallet=...)")
        return self.wallet

    def _process(
        self, kind: str, module: str, scheduler: str, authority: str | None, tags: Mapping[str, Any]
    ) -> dict[str, Any]:
        if kind == "aos":
            return flows.aos_process(scheduler, module, authority, **tags)
        if kind == "lua":
            return flows.lua_process(scheduler, module, authority, **tags)
        raise ValueError(f"kind must be aos (WASM) or lua (hyper-aos), not {kind!r}")


class Client(_Base):
    """A blocking client of one node.

    >>> ao = Client("http://127.0.0.1:8734", wallet="my-key.json")  # doctest: +SKIP
    >>> pid = ao.spawn(module=image_id)                               # doctest: +SKIP
    >>> ao.eval(pid, "return 1 + 1").data                            # doctest: +SKIP
    '2'
    """

    def __init__(
        self,
        node: str,
        wallet: Wallet | str | Path | None = None,
        *,
        codec: str = "httpsig",
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        super().__init__(node, wallet, codec=codec, timeout=timeout)
        self._http = httpx.Client(base_url=self.node, timeout=timeout)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _run(self, flow: Flow) -> Any:
        try:
            request = next(flow)
            while True:
                method, path, headers, body = _http_request(request)
                try:
                    res = self._http.request(method, path, headers=headers, content=body or None)
                except httpx.HTTPError as exc:
                    raise NodeError(502, f"cannot reach {self.node}: {exc}", path) from exc
                request = flow.send(_reply(res))
        except StopIteration as done:
            return done.value

    # -- messages --------------------------------------------------------------

    def get(self, path: str) -> Message:
        """Resolve a HyperPATH (``/~message@1.0&k=v/k``): the message it gives."""
        return self._run(flows.get(path))  # type: ignore[no-any-return]

    def post(self, msg: Message, *, sign: bool = True) -> Message:
        """POST ``msg`` (its ``path`` the URL's), signed unless ``sign=False``."""
        wallet = self._signer() if sign else None
        return self._run(flows.post(msg, wallet, self.codec))  # type: ignore[no-any-return]

    def address(self) -> str:
        """The node's address."""
        return str(self._run(flows.address()))

    def upload(self, data: bytes, content_type: str | None = None) -> str:
        """Store ``data`` on the node (an AOS image; a Lua module with
        ``content_type="application/lua"``): its ID. Only the node's cache
        writers may (by default its operator's wallet)."""
        return str(self._run(flows.upload(data, content_type, self._signer())))

    # -- processes ---------------------------------------------------------------

    def spawn(
        self,
        module: str,
        *,
        kind: str = "aos",
        scheduler: str | None = None,
        authority: str | None = None,
        tags: Mapping[str, Any] | None = None,
    ) -> str:
        """Create a process running ``module`` (an AOS WASM image's ID for
        ``kind="aos"``, a Lua module's for ``kind="lua"``), scheduled by
        ``scheduler`` (default: the node): its ID."""
        where = scheduler or self.address()
        process = self._process(kind, module, where, authority, tags or {})
        return str(self._run(flows.spawn(process, self._signer())))

    def message(
        self,
        pid: str,
        data: str = "",
        *,
        action: str | None = None,
        tags: Mapping[str, Any] | None = None,
    ) -> int:
        """Send a message to a process: the slot it was given."""
        msg = flows.ao_message(pid, data, action, tags or {})
        return int(self._run(flows.message(pid, msg, self._signer(), self.codec)))

    def result(self, pid: str, slot: int) -> Result:
        """What the message at ``slot`` did (computing up to it if needed)."""
        return self._run(flows.result(pid, slot))  # type: ignore[no-any-return]

    def dryrun(
        self,
        pid: str,
        data: str = "",
        *,
        action: str | None = None,
        tags: Mapping[str, Any] | None = None,
    ) -> Result:
        """What a message would do on the process's latest state, with
        nothing scheduled or kept (how AO apps read state). Signed by the
        wallet when there is one, so the process sees who asks."""
        msg = flows.ao_message(pid, data, action, tags or {})
        return self._run(flows.dryrun(pid, msg, self.wallet))  # type: ignore[no-any-return]

    def eval(self, pid: str, code: str) -> Result:
        """Send an ``Eval`` of Lua ``code`` and wait for its result."""
        return self.result(pid, self.message(pid, code, action="Eval"))

    def slot(self, pid: str) -> int:
        """The process's latest slot."""
        return int(self._run(flows.current_slot(pid)))

    def results(self, pid: str, start: int = 1, end: int | None = None) -> list[Result]:
        """The results of slots ``start`` to ``end`` (default: the latest)."""
        last = self.slot(pid) if end is None else end
        return [self.result(pid, slot) for slot in range(start, last + 1)]

    def schedule(self, pid: str, start: int = 0, end: int | None = None) -> list[Message]:
        """The process's assignments, from ``start`` to ``end`` (inclusive)."""
        return self._run(flows.schedule(pid, start, end))  # type: ignore[no-any-return]

    def now(self, pid: str, key: str = "results") -> Message:
        """A key of the process's latest state (computing it if needed)."""
        return self.get(f"/{pid}~process@1.0/now/{key}")

    def compute(self, pid: str, slot: int, key: str = "results") -> Message:
        """A key of the process's state after ``slot``."""
        return self.get(f"/{pid}~process@1.0/compute&slot={slot}/{key}")

    def monitor(
        self, pid: str, *, after: int | None = None, every: float = 1.0
    ) -> Iterator[tuple[int, Result]]:
        """Follow a process: each new slot's number and result, as they come."""
        seen = self.slot(pid) if after is None else after
        while True:
            latest = self.slot(pid)
            for slot in range(seen + 1, latest + 1):
                yield slot, self.result(pid, slot)
            seen = max(seen, latest)
            time.sleep(every)


class AsyncClient(_Base):
    """The asyncio twin of :class:`Client`: the same methods, awaited."""

    def __init__(
        self,
        node: str,
        wallet: Wallet | str | Path | None = None,
        *,
        codec: str = "httpsig",
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        super().__init__(node, wallet, codec=codec, timeout=timeout)
        self._http = httpx.AsyncClient(base_url=self.node, timeout=timeout)

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def _run(self, flow: Flow) -> Any:
        try:
            request = next(flow)
            while True:
                method, path, headers, body = _http_request(request)
                try:
                    res = await self._http.request(
                        method, path, headers=headers, content=body or None
                    )
                except httpx.HTTPError as exc:
                    raise NodeError(502, f"cannot reach {self.node}: {exc}", path) from exc
                request = flow.send(_reply(res))
        except StopIteration as done:
            return done.value

    async def get(self, path: str) -> Message:
        return await self._run(flows.get(path))  # type: ignore[no-any-return]

    async def post(self, msg: Message, *, sign: bool = True) -> Message:
        wallet = self._signer() if sign else None
        return await self._run(flows.post(msg, wallet, self.codec))  # type: ignore[no-any-return]

    async def address(self) -> str:
        return str(await self._run(flows.address()))

    async def upload(self, data: bytes, content_type: str | None = None) -> str:
        return str(await self._run(flows.upload(data, content_type, self._signer())))

    async def spawn(
        self,
        module: str,
        *,
        kind: str = "aos",
        scheduler: str | None = None,
        authority: str | None = None,
        tags: Mapping[str, Any] | None = None,
    ) -> str:
        where = scheduler or await self.address()
        process = self._process(kind, module, where, authority, tags or {})
        return str(await self._run(flows.spawn(process, self._signer())))

    async def message(
        self,
        pid: str,
        data: str = "",
        *,
        action: str | None = None,
        tags: Mapping[str, Any] | None = None,
    ) -> int:
        msg = flows.ao_message(pid, data, action, tags or {})
        return int(await self._run(flows.message(pid, msg, self._signer(), self.codec)))

    async def result(self, pid: str, slot: int) -> Result:
        return await self._run(flows.result(pid, slot))  # type: ignore[no-any-return]

    async def dryrun(
        self,
        pid: str,
        data: str = "",
        *,
        action: str | None = None,
        tags: Mapping[str, Any] | None = None,
    ) -> Result:
        msg = flows.ao_message(pid, data, action, tags or {})
        return await self._run(flows.dryrun(pid, msg, self.wallet))  # type: ignore[no-any-return]

    async def eval(self, pid: str, code: str) -> Result:
        return await self.result(pid, await self.message(pid, code, action="Eval"))

    async def slot(self, pid: str) -> int:
        return int(await self._run(flows.current_slot(pid)))

    async def results(self, pid: str, start: int = 1, end: int | None = None) -> list[Result]:
        last = await self.slot(pid) if end is None else end
        return [await self.result(pid, slot) for slot in range(start, last + 1)]

    async def schedule(self, pid: str, start: int = 0, end: int | None = None) -> list[Message]:
        return await self._run(flows.schedule(pid, start, end))  # type: ignore[no-any-return]

    async def now(self, pid: str, key: str = "results") -> Message:
        return await self.get(f"/{pid}~process@1.0/now/{key}")

    async def compute(self, pid: str, slot: int, key: str = "results") -> Message:
        return await self.get(f"/{pid}~process@1.0/compute&slot={slot}/{key}")

    async def monitor(
        self, pid: str, *, after: int | None = None, every: float = 1.0
    ) -> AsyncIterator[tuple[int, Result]]:
        seen = await self.slot(pid) if after is None else after
        while True:
            latest = await self.slot(pid)
            for slot in range(seen + 1, latest + 1):
                yield slot, await self.result(pid, slot)
            seen = max(seen, latest)
            await asyncio.sleep(every)

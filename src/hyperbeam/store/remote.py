"""A store kept by another node, reached through its ``~cache@1.0`` device.

- **Read**: ``GET <node>/~cache@1.0/read`` with ``target: <key>`` (sent as
  upstream's ``hb_http:get`` sends a message key: as a header). The reply (an
  ``httpsig@1.0`` message) is decoded as upstream's ``hb_http`` does: if it
  names an ``ao-result`` key, the value of that key is the answer -- this is
  how a node answers with a binary (``ao-result: body``); otherwise the reply
  is the message, keeping only its committed keys if it is signed
  (``hb_message:with_only_committed``). Signed replies must verify (upstream
  does not check them). A status of 400 or more, a transport error, a timeout
  or a reply that cannot be decoded is *not found*, as upstream.
  :meth:`RemoteNodeStore.read_message` gives that answer (a message or a
  binary).
- :meth:`~RemoteNodeStore.read` gives the binary at ``key`` and ``None`` for a
  message (as a local store gives ``None`` for a group); ``type`` is
  ``simple`` for a binary and ``composite`` for a message (upstream answers
  ``simple`` for both, because its ``read`` can return messages).
- **Write**: a message ``{path: /~cache@1.0/write, method: POST, body: value}``
  signed by the store's wallet and POSTed. As upstream, *the key is not
  sent*: the remote node writes the binary at its own content address. A
  status other than 200 raises :class:`~hyperbeam.store.base.StoreError`.
- **Links**: a signed POST to ``/~cache@1.0/link`` with ``source`` (the
  existing key) and ``destination`` (the new one).
- The remote node must list the wallet's address in its ``cache_writers``.
- No ``list`` or ``make_group`` (they raise, and a store chain moves on);
  ``reset`` does nothing (the remote store is not ours to wipe); ``resolve`` is
  the identity. Scope: ``remote``.

Connect and read timeouts (default 5 s) keep a dead or hanging node from
holding up a read.

Upstream: hb_store_remote_node (scope/1, resolve/2, type/2, read/2, write/3,
make_link/3), hb_http (request/5's handling of ``ao-result``,
http_response_to_httpsig/4); the remote side is dev_cache (read/3, write/3,
link/3).
"""

from __future__ import annotations

import logging
import threading
from typing import Any

import httpx

from hyperbeam.codecs.httpsig import to_httpsig
from hyperbeam.crypto.wallet import Wallet
from hyperbeam.http.client import response_message
from hyperbeam.message import commit
from hyperbeam.message.model import Message, normalize_key
from hyperbeam.store.base import Kind, Scope, Store, StoreError

log = logging.getLogger("hyperbeam.store.remote")

DEFAULT_TIMEOUT = 5.0

READ_PATH = "/~cache@1.0/read"
WRITE_PATH = "/~cache@1.0/write"
LINK_PATH = "/~cache@1.0/link"


def signed_request(msg: Message, wallet: Wallet) -> tuple[dict[str, str], bytes]:
    """``msg`` signed by ``wallet`` (``httpsig@1.0``), as request headers and body."""
    signed = commit.commit(msg, wallet)
    http = to_httpsig(commit.convert(signed, "tabm"), wire_safe=True)
    body = http.pop("body", b"")
    return {k: v.decode("latin-1") for k, v in http.items()}, body


def _binary(value: Any) -> Any:
    """Text that a structured message made of a binary, as the binary."""
    return value.encode("utf-8") if isinstance(value, str) else value


class RemoteNodeStore(Store):
    """Another node's store. Upstream: hb_store_remote_node."""

    scope: Scope = "remote"

    def __init__(
        self,
        node_url: str,
        *,
        wallet: Wallet | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        client: httpx.Client | None = None,
        verify: bool = True,
    ) -> None:
        self.node_url = node_url.rstrip("/")
        self.wallet = wallet
        self.timeout = timeout
        self.verify = verify
        self._client = client
        self._owns_client = client is None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"RemoteNodeStore({self.node_url!r})"

    def _http(self) -> httpx.Client:
        with self._lock:
            if self._client is None:
                self._client = httpx.Client(timeout=httpx.Timeout(self.timeout))
            return self._client

    def stop(self) -> None:
        with self._lock:
            if self._owns_client and self._client is not None:
                self._client.close()
                self._client = None

    def reset(self) -> None:
        """Nothing: the remote node's store is not ours to wipe."""

    def resolve(self, path: str) -> str:
        return path

    # --- reads -------------------------------------------------------------------------

    def read_message(self, key: str) -> Message | bytes | None:
        """What the remote node holds at ``key``: its message (committed keys
        only), a binary, or None. Upstream: hb_store_remote_node:read/2."""
        # As upstream's hb_http:get of #{path, target}: `target` travels as a
        # header (in the body if a header cannot carry it).
        http = to_httpsig({"target": key}, wire_safe=True)
        body = http.pop("body", b"")
        headers = {k: v.decode("latin-1") for k, v in http.items()}
        try:
            res = self._http().request(
                "GET",
                f"{self.node_url}{READ_PATH}",
                headers=headers,
                content=body or None,
                timeout=self.timeout,
            )
        except httpx.HTTPError as exc:
            log.warning("remote read of %r from %s failed: %s", key, self.node_url, exc)
            return None
        if not 200 <= res.status_code < 400:
            log.debug("remote read of %r from %s: %d", key, self.node_url, res.status_code)
            return None
        try:
            msg = response_message(res)
            signed = bool(commit.signers(msg))
            if signed and self.verify and not commit.verify(msg):
                log.warning("remote read of %r: the reply does not verify", key)
                return None
        except Exception as exc:
            log.warning("remote read of %r: cannot decode the reply: %s", key, exc)
            return None
        result_key = msg.get("ao-result")
        if isinstance(result_key, str | bytes):
            value = msg.get(normalize_key(result_key))
            if value is None:
                log.warning("remote read of %r: the reply has no %r", key, result_key)
                return None
            found: Message | bytes = _binary(value)
            return found
        return commit.with_only_committed(msg) if signed else msg

    def read(self, key: str) -> bytes | None:
        found = self.read_message(key)
        return found if isinstance(found, bytes) else None

    def type(self, key: str) -> Kind | None:
        """Upstream: hb_store_remote_node:type/2 (see the module notes)."""
        found = self.read_message(key)
        if found is None:
            return None
        return "simple" if isinstance(found, bytes) else "composite"

    def list(self, path: str) -> list[str] | None:
        raise StoreError("a remote node store cannot list groups")

    # --- writes ------------------------------------------------------------------------

    def _post(self, path: str, msg: Message) -> None:
        if self.wallet is None:
            raise StoreError("a remote node store needs a wallet to write")
        headers, body = signed_request(msg, self.wallet)
        url = f"{self.node_url}{path}"
        try:
            res = self._http().post(url, headers=headers, content=body, timeout=self.timeout)
        except httpx.HTTPError as exc:
            raise StoreError(f"POST {url} failed: {exc}") from None
        if res.status_code != 200:
            raise StoreError(f"POST {url} answered {res.status_code}: {res.text[:200]}")

    def write(self, key: str, value: bytes) -> None:
        """Upstream: hb_store_remote_node:write/3 (``key`` is not sent)."""
        self._post(WRITE_PATH, {"path": WRITE_PATH, "method": "POST", "body": bytes(value)})

    def make_link(self, existing: str, new: str) -> None:
        """Upstream: hb_store_remote_node:make_link/3."""
        self._post(
            LINK_PATH,
            {"path": LINK_PATH, "method": "POST", "source": existing, "destination": new},
        )

    def make_group(self, path: str) -> None:
        raise StoreError("a remote node store cannot make groups")

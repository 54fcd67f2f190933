"""Reading messages from an Arweave gateway: its GraphQL index and raw data.

:class:`GatewayClient` asks a gateway for one item by ID, exactly as
upstream does: a ``POST /graphql`` of the query ::

    query($transactionIds: [ID!]!) { transactions(ids: $transactionIds, first: 1){
      edges { node { id anchor signature recipient owner { key } fee { winston }
      quantity { winston } tags { name value } data { size } } } } }

(with ``tags: [{ name: "N", values: ["V"]}, ...],`` after the IDs when the
store has a *subindex*), then ``GET /raw/<id>`` for the data (``GET /<id>``
when the gateway has no ``/raw`` route and answers 404 there, as arlocal
does). The GraphQL node and the data are rebuilt into an ANS-104 data item
(``id``, ``anchor``, ``signature``, ``owner.key``, ``recipient`` as the
target, ``tags``, data) and converted to a structured message through
:func:`hyperbeam.codecs.ans104.from_item`, keeping its ``ans104@1.0``
commitment.

GraphQL does not always give back everything that was signed (gateways drop
anchors, arlocal among them), so an item may fail to verify. With
``trust_gql`` (upstream's ``ans104_trust_gql``, on by default) the message is
still returned and its commitment is marked with ``trusted-keys``: the
normalized tag names, as a numbered message (``{"1": name, ...}``), which
says "these keys are the gateway's word, not the signature's". Without it
the commitment is kept as it is (and does not verify).

:class:`GatewayStore` is the read-only, ``remote``-scope store over a client.
It serves single-ID keys (43 base64url characters) only; any other key is
not found. Its main API is :meth:`GatewayStore.read_message`; the
:class:`~hyperbeam.store.base.Store` methods follow upstream:

- ``read(ID)`` gives the item in its ANS-104 binary form (rebuilt from the
  GraphQL answer, so :func:`hyperbeam.codecs.ans104.deserialize_message`
  turns it back into the message);
- ``type(ID)`` is ``simple`` when the message has no nested messages and
  ``composite`` otherwise (upstream's test; note that ``read`` still gives the
  binary form of a composite one);
- ``list(ID)`` gives the message's keys;
- writes, groups and links raise :class:`~hyperbeam.store.base.StoreError`
  (a chain then tries its next store); ``reset`` only empties the in-memory
  cache of recently read items; ``resolve`` is the identity.

A gateway that is down, slow or wrong never makes a read hang or fail loudly:
the client raises :class:`GatewayError` (connect and read timeouts, default
5 s each, so a hanging gateway gives up after about one timeout), and the
store turns every failure into *not found*, as upstream does, logging why.

Caching: given a ``cache`` store, each item read is also written there as
its ANS-104 binary under ``ans104/<id>``. Upstream writes the message with
``hb_cache:write`` into the gateway store's ``store`` option; that belongs
to the message cache, which will do it once it exists.

Departures from upstream, all stricter or safer: the anchor is decoded from
its base64url text (upstream keeps the text, so an item with an anchor never
verifies there); an answer whose signature does not hash to the requested ID
is refused; tag-filter names and values are escaped as GraphQL strings
(upstream pastes them in as they are); the data of an item whose GraphQL
``data.size`` is ``0`` is not fetched; ECDSA-signed items (65-byte
signatures), which our data items cannot carry, are refused.

Upstream: hb_store_gateway (scope/1, resolve/2, read/2, type/2, list/2,
maybe_cache/2), hb_gateway_client (read/2, item_spec/0, data/2, query/2,
result_to_message/3, subindex_to_tags/1, scheduler_location/2).
"""

from __future__ import annotations

import binascii
import json
import logging
import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeAlias

import httpx

from hyperbeam.codecs import ans104
from hyperbeam.errors import CodecError
from hyperbeam.message import commit
from hyperbeam.message.ids import b64url_decode, human_id, is_human_id, sha256
from hyperbeam.message.model import Message, normalize_key
from hyperbeam.store.base import Kind, Scope, Store, StoreError, join

log = logging.getLogger("hyperbeam.store.gateway")

#: Seconds to wait for a gateway to connect, and then for each read.
DEFAULT_TIMEOUT = 5.0
#: Recently read items kept in memory (``type``, ``list`` and ``read`` of one
#: ID in a row cost one gateway round trip).
DEFAULT_MEMORY = 128

#: A subindex: tag ``(name, value)`` pairs an item must carry to be served.
Subindex: TypeAlias = Sequence[tuple[str, str]]

#: The fields of a transaction that an ANS-104 message is rebuilt from.
#: Upstream: hb_gateway_client:item_spec/0.
ITEM_SPEC = (
    "node { id anchor signature recipient owner { key } fee { winston } "
    "quantity { winston } tags { name value } data { size } }"
)


class GatewayError(StoreError):
    """The gateway could not be reached, timed out, or gave an answer that
    cannot be an item."""

    status = 502


@dataclass(frozen=True)
class GatewayItem:
    """One item as a gateway gave it: the rebuilt data item and its message."""

    id: str
    item: ans104.DataItem
    message: Message | bytes
    #: Whether the rebuilt item's signature verifies.
    verified: bool

    @property
    def binary(self) -> bytes:
        """The item in ANS-104 binary form."""
        return ans104.serialize(self.item)


# --- queries -------------------------------------------------------------------------


def _gql_string(text: str) -> str:
    """``text`` as a GraphQL string literal (JSON's escapes are GraphQL's)."""
    return json.dumps(text, ensure_ascii=False)


def subindex_to_tags(subindex: Subindex) -> str:
    """A subindex as a GraphQL ``tags`` argument: ``[{ name: "N", values:
    ["V"]}, ...]``. Upstream: hb_gateway_client:subindex_to_tags/1."""
    inner = ", ".join(
        f"{{ name: {_gql_string(name)}, values: [{_gql_string(value)}]}}"
        for name, value in subindex
    )
    return f"[{inner}]"


def item_query(item_id: str, subindex: Subindex | None = None) -> dict[str, Any]:
    """The GraphQL request body that finds one item by ID (and tags).
    Upstream: the query built in hb_gateway_client:read/2."""
    if subindex:
        selection = (
            f"transactions(ids: $transactionIds,tags: {subindex_to_tags(subindex)},first: 1){{ "
        )
    else:
        selection = "transactions(ids: $transactionIds, first: 1){ "
    query = f"query($transactionIds: [ID!]!) {{ {selection}edges {{ {ITEM_SPEC} }} }} }} "
    return {"query": query, "variables": {"transactionIds": [item_id]}}


def scheduler_location_query(address: str) -> dict[str, Any]:
    """The GraphQL request body that finds a scheduler's latest
    ``Scheduler-Location`` record. Upstream: hb_gateway_client:scheduler_location/2."""
    query = (
        "query($SchedulerAddrs: [String!]!) { "
        'transactions(owners: $SchedulerAddrs, tags: { name: "Type" values: '
        '["Scheduler-Location"] }, first: 1){ '
        f"edges {{ {ITEM_SPEC} }} "
        "} "
        "}"
    )
    return {"query": query, "variables": {"SchedulerAddrs": [address]}}


# --- GraphQL results -> messages ---------------------------------------------------------


def _text_field(node: Mapping[str, Any], *path: str) -> str:
    value: Any = node
    for key in path:
        value = value.get(key) if isinstance(value, Mapping) else None
    if value is None:
        return ""
    if not isinstance(value, str):
        raise GatewayError(f"gateway gave a {type(value).__name__} for {'.'.join(path)}")
    return value


def _decode(text: str, what: str, sizes: tuple[int, ...]) -> bytes:
    try:
        raw = b64url_decode(text)
    except (binascii.Error, ValueError):
        raise GatewayError(f"gateway gave an undecodable {what}") from None
    if len(raw) not in sizes:
        raise GatewayError(f"gateway gave a {what} of {len(raw)} bytes")
    return raw


def _anchor(text: str) -> bytes:
    """The anchor's 32 bytes, or nothing when the gateway gave none or
    something that cannot be one (the item then does not verify)."""
    if not text:
        return b""
    try:
        raw = b64url_decode(text)
    except (binascii.Error, ValueError):
        return b""
    return raw if len(raw) == 32 else b""


def item_from_result(node: Mapping[str, Any], data: bytes) -> ans104.DataItem:
    """The data item that a GraphQL transaction node and its data describe.
    Upstream: the ``#tx{}`` built in hb_gateway_client:result_to_message/3."""
    signature_text = _text_field(node, "signature")
    try:
        signature = b64url_decode(signature_text)
    except (binascii.Error, ValueError):
        raise GatewayError("gateway gave an undecodable signature") from None
    if len(signature) != ans104.SIGNATURE_LENGTH:
        raise GatewayError(
            f"unsupported signature type: a {len(signature)}-byte signature"
            " (only RSA-4096 items are supported)"
        )
    owner = _decode(_text_field(node, "owner", "key"), "owner", (ans104.OWNER_LENGTH,))
    recipient = _text_field(node, "recipient")
    target = _decode(recipient, "recipient", (32,)) if recipient else b""
    raw_tags = node.get("tags") or []
    if not isinstance(raw_tags, list):
        raise GatewayError("gateway gave tags that are not a list")
    tags: list[ans104.Tag] = []
    for tag in raw_tags:
        if not isinstance(tag, Mapping):
            raise GatewayError("gateway gave a tag that is not an object")
        tags.append(
            (_text_field(tag, "name").encode("utf-8"), _text_field(tag, "value").encode("utf-8"))
        )
    return ans104.DataItem(
        data=data,
        tags=tags,
        target=target,
        anchor=_anchor(_text_field(node, "anchor")),
        owner=owner,
        signature=signature,
    )


def result_to_message(
    node: Mapping[str, Any], data: bytes, *, trust_gql: bool = True
) -> GatewayItem:
    """The message of a GraphQL transaction node and its data, with its
    ``ans104@1.0`` commitment (marked ``trusted-keys`` when it does not verify
    and ``trust_gql`` is set). Upstream: hb_gateway_client:result_to_message/3."""
    item_id = _text_field(node, "id")
    item = item_from_result(node, data)
    if human_id(sha256(item.signature)) != item_id:
        raise GatewayError(f"gateway answered for {item_id} with another item's signature")
    verified = ans104.verify(item)
    message: Message | bytes
    try:
        tabm = ans104.from_item(item)
        message = (
            tabm if isinstance(tabm, bytes) else commit.convert(tabm, "structured@1.0", "tabm")
        )
    except CodecError as exc:
        raise GatewayError(f"gateway item {item_id} is not a message: {exc}") from None
    if verified:
        log.debug("gateway item %s verifies", item_id)
    elif not trust_gql:
        log.warning("gateway item %s does not verify; returned unverified", item_id)
    elif isinstance(message, dict):
        log.warning("gateway item %s does not verify; trusting the gateway's keys", item_id)
        message = _with_trusted_keys(message, item.tags)
    return GatewayItem(item_id, item, message, verified)


def _with_trusted_keys(message: Message, tags: Sequence[ans104.Tag]) -> Message:
    """``message`` with its one commitment marked with the tag keys the
    gateway vouches for. Upstream: the ``ans104_trust_gql`` branch of
    hb_gateway_client:result_to_message/3."""
    commitments = message.get("commitments")
    if not isinstance(commitments, dict) or not commitments:
        return message
    commitment_id = next(iter(commitments))
    names = [normalize_key(name.decode("utf-8", "surrogateescape")) for name, _ in tags]
    trusted = {str(index): name for index, name in enumerate(names, start=1)}
    marked = {**commitments[commitment_id], "trusted-keys": trusted}
    return {**message, "commitments": {commitment_id: marked}}


# --- the client ------------------------------------------------------------------------


class GatewayClient:
    """An Arweave gateway's GraphQL and data routes. Upstream: hb_gateway_client.

    Every failure (transport error, timeout, unexpected status, malformed
    answer) raises :class:`GatewayError`; an ID the gateway does not know
    gives ``None``. Thread-safe; ``close`` releases the connections (the
    client reconnects if used again).
    """

    def __init__(
        self,
        base_url: str,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        client: httpx.Client | None = None,
        trust_gql: bool = True,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.trust_gql = trust_gql
        self._client = client
        self._owns_client = client is None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"GatewayClient({self.base_url!r})"

    def _http(self) -> httpx.Client:
        with self._lock:
            if self._client is None:
                self._client = httpx.Client(timeout=httpx.Timeout(self.timeout))
            return self._client

    def close(self) -> None:
        """Close the connections of the HTTP client this client made (one
        given to it stays open)."""
        with self._lock:
            if self._owns_client and self._client is not None:
                self._client.close()
                self._client = None

    def __enter__(self) -> GatewayClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        url = f"{self.base_url}{path}"
        try:
            return self._http().request(method, url, timeout=self.timeout, **kwargs)
        except httpx.TimeoutException as exc:
            raise GatewayError(f"{method} {url} timed out after {self.timeout} s: {exc}") from None
        except httpx.HTTPError as exc:
            raise GatewayError(f"{method} {url} failed: {exc}") from None

    def query(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """POST a GraphQL request; its JSON answer. Upstream: hb_gateway_client:query/2."""
        res = self._request(
            "POST",
            "/graphql",
            content=json.dumps(body).encode("utf-8"),
            headers={"content-type": "application/json", "accept": "application/json"},
        )
        if res.status_code != 200:
            raise GatewayError(f"gateway GraphQL answered {res.status_code}")
        try:
            answer = res.json()
        except ValueError:
            raise GatewayError("gateway GraphQL answer is not JSON") from None
        if not isinstance(answer, dict):
            raise GatewayError("gateway GraphQL answer is not an object")
        return answer

    def _first_node(self, body: Mapping[str, Any]) -> dict[str, Any] | None:
        """``data/transactions/edges/1/node`` of a query's answer, or None."""
        answer = self.query(body)
        data = answer.get("data")
        if not isinstance(data, Mapping):
            errors = answer.get("errors")
            raise GatewayError(f"gateway GraphQL gave no data: {errors!r}")
        transactions = data.get("transactions")
        edges = transactions.get("edges") if isinstance(transactions, Mapping) else None
        if not isinstance(edges, list):
            raise GatewayError("gateway GraphQL answer has no transactions/edges")
        if not edges:
            return None
        first = edges[0]
        node = first.get("node") if isinstance(first, Mapping) else None
        if not isinstance(node, dict):
            raise GatewayError("gateway GraphQL edge has no node")
        return node

    def find(self, item_id: str, *, subindex: Subindex | None = None) -> dict[str, Any] | None:
        """The GraphQL node of item ``item_id`` (carrying the subindex tags),
        or None if the gateway has no such item."""
        node = self._first_node(item_query(item_id, subindex))
        if node is not None and node.get("id") != item_id:
            raise GatewayError(f"gateway answered for {item_id} with item {node.get('id')!r}")
        return node

    def data(self, item_id: str) -> bytes:
        """An item's data: ``GET /raw/<id>``, else ``GET /<id>`` when the
        gateway has no ``/raw`` route. Upstream: hb_gateway_client:data/2."""
        # Gateways redirect data requests (arweave.net: to a sandbox subdomain).
        res = self._request("GET", f"/raw/{item_id}", follow_redirects=True)
        if res.status_code == 404:
            res = self._request("GET", f"/{item_id}", follow_redirects=True)
        if res.status_code != 200:
            raise GatewayError(f"gateway has no data for {item_id} ({res.status_code})")
        return res.content

    def _load(self, node: Mapping[str, Any]) -> GatewayItem:
        item_id = _text_field(node, "id")
        size = _text_field(node, "data", "size")
        data = b"" if size == "0" else self.data(item_id)
        return result_to_message(node, data, trust_gql=self.trust_gql)

    def read_item(self, item_id: str, *, subindex: Subindex | None = None) -> GatewayItem | None:
        """Item ``item_id`` with its message, or None if the gateway does not
        have it (or it lacks the subindex tags). Upstream: hb_gateway_client:read/2."""
        node = self.find(item_id, subindex=subindex)
        return None if node is None else self._load(node)

    def read(self, item_id: str, *, subindex: Subindex | None = None) -> Message | bytes | None:
        """The message of item ``item_id`` (a binary for an ``ao-type: binary``
        item), or None. Upstream: hb_gateway_client:read/2."""
        found = self.read_item(item_id, subindex=subindex)
        return None if found is None else found.message

    def scheduler_location(self, address: str) -> Message | bytes | None:
        """The latest ``Type: Scheduler-Location`` item signed by ``address``,
        or None. Upstream: hb_gateway_client:scheduler_location/2."""
        node = self._first_node(scheduler_location_query(address))
        return None if node is None else self._load(node).message


# --- the store -------------------------------------------------------------------------


def _single_id(key: str) -> str | None:
    """The ID if ``key`` is exactly one 43-character ID segment."""
    joined = join(key)
    return joined if is_human_id(joined) else None


class GatewayStore(Store):
    """A read-only store over an Arweave gateway. Upstream: hb_store_gateway."""

    scope: Scope = "remote"

    def __init__(
        self,
        client: GatewayClient,
        *,
        subindex: Subindex | None = None,
        cache: Store | None = None,
        memory: int = DEFAULT_MEMORY,
    ) -> None:
        self.client = client
        self.subindex: list[tuple[str, str]] | None = list(subindex) if subindex else None
        self.cache = cache
        self.memory = memory
        self._recent: OrderedDict[str, GatewayItem] = OrderedDict()
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"GatewayStore({self.client!r}, subindex={self.subindex!r})"

    def stop(self) -> None:
        self.client.close()

    def reset(self) -> None:
        """Forget the recently read items (the gateway itself is not ours to reset)."""
        with self._lock:
            self._recent.clear()

    def resolve(self, path: str) -> str:
        return path

    def read_item(self, key: str) -> GatewayItem | None:
        """The gateway's item at ``key`` (a single ID), or None when the key is
        not an ID, the gateway does not have it, or the gateway fails."""
        item_id = _single_id(key)
        if item_id is None:
            return None
        with self._lock:
            found = self._recent.get(item_id)
            if found is not None:
                self._recent.move_to_end(item_id)
                return found
        try:
            found = self.client.read_item(item_id, subindex=self.subindex)
        except GatewayError as exc:
            log.warning("gateway read of %s failed: %s", item_id, exc)
            return None
        if found is None:
            return None
        self._remember(found)
        self._maybe_cache(found)
        return found

    def read_message(self, key: str) -> Message | bytes | None:
        """The message at ``key`` (a binary for an ``ao-type: binary`` item),
        or None. Upstream: hb_store_gateway:read/2."""
        found = self.read_item(key)
        return None if found is None else found.message

    def _remember(self, found: GatewayItem) -> None:
        if self.memory <= 0:
            return
        with self._lock:
            self._recent[found.id] = found
            self._recent.move_to_end(found.id)
            while len(self._recent) > self.memory:
                self._recent.popitem(last=False)

    def _maybe_cache(self, found: GatewayItem) -> None:
        """Upstream: hb_store_gateway:maybe_cache/2 (which writes the message
        through hb_cache; here the binary item, until the message cache does)."""
        if self.cache is None:
            return
        try:
            self.cache.write(join("ans104", found.id), found.binary)
        except Exception as exc:
            log.warning("could not cache gateway item %s: %s", found.id, exc)

    def read(self, key: str) -> bytes | None:
        found = self.read_item(key)
        if found is None:
            return None
        try:
            return found.binary
        except CodecError as exc:
            log.warning("gateway item %s has no binary form: %s", found.id, exc)
            return None

    def type(self, key: str) -> Kind | None:
        """Upstream: hb_store_gateway:type/2."""
        message = self.read_message(key)
        if message is None:
            return None
        if isinstance(message, bytes):
            return "simple"
        content = commit.uncommitted({k: v for k, v in message.items() if k != "priv"})
        nested = any(isinstance(value, dict) for value in content.values())
        return "composite" if nested else "simple"

    def list(self, path: str) -> list[str] | None:
        """Upstream: hb_store_gateway:list/2."""
        message = self.read_message(path)
        if not isinstance(message, dict):
            return None
        return sorted(message)

    def write(self, key: str, value: bytes) -> None:
        raise StoreError("the gateway store is read-only")

    def make_group(self, path: str) -> None:
        raise StoreError("the gateway store is read-only")

    def make_link(self, existing: str, new: str) -> None:
        raise StoreError("the gateway store is read-only")

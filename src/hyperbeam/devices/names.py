"""Names: ``local-name@1.0``, ``name@1.0`` and ``node-process@1.0``.

``local-name@1.0`` keeps names on this node:

- ``register`` (``key``, ``value``): the operator names a value (see
  :mod:`hyperbeam.authority`; anyone else gets 403). The value is written to
  the store and the name points to it; registering a name again moves it.
- ``lookup`` (``key``), or any other key as the name: the value, or 404.

``name@1.0`` resolves a name (any key) through the ``name_resolvers``
setting, a list of messages each asked ``lookup`` with ``key``; the first
that answers wins. With ``load`` (the default) an answer that is a message ID
is read as that message, so ``/~name@1.0/<name>/<key>`` reads into it.

``node-process@1.0`` gives the processes the node runs under its own
identity, defined in the ``node_processes`` setting (a name to a process
message). The first request for a name spawns the process (its
``scheduler`` the node's address, signed by the node, scheduled here) and
registers the name; later ones get the same process:
``/~node-process@1.0/<name>/now/<key>``. ``spawn=false`` only looks.

Upstream: dev_local_name.erl, dev_name.erl, dev_node_process.erl.
Deviations: ``name_resolvers`` defaults to this node's local names (upstream:
none); a failed store write is a clear 500 (upstream crashes).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

from hyperbeam import authority, cache
from hyperbeam.ao import resolve as ao
from hyperbeam.ao.device import Device, Result, key
from hyperbeam.crypto.wallet import Wallet
from hyperbeam.errors import HyperbeamError
from hyperbeam.message import commit
from hyperbeam.message.ids import human_id, is_id
from hyperbeam.message.model import Message, as_text
from hyperbeam.store.base import Store

#: Where names live in the store: ``local-name@1.0/<name>`` points to the value.
NAMES = "local-name@1.0"

UNAUTHORIZED: Message = {"status": 403, "body": "Unauthorized."}


def _local(opts: Mapping[str, Any]) -> Store | None:
    store = opts.get("store")
    if store is None:
        return None
    only = getattr(store, "only", None)
    local = only("local") if callable(only) else store
    return local if isinstance(local, Store) else None


def _name(raw: Any) -> str | None:
    name = as_text(raw).strip() if isinstance(raw, str | bytes) else None
    if not name or "/" in name or name.startswith("."):
        return None
    return name.lower()


def lookup_name(name: str, opts: Mapping[str, Any]) -> Any:
    """The value named ``name`` here, or ``None``."""
    store = _local(opts)
    return None if store is None else cache.pointed(f"{NAMES}/{name}", store)


def register_name(name: str, value: Any, opts: Mapping[str, Any]) -> None:
    """Name ``value`` (written to the store) ``name``, with no check of who
    asks: for the node's own use. Upstream: dev_local_name:direct_register/2."""
    store = _local(opts)
    if store is None:
        raise HyperbeamError("this node has no store to keep names in", status=503)
    cache.point(f"{NAMES}/{name}", cache.write(value, store), store)


class LocalNameDevice(Device):
    name = "local-name@1.0"
    VOLATILE = frozenset({"*"})  # names move

    def info(self, msg: Any, opts: Mapping[str, Any]) -> dict[str, Any]:
        return {"default": self._default, "excludes": ["keys", "set"]}

    @key("register")
    def register(self, msg: Message, req: Message, opts: Mapping[str, Any]) -> Result:
        if not authority.is_operator(req, opts):
            return "error", UNAUTHORIZED
        name, value = _name(req.get("key")), req.get("value")
        if name is None or value is None:
            return "error", {"status": 400, "body": "register needs a name (key) and a value"}
        try:
            register_name(name, value, opts)
        except HyperbeamError as exc:
            return "error", {"status": exc.status, "body": f"could not register: {exc.reason}"}
        return "ok", "Registered."

    @key("lookup")
    def lookup(self, msg: Message, req: Message, opts: Mapping[str, Any]) -> Result:
        return self._found(req.get("key"), opts)

    def _default(self, key_name: Any, msg: Message, req: Message, opts: Any) -> Result:
        return self._found(key_name, opts)

    def _found(self, raw: Any, opts: Mapping[str, Any]) -> Result:
        name = _name(raw)
        found = lookup_name(name, opts) if name is not None else None
        if found is None:
            return "error", {"status": 404, "body": f"no local name {as_text(raw or '')!r}"}
        return "ok", found


class NameDevice(Device):
    name = "name@1.0"
    VOLATILE = frozenset({"*"})

    def info(self, msg: Any, opts: Mapping[str, Any]) -> dict[str, Any]:
        return {"default": self._resolve, "excludes": ["keys", "set"]}

    def _resolve(self, key_name: Any, msg: Message, req: Message, opts: Any) -> Result:
        """Upstream: dev_name:resolve/4."""
        for resolver in _resolvers(opts):
            status, value = ao.resolve(
                resolver, {"path": "lookup", "key": key_name}, ao.internal_opts(opts)
            )
            if status != "ok":
                continue
            if as_text(req.get("load", "true")).lower() != "false" and _is_pointer(value):
                loader = opts.get("load_message")
                loaded = loader(as_text(value), opts) if callable(loader) else None
                if loaded is None:
                    return "error", {"status": 404, "body": f"{key_name} names {value!r}: missing"}
                return "ok", loaded
            return "ok", value
        return "error", {"status": 404, "body": f"no resolver knows the name {as_text(key_name)!r}"}


def _resolvers(opts: Mapping[str, Any]) -> list[Message]:
    node = opts.get("node")
    configured = getattr(getattr(node, "config", None), "name_resolvers", None)
    if configured is None:
        configured = opts.get("name_resolvers", [])
    return [dict(r) for r in configured if isinstance(r, Mapping)]


def _is_pointer(value: Any) -> bool:
    return isinstance(value, str | bytes) and is_id(as_text(value))


_SPAWNING = threading.Lock()


class NodeProcessDevice(Device):
    name = "node-process@1.0"
    VOLATILE = frozenset({"*"})

    def info(self, msg: Any, opts: Mapping[str, Any]) -> dict[str, Any]:
        return {"default": self._lookup, "excludes": ["keys", "set"]}

    def _lookup(self, key_name: Any, msg: Message, req: Message, opts: Any) -> Result:
        """Upstream: dev_node_process:lookup/4."""
        name = _name(key_name)
        if name is None:
            return "error", {"status": 400, "body": f"not a process name: {key_name!r}"}
        found = self._registered(name, opts)
        if found is not None:
            return "ok", found
        if as_text(req.get("spawn", "true")).lower() == "false":
            return "error", {"status": 404, "body": f"no node process {name!r}"}
        with _SPAWNING:  # one spawn per name, however many ask at once
            found = self._registered(name, opts)
            if found is not None:
                return "ok", found
            return self._spawn(name, opts)

    def _registered(self, name: str, opts: Mapping[str, Any]) -> Message | None:
        pid = lookup_name(name, opts)
        if not isinstance(pid, str | bytes):
            return None
        loader = opts.get("load_message")
        process = loader(as_text(pid), opts) if callable(loader) else None
        return process if isinstance(process, dict) else None

    def _spawn(self, name: str, opts: Mapping[str, Any]) -> Result:
        """Upstream: dev_node_process:spawn_register/2."""
        node = opts.get("node")
        definitions = getattr(getattr(node, "config", None), "node_processes", {}) or {}
        definition = definitions.get(name)
        wallet = opts.get("priv_wallet")
        if not isinstance(definition, Mapping):
            return "error", {"status": 404, "body": f"no node process {name!r} is defined"}
        if not isinstance(wallet, Wallet):
            return "error", {"status": 503, "body": "spawning a node process needs a wallet"}
        signed = commit.commit({**definition, "scheduler": wallet.address}, wallet)
        # Scheduled on itself, as upstream does (a definition need not say
        # `type: Process`).
        status, assigned = ao.resolve(
            signed,
            {"path": "schedule", "method": "POST", "body": signed},
            {**opts, authority.KEY: frozenset()},
        )
        if status != "ok":
            return "error", {"status": 500, "body": f"could not schedule {name}: {assigned}"}
        pid = human_id(commit.id(signed, "all"))
        try:
            register_name(name, pid, opts)
        except HyperbeamError as exc:
            return "error", {"status": 500, "body": f"Failed to register process: {exc.reason}"}
        return "ok", signed

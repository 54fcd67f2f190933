"""A node: its settings, the resolver options built from them, and start-up.

Upstream: hb_http_server:start/1 (the node message), hb_opts.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from hyperbeam import __version__, authority, cache, cache_control, gate, hooks, metrics
from hyperbeam.ao.persistent import Coalescer
from hyperbeam.ao.registry import DeviceRegistry
from hyperbeam.config import (
    STORE_MODULES,
    ConfigError,
    NodeConfig,
    canonical_name,
    setting_name,
)
from hyperbeam.crypto.wallet import Wallet, load_or_create
from hyperbeam.devices import cron, default_registry
from hyperbeam.devices.process import ProcessDevice
from hyperbeam.errors import HyperbeamError
from hyperbeam.gate import ComputeGate
from hyperbeam.http.render import SignedReplies
from hyperbeam.message.model import as_text
from hyperbeam.message.private import is_private
from hyperbeam.process.workers import ProcessWorkers
from hyperbeam.scheduler.server import MODES, Mode, SchedulerRegistry
from hyperbeam.store.base import Store, StoreChain
from hyperbeam.store.gateway import GatewayClient, GatewayStore
from hyperbeam.store.remote import RemoteNodeStore
from hyperbeam.store.rotating import RequestCache
from hyperbeam.wasm.engine import Runtime

log = logging.getLogger("hyperbeam")

#: Seconds a stopping node spends snapshotting its live processes.
CHECKPOINT_BUDGET = 30.0

#: Where the operator's changes to the node message are kept (a pointer to
#: the latest record in the local store).
NODE_MESSAGE_KEY = "~meta@1.0/node-message"

#: Settings that take effect only when the node starts again.
RESTART_SETTINGS = frozenset(
    {
        "host",
        "port",
        "workers",
        "remote_stores",
        "gateway",
        "gateway_timeout",
        "scheduling_mode",
        "log_level",
        "wasm_opt",
    }
)

#: Settings no request may change: the node's key file, its data and the
#: store that keeps the changes themselves.
FIXED_SETTINGS = frozenset({"wallet", "data_dir", "store", "store_chain"})

#: Settings the store chain is built from.
_STORE_SETTINGS = ("remote_stores", "gateway", "gateway_timeout")

PERMANENT = "The node message of this machine is already permanent. It cannot be changed."


class NodeMessagePermanent(HyperbeamError):
    status = 400


@dataclass(slots=True)
class Node:
    """The live node: settings plus the objects resolutions reach through ``opts``."""

    config: NodeConfig
    registry: DeviceRegistry = field(default_factory=default_registry)
    coalescer: Coalescer = field(default_factory=Coalescer)
    wallet: Wallet | None = None
    #: Recently signed replies (see :class:`hyperbeam.http.render.SignedReplies`).
    replies: SignedReplies = field(default_factory=SignedReplies)
    #: Where messages live: the local store, then the gateway (if any).
    store: StoreChain | None = None
    #: The scheduler servers of the processes this node schedules.
    schedulers: SchedulerRegistry | None = None
    #: The live state of processes and their one-at-a-time locks.
    workers: ProcessWorkers = field(default_factory=ProcessWorkers)
    #: The WebAssembly engine and its compiled modules (made on first use).
    wasm: Runtime | None = None
    #: The node-wide limit on WASM and Lua calls running at once.
    compute_gate: ComputeGate = field(default_factory=ComputeGate)
    #: IDs of the operator's requests that changed the node message, oldest
    #: first. Upstream: ``node_history``.
    history: list[str] = field(default_factory=list)
    #: The settings those requests changed (kept in the store, applied again
    #: at the next start).
    changed: dict[str, Any] = field(default_factory=dict)
    #: Whether this run offered the node to a router (``router@1.0`` register).
    router_registered: bool = False
    #: Start from the config alone, dropping the operator's kept changes
    #: (``hyperbeam serve --forget-node-message``).
    forget_changes: bool = False
    _update_lock: threading.Lock = field(default_factory=threading.Lock)

    def opts(self) -> dict[str, Any]:
        """Options for a resolution. Upstream: the node message."""
        await_inprogress: Any = {"true": True, "false": False}.get(
            self.config.await_inprogress, self.config.await_inprogress
        )
        return {
            "registry": self.registry,
            "coalescer": self.coalescer,
            "node": self,
            "await_inprogress": await_inprogress,
            "load_remote_devices": self.config.load_remote_devices,
            "priv_wallet": self.wallet,
            "store": self.store,
            "cache_store": request_cache_of(self.store),
            "load_message": self.load_message,
            "scheduler_registry": self.schedulers,
            "scheduler_follow_redirects": self.config.scheduler_follow_redirects,
            "process_workers": self.workers,
            "process_cache_frequency": self.config.process_cache_frequency,
            "process_snapshot_time": self.config.process_snapshot_time,
            "process_async_cache": self.config.process_async_cache,
            "wasm_runtime": self.wasm_runtime(),
            "wasm_max_memory": self.config.wasm_max_memory,
            "wasm_time_limit": self.config.wasm_time_limit,
            gate.KEY: self._gate(),
            # Resolutions the node starts itself act for no one: see
            # hyperbeam.authority (an HTTP request's signers replace it).
            authority.KEY: frozenset(),
        }

    def wasm_runtime(self) -> Runtime:
        """The node's WASM runtime; compiled modules are cached on disk in
        ``<data-dir>/wasm-cache``."""
        if self.wasm is None:
            self.wasm = Runtime(self.config.data_dir / "wasm-cache", self.config.wasm_opt)
        return self.wasm

    def http_opts(self) -> dict[str, Any]:
        """Options for resolutions started by HTTP requests: results are messages,
        and cached as the node's HTTP cache policy says (upstream's
        ``http_extra_opts``, ``always`` by default)."""
        return {
            **self.opts(),
            "force_message": True,
            "cache_control": self.config.http_cache_control,
            "async_cache": True,
        }

    def node_message(self) -> dict[str, Any]:
        """The node message as ``~meta@1.0/info`` shows it: the settings
        (unknown keys included), the node's address and operator, the loaded
        devices and the history of changes. Upstream: the node message with
        dev_meta:add_dynamic_keys/1."""
        out = self.config.node_message()
        out["operator"] = authority.operator_of(self.opts_lite())
        if self.address is not None:
            out["address"] = self.address
        out["devices"] = sorted(self.registry)
        out["node_history"] = list(self.history)
        return {k: v for k, v in out.items() if not is_private(k)}

    def opts_lite(self) -> dict[str, Any]:
        """The options that say who the node is, without building the rest."""
        return {"node": self, "priv_wallet": self.wallet}

    def update(self, changes: Mapping[str, Any], request_id: str | None) -> list[str]:
        """Apply an operator's changes to the node message, live, and keep
        them for the next start. Answers the changed settings that only take
        effect after a restart. Upstream: hb_http_server:set_opts/2."""
        refused = sorted(setting_name(k) for k in changes if canonical_name(k) in FIXED_SETTINGS)
        if refused:
            raise ConfigError(
                f"{', '.join(refused)} cannot be changed over HTTP; edit the config and restart",
                status=400,
            )
        with self._update_lock:
            if self.config.initialized == "permanent":
                raise NodeMessagePermanent(PERMANENT)
            try:
                updated = self.config.with_updates(changes)
            except ConfigError as exc:
                raise ConfigError(exc.reason, status=400) from None
            self.config = updated
            self.changed.update({setting_name(k): v for k, v in changes.items()})
            if request_id is not None:
                self.history.append(request_id)
            self._save_changes()
        return sorted({canonical_name(k) for k in changes} & RESTART_SETTINGS)

    def _save_changes(self) -> None:
        local = self.store.only("local") if self.store is not None else None
        if local is None:
            return
        record = {"settings": self.changed, "history": self.history}
        cache.point(NODE_MESSAGE_KEY, cache.write(record, local), local)

    def _load_changes(self) -> None:
        """Apply the changes kept by an earlier run (after the config file:
        the operator's latest word)."""
        local = self.store.only("local") if self.store is not None else None
        if local is None:
            return
        if self.forget_changes:
            cache.point(
                NODE_MESSAGE_KEY, cache.write({"settings": {}, "history": []}, local), local
            )
            log.info("node message: changes kept from earlier runs forgotten")
            return
        record = cache.pointed(NODE_MESSAGE_KEY, local)
        if not isinstance(record, dict):
            return
        settings = record.get("settings")
        history = record.get("history")
        if isinstance(settings, dict) and settings:
            self.config = self.config.with_updates(settings)
            self.changed = dict(settings)
        if isinstance(history, list):
            self.history = [as_text(h) for h in history]
        log.info("node message: %d change(s) kept from earlier runs", len(self.history))

    def load_message(self, msg_id: str, opts: dict[str, Any] | None = None) -> Any:
        """The message (or binary) stored under ``msg_id``: from the local store,
        else from the Arweave gateway (and then kept locally), else ``None``."""
        if self.store is None:
            return None
        local = self.store.only("local")
        found = cache.read(msg_id, local) if local is not None else None
        if found is not None:
            return found
        for remote in self.store.stores:
            if isinstance(remote, GatewayStore | RemoteNodeStore):
                found = remote.read_message(msg_id)
                if found is not None:
                    if local is not None and isinstance(found, dict):
                        try:
                            cache.write(found, local)
                        except HyperbeamError as exc:
                            log.warning("could not keep %s locally: %s", msg_id, exc.reason)
                    return found
        return None

    def keep_signed(self, msg: dict[str, Any]) -> None:
        """Store a verified signed request, so it can be read back by its ID.
        Upstream: ``store_all_signed``."""
        if self.store is not None and self.config.store_signed:
            try:
                cache.write(msg, self.store)
            except HyperbeamError as exc:
                log.warning("could not store a signed request: %s", exc.reason)

    def _gate(self) -> ComputeGate:
        """The gate, set as the settings say now (they may change live)."""
        self.compute_gate.set_limits(self.config.compute_concurrency, self.config.compute_queue)
        return self.compute_gate

    def prepare(self) -> None:
        """Create what the node needs on disk before it serves: its data
        directory, its wallet when it has none (never replacing one), and its
        store. Calling it again does nothing."""
        if self.wallet is not None and self.store is not None:
            return
        self.config.data_dir.mkdir(parents=True, exist_ok=True)
        log.info("data directory: %s", self.config.data_dir)
        if self.wallet is None:
            path = self.config.wallet_path
            created = not path.exists()
            self.wallet = load_or_create(path)
            log.info(
                "%s wallet %s (%s)", "created" if created else "loaded", self.wallet.address, path
            )

        if self.store is None:
            built_with = self.config
            self.store = build_store(self.config)
            self.store.start()
            self._load_changes()
            if any(getattr(built_with, k) != getattr(self.config, k) for k in _STORE_SETTINGS):
                self.store.stop()  # the kept changes name other remote stores
                self.store = build_store(self.config)
                self.store.start()
            hooks.run_start(self)
        metrics.node_started(__version__, self.address)
        unknown = self.config.unknown_keys()
        if unknown:
            log.info("kept in the node message, not read by this node: %s", ", ".join(unknown))
        if self.schedulers is None:
            mode = self.config.scheduling_mode
            if mode not in MODES:
                raise ConfigError(
                    f"unknown scheduling mode {mode!r}: use one of {', '.join(MODES)}"
                )
            assert self.wallet is not None
            local = self.store.only("local") or self.store
            self.schedulers = SchedulerRegistry(local, self.wallet, mode=cast(Mode, mode))

    def close(self) -> None:
        """Stop cron tasks, snapshot the live processes, finish pending cache
        writes, then close the store."""
        cron.stop_all(self)
        if self.store is not None:
            checkpoint_processes(self)
        cache_control.BACKGROUND.drain()
        if self.wasm is not None:
            self.wasm.close()
        if self.store is not None:
            self.store.stop()

    @property
    def address(self) -> str | None:
        return self.wallet.address if self.wallet is not None else None


def checkpoint_processes(node: Node, budget: float = CHECKPOINT_BUDGET) -> None:
    """Snapshot every process whose live state has none at its slot, so
    the next start resumes them without recomputing: the most recently used
    first, for at most ``budget`` seconds (the others resume from their last
    snapshot)."""
    device = node.registry.get("process@1.0")
    if not isinstance(device, ProcessDevice):
        return
    opts = node.opts()
    deadline = time.monotonic() + budget
    pending = list(reversed(node.workers.processes()))
    for done, pid in enumerate(pending):
        if time.monotonic() > deadline:
            log.warning(
                "stopping without snapshots of %d processes (they resume from their last one)",
                len(pending) - done,
            )
            return
        try:
            device.checkpoint(pid, opts)
        except Exception as exc:  # a failing process must not stop the shutdown
            log.warning("could not snapshot %s on shutdown: %s", pid, exc)


def build_store(config: NodeConfig) -> StoreChain:
    """The node's store chain: its local store, the remote nodes, then the
    Arweave gateway; or the chain ``store`` lists, in its order. The request
    cache (if bounded) comes right after the first store."""
    chain = _build_store(config)
    if config.request_cache_max_bytes > 0 and chain.stores:
        kind = config.store if config.store in ("lmdb", "memory") else "lmdb"
        cache = RequestCache(
            config.data_dir / "request-cache",
            lambda path: _local_store(kind, path.parent, path.name),
            config.request_cache_max_bytes,
        )
        chain = StoreChain([chain.stores[0], cache, *chain.stores[1:]])
    return chain


def request_cache_of(store: Store | None) -> RequestCache | None:
    """The bounded request cache in a node's store chain, if it has one."""
    stores = store.stores if isinstance(store, StoreChain) else []
    return next((s for s in stores if isinstance(s, RequestCache)), None)


def _build_store(config: NodeConfig) -> StoreChain:
    if config.store_chain:
        stores = [_store_of(d, config) for d in config.store_chain]
        log.info("store: %s", ", ".join(type(s).__name__ for s in stores))
        return StoreChain(stores)
    stores = [_local_store(config.store, config.data_dir)]
    for url in config.url_list(config.remote_stores):
        stores.append(RemoteNodeStore(url))
    if config.gateway:
        client = GatewayClient(config.gateway, timeout=float(config.gateway_timeout))
        stores.append(GatewayStore(client))
    log.info("store: %s%s", config.store, f", then gateway {config.gateway}" * bool(config.gateway))
    return StoreChain(stores)


def _local_store(kind: str, data_dir: Path, prefix: str = "") -> Store:
    """An embedded store; a relative ``prefix`` is inside the data directory."""
    if kind == "lmdb":
        from hyperbeam.store.lmdb import LmdbStore

        return LmdbStore(data_dir / (prefix or "store"))
    if kind == "fs":
        from hyperbeam.store.fs import FsStore

        return FsStore(data_dir / (prefix or "store-fs"))
    if kind == "memory":
        from hyperbeam.store.memory import MemoryStore

        return MemoryStore()
    raise ConfigError(f"unknown store {kind!r}: use lmdb, fs or memory")


def _store_of(definition: Mapping[str, Any], config: NodeConfig) -> Store:
    """One of upstream's store definitions (``store-module`` and its keys)."""
    kind = STORE_MODULES[str(definition["store-module"])]
    if kind == "remote":
        return RemoteNodeStore(str(definition["node"]).rstrip("/"))
    if kind == "gateway":
        url = str(definition.get("node") or config.gateway)
        if not url:
            raise ConfigError("a hb_store_gateway store needs a gateway URL ('node' or 'gateway')")
        subindex = definition.get("subindex")
        pairs = (
            [(str(t["name"]), str(t["value"])) for t in subindex]
            if isinstance(subindex, list)
            else None
        )
        client = GatewayClient(url, timeout=float(config.gateway_timeout))
        return GatewayStore(client, subindex=pairs)
    prefix = str(definition.get("prefix") or definition.get("name") or "")
    return _local_store(kind, config.data_dir, prefix)

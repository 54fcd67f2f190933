"""A node: its settings, the resolver options built from them, and start-up.

Upstream: hb_http_server:start/1 (the node message), hb_opts.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any, cast

from hyperbeam import cache, cache_control
from hyperbeam.ao.persistent import Coalescer
from hyperbeam.ao.registry import DeviceRegistry
from hyperbeam.config import ConfigError, NodeConfig
from hyperbeam.crypto.wallet import Wallet, load_or_create
from hyperbeam.devices import cron, default_registry
from hyperbeam.devices.process import ProcessDevice
from hyperbeam.errors import HyperbeamError
from hyperbeam.http.render import SignedReplies
from hyperbeam.process.workers import ProcessWorkers
from hyperbeam.scheduler.server import MODES, Mode, SchedulerRegistry
from hyperbeam.store.base import Store, StoreChain
from hyperbeam.store.gateway import GatewayClient, GatewayStore
from hyperbeam.store.remote import RemoteNodeStore
from hyperbeam.wasm.engine import Runtime

log = logging.getLogger("hyperbeam")

#: Seconds a stopping node spends snapshotting its live processes.
CHECKPOINT_BUDGET = 30.0


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
            self.store = build_store(self.config)
            self.store.start()
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
    """The node's store chain: its local store, then the Arweave gateway."""
    local: Store
    if config.store == "lmdb":
        from hyperbeam.store.lmdb import LmdbStore

        local = LmdbStore(config.data_dir / "store")
    elif config.store == "fs":
        from hyperbeam.store.fs import FsStore

        local = FsStore(config.data_dir / "store-fs")
    elif config.store == "memory":
        from hyperbeam.store.memory import MemoryStore

        local = MemoryStore()
    else:
        raise ConfigError(f"unknown store {config.store!r}: use lmdb, fs or memory")
    stores: list[Store] = [local]
    for url in config.url_list(config.remote_stores):
        stores.append(RemoteNodeStore(url))
    if config.gateway:
        client = GatewayClient(config.gateway, timeout=float(config.gateway_timeout))
        stores.append(GatewayStore(client))
    log.info("store: %s%s", config.store, f", then gateway {config.gateway}" * bool(config.gateway))
    return StoreChain(stores)

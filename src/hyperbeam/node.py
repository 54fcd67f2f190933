"""A node: its settings, the resolver options built from them, and start-up.

Upstream: hb_http_server:start/1 (the node message), hb_opts.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from hyperbeam.ao.persistent import Coalescer
from hyperbeam.ao.registry import DeviceRegistry
from hyperbeam.config import NodeConfig
from hyperbeam.crypto.wallet import Wallet, load_or_create
from hyperbeam.devices import default_registry
from hyperbeam.http.render import SignedReplies

log = logging.getLogger("hyperbeam")


@dataclass(slots=True)
class Node:
    """The live node: settings plus the objects resolutions reach through ``opts``."""

    config: NodeConfig
    registry: DeviceRegistry = field(default_factory=default_registry)
    coalescer: Coalescer = field(default_factory=Coalescer)
    wallet: Wallet | None = None
    #: Recently signed replies (see :class:`hyperbeam.http.render.SignedReplies`).
    replies: SignedReplies = field(default_factory=SignedReplies)

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
        }

    def http_opts(self) -> dict[str, Any]:
        """Options for resolutions started by HTTP requests: results are messages."""
        return {**self.opts(), "force_message": True}

    def prepare(self) -> None:
        """Create what the node needs on disk before it serves: its data
        directory, and its wallet when it has none (never replacing one)."""
        self.config.data_dir.mkdir(parents=True, exist_ok=True)
        log.info("data directory: %s", self.config.data_dir)
        if self.wallet is None:
            path = self.config.wallet_path
            created = not path.exists()
            self.wallet = load_or_create(path)
            log.info(
                "%s wallet %s (%s)", "created" if created else "loaded", self.wallet.address, path
            )

    @property
    def address(self) -> str | None:
        return self.wallet.address if self.wallet is not None else None

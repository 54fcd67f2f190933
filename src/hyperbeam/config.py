"""Node settings: defaults, then a config file, then environment, then flags.

The config file uses upstream's ``config.flat`` shape, one ``key: value`` per
line (``#`` starts a comment), or JSON when it ends in ``.json``. Environment
variables are ``HB_<KEY>`` (``HB_PORT=9000``). Keys may be written with ``-``
or ``_``.

Upstream: hb_opts (default_message/0, load/1).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from hyperbeam.errors import HyperbeamError


class ConfigError(HyperbeamError, ValueError):
    status = 500


def default_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "hyperbeam"


@dataclass(frozen=True, slots=True, kw_only=True)
class NodeConfig:
    """Everything an operator can set. Defaults follow upstream's."""

    host: str = "127.0.0.1"
    port: int = 8734
    data_dir: Path = field(default_factory=default_data_dir)
    #: Threads that run resolutions for HTTP requests.
    workers: int = 16
    #: Requests with a larger body get 413.
    max_body_bytes: int = 64 * 1024 * 1024
    #: Where ``GET /`` redirects. Upstream: ``default_req``.
    default_request: str = "/~meta@1.0/info"
    #: Await identical in-flight resolutions: ``named`` (upstream's default),
    #: ``true`` (every resolution) or ``false``.
    await_inprogress: str = "named"
    load_remote_devices: bool = False
    log_level: str = "info"
    #: The node's Arweave key file; empty means ``<data-dir>/wallet.json``,
    #: generated on first start. Upstream: ``priv_key_location``.
    wallet: str = ""
    #: Sign every reply with the node's wallet. Upstream: ``force_signed``.
    force_signed: bool = True
    #: Where messages live: ``lmdb`` (in ``<data-dir>/store``), ``fs`` (plain files
    #: in ``<data-dir>/store-fs``, like upstream's cache directory) or ``memory``.
    store: str = "lmdb"
    #: An Arweave gateway read for messages the node does not have (GraphQL and
    #: raw data); empty for none. Upstream's default chain ends in arweave.net.
    gateway: str = "https://arweave.net"
    #: Seconds to wait for the gateway before giving up on it.
    gateway_timeout: int = 10
    #: Cache policy of HTTP requests (``cache-control`` directives): ``always``
    #: stores every result and answers repeats from the store, as upstream.
    http_cache_control: str = "always"
    #: Store every verified signed request. Upstream: ``store_all_signed``.
    store_signed: bool = True
    #: Other nodes whose stores are read (comma-separated URLs) for messages
    #: this node does not have, such as the processes it computes.
    #: Upstream: ``hb_store_remote_node`` entries in ``store``.
    remote_stores: str = ""
    #: When a schedule POST is acknowledged: ``local_confirmation`` (once the
    #: assignment is durable), ``aggressive`` (once it is signed) or
    #: ``disabled`` (this node schedules nothing). Upstream: ``scheduling_mode``.
    scheduling_mode: str = "local_confirmation"
    #: Forward schedule requests for processes scheduled elsewhere (else a 307).
    scheduler_follow_redirects: bool = True
    #: Nodes told of this node's new scheduler location (comma-separated URLs).
    #: Upstream: ``scheduler_location_notify_peers``.
    scheduler_location_peers: str = ""
    #: This node's URL in its scheduler location record; empty means
    #: ``http://<host>:<port>``.
    public_url: str = ""
    #: A process's state is stored with a snapshot (what a restart resumes
    #: from) every this many slots; 0 means by time instead (see
    #: ``process-snapshot-time``). Upstream: ``process_cache_frequency``
    #: (default 1, which for WASM processes writes their whole memory per slot).
    process_cache_frequency: int = 0
    #: With ``process-cache-frequency`` 0: seconds between snapshots of a
    #: process (its first computed slot and its last state at shutdown are
    #: always snapshotted).
    process_snapshot_time: float = 60.0
    #: Store computed states on a background thread (the computation does not
    #: wait for the write). Upstream: ``process_async_cache`` (default true);
    #: off here, because the writer thread competes with the computation for
    #: the GIL (AOS through the process device: 145 slots/s without, 112 with).
    process_async_cache: bool = False
    #: The most memory one WASM instance may use (bytes).
    wasm_max_memory: int = 4 * 1024**3
    #: The longest one call into a WASM instance may run (seconds); past it the
    #: call fails with a clear reason.
    wasm_time_limit: float = 60.0
    #: binaryen's ``wasm-opt``, for images in the legacy exception encoding;
    #: empty means look on ``PATH`` (and in the test clients' node_modules).
    wasm_opt: str = ""

    @property
    def url(self) -> str:
        """How other nodes reach this one."""
        return self.public_url or f"http://{self.host}:{self.port}"

    @staticmethod
    def url_list(value: str) -> list[str]:
        """A comma-separated setting as a list (empty items dropped)."""
        return [item.strip().rstrip("/") for item in value.split(",") if item.strip()]

    @property
    def wallet_path(self) -> Path:
        return Path(self.wallet).expanduser() if self.wallet else self.data_dir / "wallet.json"

    def with_updates(self, updates: Mapping[str, Any]) -> NodeConfig:
        """A copy with ``updates`` applied, each value coerced to the field's type."""
        known = {f.name: f for f in fields(self)}
        coerced: dict[str, Any] = {}
        for raw_key, value in updates.items():
            name = raw_key.strip().replace("-", "_").lower()
            if name not in known:
                raise ConfigError(f"unknown setting {raw_key!r}")
            coerced[name] = _coerce(name, getattr(self, name), value)
        return replace(self, **coerced)

    def public(self) -> dict[str, Any]:
        """Settings as a message, for ``~meta@1.0/info``."""
        return {
            f.name.replace("_", "-"): (
                str(getattr(self, f.name))
                if isinstance(getattr(self, f.name), Path)
                else getattr(self, f.name)
            )
            for f in fields(self)
            if f.name != "wallet"
        }


def _coerce(name: str, current: Any, value: Any) -> Any:
    try:
        if isinstance(current, bool):
            if isinstance(value, bool):
                return value
            text = str(value).strip().lower()
            if text not in ("true", "false", "1", "0", "yes", "no"):
                raise ValueError(f"{value!r} is not a boolean")
            return text in ("true", "1", "yes")
        if isinstance(current, int):
            return int(value)
        if isinstance(current, float):
            return float(value)
        if isinstance(current, Path):
            return Path(str(value)).expanduser()
        return str(value)
    except ValueError as exc:
        raise ConfigError(f"bad value for {name}: {exc}") from exc


def parse_flat(text: str) -> dict[str, str]:
    """``key: value`` lines. Upstream: dev_codec_flat:deserialize/1."""
    out: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        key, sep, value = stripped.partition(":")
        if not sep or not key.strip():
            raise ConfigError(f"line {number}: expected 'key: value', got {stripped!r}")
        out[key.strip()] = value.strip()
    return out


def load_file(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from exc
    if path.suffix == ".json":
        try:
            loaded = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{path}: invalid JSON: {exc}") from exc
        if not isinstance(loaded, dict):
            raise ConfigError(f"{path}: expected a JSON object")
        return loaded
    return dict(parse_flat(text))


def from_environment(env: Mapping[str, str]) -> dict[str, str]:
    names = {f.name for f in fields(NodeConfig)}
    return {
        key[3:].lower(): value
        for key, value in env.items()
        if key.startswith("HB_") and key[3:].lower() in names
    }


def load(
    *,
    config_file: Path | None = None,
    env: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> NodeConfig:
    """Defaults < config file < environment < explicit overrides."""
    config = NodeConfig()
    if config_file is not None:
        config = config.with_updates(load_file(config_file))
    config = config.with_updates(from_environment(os.environ if env is None else env))
    if overrides:
        config = config.with_updates({k: v for k, v in overrides.items() if v is not None})
    return config

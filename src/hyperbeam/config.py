"""Node settings: defaults, then a config file, then environment, then flags.

The config file uses upstream's ``config.flat`` shape, one ``key: value`` per
line (``#`` starts a comment; a ``/`` in a key nests, as in
``on/request/device: relay@1.0``), or JSON when it ends in ``.json``.
Environment variables are ``HB_<KEY>`` (``HB_PORT=9000``), plus upstream's
``HB_KEY`` (the key file) and ``HB_CONFIG`` (the config file). Keys may be
written with ``-`` or ``_``; upstream's names of our settings are accepted
(``priv_key_location`` for ``wallet``, ``default_req`` for
``default_request``), and keys the node does not know are kept in the node
message, as upstream keeps them.

Upstream: hb_opts (default_message/0, load/1, mimic_default_types/2).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from hyperbeam.budget import Limits
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
    #: Per-request work limits (see ``hyperbeam.budget``): parts of a path,
    #: device calls, how deeply they nest, bytes of the reply.
    max_path_parts: int = 512
    max_resolve_steps: int = 1_000_000
    max_resolve_depth: int = 100
    max_reply_bytes: int = 512 * 1024 * 1024
    #: WASM and Lua calls running at once, node-wide; 0 means one per CPU
    #: core. Calls past it wait for a turn (see ``compute_queue``).
    compute_concurrency: int = 0
    #: Calls that may wait for a turn; past it a request gets 503 at once,
    #: so waiting calls never hold every resolver thread.
    compute_queue: int = 10
    #: Seconds a connection may take to send a request's headers (from its
    #: opening, or the end of the previous response).
    header_timeout: float = 10.0
    #: Seconds a request may take to send its body (past it: 408).
    body_timeout: float = 60.0
    #: Seconds an idle keep-alive connection stays open.
    keep_alive_timeout: float = 5.0
    #: Open connections at most; more are closed as they arrive.
    max_connections: int = 1000
    #: Bytes of results the resolver caches (the results of requests, kept in
    #: ``<data-dir>/request-cache`` in two generations, the older dropped as
    #: the newer fills half of this); 0 keeps them in the node's store with
    #: no bound, as upstream.
    request_cache_max_bytes: int = 1024**3
    #: Where ``GET /`` redirects: the node's web page. Upstream: ``default_req``.
    default_request: str = "/~hyperbuddy@1.0/index"
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
    #: The most memory one Lua state may use (bytes).
    lua_max_memory: int = 512 * 1024 * 1024
    #: The most Lua instructions one call may run; past it the call fails
    #: with a clear reason.
    lua_max_instructions: int = 200_000_000
    #: Who may change the node message and act for the node (an address);
    #: empty means the node's own wallet, ``unclaimed`` means anyone until
    #: someone claims it. Upstream: ``operator``.
    operator: str = ""
    #: ``true``; ``false`` (the node answers only ``~meta@1.0/info`` until
    #: its operator initializes it); ``permanent`` (the node message can no
    #: longer change). Upstream: ``initialized``.
    initialized: str = "true"
    #: Addresses whose signed requests may write to the cache
    #: (comma-separated); empty means the operator. Upstream: ``cache_writers``.
    cache_writers: str = ""
    #: Hooks: a hook name (``request``, ``response``, ``start``) to a handler
    #: message or a list of them. Upstream: ``on`` (dev_hook).
    on: Mapping[str, Any] = field(default_factory=dict)
    #: Where ``name@1.0`` looks names up, in order (messages answering
    #: ``lookup`` with ``key``). Upstream: ``name_resolvers`` (default none).
    name_resolvers: tuple[Mapping[str, Any], ...] = ({"device": "local-name@1.0"},)
    #: Where ``router@1.0`` sends messages: a list of routes (``template``,
    #: ``node`` or ``nodes`` with a ``strategy``...); none means the Arweave
    #: gateway's ``/graphql`` and ``/raw``. ``route_provider`` (a message or a
    #: path resolving to the routes) and ``route_owners`` (who may add them)
    #: are read too. Upstream: ``routes``.
    routes: tuple[Mapping[str, Any], ...] = ()
    #: Processes the node runs under its own identity: a name to a process
    #: message (``node-process@1.0``). Upstream: ``node_processes``.
    node_processes: Mapping[str, Any] = field(default_factory=dict)
    #: The store as a list of upstream store definitions (``store-module``:
    #: ``hb_store_lmdb``, ``hb_store_fs``, ``hb_store_rocksdb`` (kept in
    #: LMDB here), ``hb_store_memory``, ``hb_store_remote_node``,
    #: ``hb_store_gateway``), tried in order; set by giving ``store`` a list.
    store_chain: tuple[Mapping[str, Any], ...] = ()
    #: Keys the node does not know, kept in the node message as upstream does.
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def url(self) -> str:
        """How other nodes reach this one."""
        return self.public_url or f"http://{self.host}:{self.port}"

    @staticmethod
    def url_list(value: str) -> list[str]:
        """A comma-separated setting as a list (empty items dropped)."""
        return [item.strip().rstrip("/") for item in value.split(",") if item.strip()]

    @property
    def limits(self) -> Limits:
        """The per-request work limits."""
        return Limits(
            max_path_parts=self.max_path_parts,
            max_resolve_steps=self.max_resolve_steps,
            max_resolve_depth=self.max_resolve_depth,
            max_reply_bytes=self.max_reply_bytes,
        )

    @property
    def wallet_path(self) -> Path:
        return Path(self.wallet).expanduser() if self.wallet else self.data_dir / "wallet.json"

    def with_updates(self, updates: Mapping[str, Any]) -> NodeConfig:
        """A copy with ``updates`` applied: known settings (under our names
        or upstream's) coerced to their type, ``store`` given as a list made
        the store chain, anything else kept in :attr:`extra`."""
        known = {f.name: f for f in fields(self) if f.name not in _INTERNAL}
        coerced: dict[str, Any] = {}
        extra = dict(self.extra)
        for raw_key, value in updates.items():
            name = setting_name(raw_key)
            target = canonical_name(raw_key)
            if target == "store" and _is_store_chain(value):
                coerced["store_chain"] = _store_chain(value)
                coerced["store"] = "chain"
            elif target in known:
                coerced[target] = _coerce(target, getattr(self, target), value)
                if target == "store":
                    coerced["store_chain"] = ()
            else:
                extra[name] = value
        if extra != self.extra:
            coerced["extra"] = extra
        return replace(self, **coerced)

    def unknown_keys(self) -> list[str]:
        """Keys kept in the node message that no part of this node reads."""
        return sorted(self.extra)

    def node_message(self) -> dict[str, Any]:
        """The settings as upstream's node message, for ``~meta@1.0/info``:
        upstream's spellings (``_``), unknown keys included, the key file's
        location left out."""
        out: dict[str, Any] = {}
        for f in fields(self):
            if f.name in _INTERNAL or f.name == "wallet":
                continue
            value = getattr(self, f.name)
            if f.name == "store" and self.store_chain:
                value = [dict(d) for d in self.store_chain]
            elif f.name == "initialized":
                value = {"true": True, "false": False}.get(value, value)
            elif isinstance(value, Path):
                value = str(value)
            elif isinstance(value, Mapping):
                value = dict(value)
            elif isinstance(value, tuple):
                value = [dict(v) for v in value]
            out[f.name] = value
        out.update(self.extra)
        return out


#: Fields that are not settings of their own.
_INTERNAL = frozenset({"store_chain", "extra"})

#: Upstream's names of settings this node spells differently.
ALIASES = {
    "priv_key_location": "wallet",
    "default_req": "default_request",
    "store_all_signed": "store_signed",
}

#: Upstream's store modules, as this node runs them.
STORE_MODULES = {
    "hb_store_lmdb": "lmdb",
    "hb_store_rocksdb": "lmdb",
    "hb_store_fs": "fs",
    "hb_store_memory": "memory",
    "hb_store_remote_node": "remote",
    "hb_store_gateway": "gateway",
}


def setting_name(key: Any) -> str:
    """A top-level key as upstream normalizes it: ``-`` becomes ``_``
    (case kept). Upstream: hb_util:key_to_atom/2."""
    text = key.decode("utf-8") if isinstance(key, bytes) else str(key)
    return text.strip().replace("-", "_")


def canonical_name(key: Any) -> str:
    """The name of the setting ``key`` sets, if it is one of ours (lower
    case, upstream's spellings read as ours)."""
    name = setting_name(key).lower()
    return ALIASES.get(name, name)


def _is_store_chain(value: Any) -> bool:
    if isinstance(value, str):
        return value.lstrip().startswith(("[", "{"))
    return isinstance(value, list | tuple | Mapping)


def _parsed(name: str, value: Any) -> Any:
    """A value given as JSON text (by a flat config or the environment), parsed."""
    if not isinstance(value, str | bytes):
        return value
    try:
        return json.loads(value)
    except (ValueError, RecursionError) as exc:  # also too many digits, too deep
        raise ConfigError(f"bad value for {name}: invalid JSON: {exc}") from exc


def _numbered(name: str, value: Any) -> Any:
    """A list written as numbered keys (flat ``store/1/...``) as a list."""
    if not isinstance(value, Mapping):
        return value
    try:
        return [value[k] for k in sorted(value, key=lambda k: int(str(k)))]
    except ValueError:
        raise ConfigError(f"bad value for {name}: expected a list") from None


def _store_chain(value: Any) -> tuple[dict[str, Any], ...]:
    """``store`` as upstream writes it: one store definition or a list of
    them (also as JSON text, or as flat ``store/1/store-module`` keys)."""
    value = _parsed("store", value)
    if isinstance(value, Mapping) and ("store-module" in value or "store_module" in value):
        value = [value]
    value = _numbered("store", value)
    chain: list[dict[str, Any]] = []
    for number, item in enumerate(value, start=1):
        if not isinstance(item, Mapping):
            raise ConfigError(f"bad value for store: entry {number} is not a store definition")
        definition = {str(k).replace("_", "-"): v for k, v in item.items()}
        module = str(definition.get("store-module", ""))
        if module not in STORE_MODULES:
            raise ConfigError(
                f"bad value for store: entry {number} has store-module {module!r}; "
                f"use one of {', '.join(STORE_MODULES)}"
            )
        if module == "hb_store_remote_node" and not definition.get("node"):
            raise ConfigError(f"bad value for store: entry {number} needs a 'node' URL")
        chain.append(definition)
    if not chain:
        raise ConfigError("bad value for store: the list is empty")
    return tuple(chain)


#: What ``initialized`` may be.
INITIALIZED = ("true", "false", "permanent")


def _coerce(name: str, current: Any, value: Any) -> Any:
    if name == "initialized":
        text = str(value).strip().lower()
        if text not in INITIALIZED:
            raise ConfigError(f"bad value for initialized: use one of {', '.join(INITIALIZED)}")
        return text
    if isinstance(current, Mapping):
        value = _parsed(name, value)
        if not isinstance(value, Mapping):
            raise ConfigError(f"bad value for {name}: expected a message")
        return dict(value)
    if isinstance(current, tuple):
        value = _numbered(name, _parsed(name, value))
        if not isinstance(value, list | tuple) or not all(isinstance(v, Mapping) for v in value):
            raise ConfigError(f"bad value for {name}: expected a list of messages")
        return tuple(dict(v) for v in value)
    if isinstance(value, Mapping | list):
        raise ConfigError(f"bad value for {name}: expected a single value")
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
    except (ValueError, TypeError, OverflowError, RuntimeError) as exc:
        # null, 1e999, 10**400 (JSON), or a `~user` home that does not exist
        raise ConfigError(f"bad value for {name}: {exc}") from exc


def parse_flat(text: str) -> dict[str, Any]:
    """``key: value`` lines; a ``/`` in a key nests (``on/request/device:
    relay@1.0``). Upstream: dev_codec_flat:deserialize/1, which drops a
    line it cannot read; here it is a clear error."""
    out: dict[str, Any] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        key, sep, value = stripped.partition(":")
        if not sep or not key.strip():
            raise ConfigError(f"line {number}: expected 'key: value', got {stripped!r}")
        *parents, leaf = [part.strip() for part in key.split("/")]
        target = out
        for part in parents:
            nested = target.setdefault(part, {})
            if not isinstance(nested, dict):
                raise ConfigError(f"line {number}: {key.strip()!r} is inside a plain value")
            target = nested
        if isinstance(target.get(leaf), dict):
            raise ConfigError(f"line {number}: {key.strip()!r} already holds keys")
        target[leaf] = value.strip()
    return out


def load_file(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"config file {path} is not UTF-8: {exc}") from exc
    if path.suffix == ".json":
        try:
            loaded = json.loads(text)
        except (ValueError, RecursionError) as exc:  # also too many digits, too deep
            raise ConfigError(f"{path}: invalid JSON: {exc}") from exc
        if not isinstance(loaded, dict):
            raise ConfigError(f"{path}: expected a JSON object")
        return loaded
    return parse_flat(text)


#: Upstream's environment variables for settings (``HB_CONFIG`` names the
#: config file itself).
ENV_ALIASES = {"HB_KEY": "wallet"}


def from_environment(env: Mapping[str, str]) -> dict[str, str]:
    """``HB_<SETTING>`` variables, and upstream's ``HB_KEY``."""
    names = {f.name for f in fields(NodeConfig)} - _INTERNAL
    found = {
        key[3:].lower(): value
        for key, value in env.items()
        if key.startswith("HB_") and key[3:].lower() in names
    }
    for variable, name in ENV_ALIASES.items():
        if env.get(variable):
            found[name] = env[variable]
    return found


def load(
    *,
    config_file: Path | None = None,
    env: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> NodeConfig:
    """Defaults < config file < environment < explicit overrides. Without a
    ``config_file``, ``HB_CONFIG`` names one."""
    env = os.environ if env is None else env
    config = NodeConfig()
    if config_file is None and env.get("HB_CONFIG"):
        config_file = Path(env["HB_CONFIG"]).expanduser()
    if config_file is not None:
        config = config.with_updates(load_file(config_file))
    config = config.with_updates(from_environment(env))
    if overrides:
        config = config.with_updates({k: v for k, v in overrides.items() if v is not None})
    return config

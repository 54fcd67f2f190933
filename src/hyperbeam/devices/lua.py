"""``lua@5.3a``: run Lua 5.3 modules on messages.

The base's ``module`` names the code: an ID (read from the store or the
gateway: the code itself, or a message holding it), a message with
``content-type: application/lua`` or ``text/x-lua`` (the code in its
``body``, else ``data``; its ``name``, else ``id``, names the chunk), any
other message (each of its values a module) or a list, loaded in order into
one Lua state. The state lives in the message's private ``lua-state`` and
goes with every result that is a message.

Any key that is not the base's own (and not ``keys``, ``set``, ``encode``,
``decode``) calls a Lua global: the request's ``body/function`` or
``function``, the base's ``function``, else the key itself; with the
request's ``body/parameters`` or ``parameters``, the base's ``parameters``,
else ``(base, request, {})``. ``return x`` answers ``ok`` and ``x``;
``return status, x`` that status; a table answered is a message (tables
whose keys are ``1..n`` are lists) and carries the state on. A failing
script answers 500 with its message and a ``trace``.

``init`` loads the modules (once), ``functions`` lists the global
functions, ``snapshot`` answers ``{body}``: the state's heap (see
:mod:`hyperbeam.lua.vm`), tagged with an HMAC of the node's key, which
``normalize`` checks before restoring a state that has none from
``snapshot/<device-key>/body`` or ``snapshot/body``.

Options of the base: ``sandbox`` (``true``: upstream's list of functions
replaced by ``"sandboxed"``; a message of path to value; a list of paths),
``device-sandbox`` (the devices ``ao.resolve`` may reach). Node settings:
``lua-max-memory`` (bytes per state) and ``lua-max-instructions`` (per
call). Whatever the sandbox, scripts never reach files, the environment,
precompiled chunks or Python (see :mod:`hyperbeam.lua.vm`).

Upstream: dev_lua.erl, dev_lua_lib.erl. Deviations: the snapshot is this
node's own format (upstream's is luerl's); a state with a live coroutine has
none (the process then resumes from an earlier one); limits that luerl does
not have.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections.abc import Mapping
from typing import Any

from hyperbeam import gate, metrics
from hyperbeam.ao import resolve as ao
from hyperbeam.ao.device import Device, Result, key
from hyperbeam.ao.path import As
from hyperbeam.ao.registry import DeviceRegistry
from hyperbeam.ao.singleton import from_request
from hyperbeam.cache_control import volatile
from hyperbeam.crypto.wallet import Wallet
from hyperbeam.errors import HyperbeamError
from hyperbeam.lua.convert import from_lua, to_lua
from hyperbeam.lua.vm import DEFAULT_BUDGET, DEFAULT_MAX_MEMORY, LuaError, LuaVM
from hyperbeam.message.ids import is_id
from hyperbeam.message.model import Message, as_text
from hyperbeam.message.private import private_of, strip_private, with_private

log = logging.getLogger("hyperbeam.lua")

Opts = Mapping[str, Any]
STATE = "lua-state"
LUA_TYPES = ("application/lua", "text/x-lua")
#: Upstream's default sandbox: each path replaced by "sandboxed".
DEFAULT_SANDBOX = (
    "io", "file", "os.execute", "os.exit", "os.getenv", "os.remove", "os.rename",
    "os.tmpname", "package", "loadfile", "require", "dofile", "load", "loadstring",
)  # fmt: skip
_SNAPSHOT_TAG = b"hyperbeam lua snapshot v1"


class LuaDevice(Device):
    name = "lua@5.3a"

    def info(self, msg: Any, opts: Mapping[str, Any]) -> dict[str, Any]:
        own = list(msg) if isinstance(msg, dict) else []
        return {"default": self.call, "excludes": ["keys", "set", "encode", "decode", *own]}

    @key("init")
    def init(self, msg: Message, req: Any, opts: Opts) -> Result:
        return volatile(("ok", ensure_state(msg, opts)[0]))

    @key("functions")
    def functions(self, msg: Message, req: Any, opts: Opts) -> Result:
        _, vm = ensure_state(msg, opts)
        return "ok", vm.functions()

    @key("snapshot")
    def snapshot(self, msg: Message, req: Any, opts: Opts) -> Result:
        vm = state_of(msg)
        if vm is None:
            return "error", {"status": 400, "body": "no Lua state to snapshot"}
        try:
            heap = vm.snapshot()
        except LuaError as exc:
            return "error", {"status": exc.status, "body": exc.reason}
        return "ok", {"body": heap, "hmac": _tag(heap, opts)}

    @key("normalize")
    def normalize(self, msg: Message, req: Any, opts: Opts) -> Result:
        """Restore a state from the snapshot the message carries."""
        if state_of(msg) is not None:
            return "ok", msg
        device_key = msg.get("device-key")
        snap = msg.get("snapshot")
        if isinstance(snap, dict) and device_key is not None and device_key in snap:
            snap = snap[device_key]
        if not isinstance(snap, dict) or not isinstance(snap.get("body"), str | bytes):
            return "error", {"status": 404, "body": "no Lua state snapshot found"}
        heap = _bytes(snap["body"])
        if not hmac.compare_digest(_bytes(snap.get("hmac", b"")), _tag(heap, opts)):
            return "error", {
                "status": 422,
                "body": "the Lua snapshot was not made by this node: not restoring it",
            }
        vm = new_vm(msg, opts)
        try:
            vm.install(_sandbox(msg))
            vm.restore(heap)
        except LuaError as exc:
            return "error", {"status": exc.status, "body": exc.reason}
        vm.modules = ["(snapshot)"]
        return volatile(("ok", with_private(msg, {**private_of(msg), STATE: vm})))

    def call(self, name: Any, msg: Message, req: Any, opts: Opts) -> Result:
        """Call a Lua global. Upstream: dev_lua:compute/4."""
        req = req if isinstance(req, dict) else {}
        with gate.of(opts).turn(f"the Lua call {as_text(name)}"):
            try:
                base, vm = ensure_state(msg, opts)
                function = _first(req, base, "function", name)
                params = _first(req, base, "parameters", None)
                args = params if isinstance(params, list) else [strip_private(base), req, {}]
                metrics.LUA_EXECUTIONS.inc()
                results = vm.call(as_text(function), args, opts)
            except LuaError as exc:
                return "error", {"status": exc.status, "body": exc.reason, "trace": exc.trace}
        if not results:
            return "error", {"status": 500, "body": f"the Lua function {function} returned nothing"}
        status, value = ("ok", results[0]) if len(results) == 1 else (results[0], results[1])
        if isinstance(value, dict):
            value = with_private(value, {**private_of(base), STATE: vm})
            return volatile((as_text(status), value))
        return as_text(status), value


def state_of(msg: Any) -> LuaVM | None:
    found = private_of(msg).get(STATE) if isinstance(msg, dict) else None
    return found if isinstance(found, LuaVM) else None


def ensure_state(msg: Message, opts: Opts) -> tuple[Message, LuaVM]:
    """The message with a Lua state: its own, or a new one with its modules
    loaded. Upstream: dev_lua:ensure_initialized/3."""
    found = state_of(msg)
    if found is not None:
        return msg, found
    modules = find_modules(msg, opts)
    with gate.of(opts).turn("loading the Lua modules"):
        vm = new_vm(msg, opts)
        for name, code in modules:
            vm.load(code, name)
        vm.install(_sandbox(msg))
    return with_private(msg, {**private_of(msg), STATE: vm}), vm


def new_vm(msg: Message, opts: Opts) -> LuaVM:
    node = opts.get("node")
    config = getattr(node, "config", None)
    library = HostLibrary(msg)
    vm = LuaVM(
        library.functions(),
        max_memory=int(getattr(config, "lua_max_memory", 0) or DEFAULT_MAX_MEMORY),
        budget=int(getattr(config, "lua_max_instructions", 0) or DEFAULT_BUDGET),
    )
    library.vm = vm
    vm.opts = opts
    return vm


def find_modules(msg: Message, opts: Opts) -> list[tuple[str, bytes]]:
    """The modules the message names, as ``(name, code)``.
    Upstream: dev_lua:find_modules/2, load_modules/2."""
    found = msg.get("module")
    if found is None:
        raise LuaError("no-modules-found", status=400)
    if isinstance(found, dict) and as_text(found.get("content-type", "")) not in LUA_TYPES:
        found = list(found.values())
    return [_module(item, opts) for item in (found if isinstance(found, list) else [found])]


def _module(item: Any, opts: Opts) -> tuple[str, bytes]:
    if isinstance(item, str | bytes) and is_id(as_text(item)):
        loader = opts.get("load_message")
        loaded = loader(as_text(item), opts) if callable(loader) else None
        if loaded is None:
            raise LuaError(f"Lua module '{as_text(item)}' not found.", status=404)
        if isinstance(loaded, str | bytes):
            return as_text(item), _bytes(loaded)
        item = loaded
    if isinstance(item, dict):
        code = item.get("body", item.get("data"))
        if not isinstance(code, str | bytes):
            raise LuaError(
                "Lua module not loadable: a module needs a `body` (or `data`) of code",
                status=404,
            )
        name = item.get("name", item.get("id", "module"))
        return as_text(name), _bytes(code)
    if isinstance(item, str | bytes):
        return "module", _bytes(item)
    raise LuaError(f"a {type(item).__name__} is not a Lua module", status=400)


def _first(req: Message, base: Message, name: str, default: Any) -> Any:
    body = req.get("body")
    if isinstance(body, dict) and name in body:
        return body[name]
    if name in req:
        return req[name]
    if name in base:
        return base[name]
    return default


def _sandbox(msg: Message) -> dict[str, Any] | None:
    """Upstream's ``sandbox`` option as paths to replacement values."""
    spec = msg.get("sandbox", False)
    if spec in (False, "false", None):
        return None
    if spec in (True, "true"):
        return {path: "sandboxed" for path in DEFAULT_SANDBOX}
    if isinstance(spec, dict):
        return {k.replace("/", "."): v for k, v in spec.items()}
    if isinstance(spec, list):
        return {as_text(path).replace("/", "."): "sandboxed" for path in spec}
    return None


def _tag(heap: bytes, opts: Opts) -> bytes:
    """An HMAC of a snapshot under a key only this node has (from its wallet)."""
    wallet = opts.get("priv_wallet")
    secret = (
        wallet.key.private_numbers().d.to_bytes(512, "big")
        if isinstance(wallet, Wallet)
        else b"no wallet"
    )
    key_bytes = hashlib.sha256(_SNAPSHOT_TAG + secret).digest()
    return hmac.new(key_bytes, heap, hashlib.sha256).digest()


def _bytes(value: Any) -> bytes:
    return value.encode("utf-8") if isinstance(value, str) else bytes(value)


class HostLibrary:
    """``ao.resolve``, ``ao.set`` and ``ao.event`` for one Lua state.
    Upstream: dev_lua_lib.erl."""

    def __init__(self, base: Message) -> None:
        self.allowed = base.get("device-sandbox")
        self.vm: LuaVM | None = None

    def functions(self) -> dict[str, Any]:
        return {"resolve": self.resolve, "set": self.set, "event": self.event}

    def resolve(self, packed: Any) -> tuple[Any, Any]:
        """``ao.resolve(message)`` (a singleton request: its ``path`` parsed
        as a HyperPATH), ``ao.resolve(base, path)``, ``ao.resolve(m1, m2,
        ...)``: ``status, result``; errors are answered, not raised."""
        vm = self._vm()
        args = _args(packed)
        opts = dict(vm.opts)
        if self.allowed is not None:
            opts["registry"] = _limited(opts, self.allowed)
        try:
            if len(args) == 1 and isinstance(args[0], dict | str):
                status, result = ao.resolve_many(from_request(args[0]), opts)
            elif len(args) == 2 and isinstance(args[1], str | bytes):
                status, result = ao.resolve(_as(args[0]), {"path": as_text(args[1])}, opts)
            else:
                status, result = ao.resolve_many([_as(a) for a in args], opts)
        except DeviceNotAllowed:
            raise  # ends the whole call, as upstream's does
        except HyperbeamError as exc:
            status, result = "error", {"status": exc.status, "body": exc.reason}
        converted = to_lua(
            vm.runtime, strip_private(result) if isinstance(result, dict) else result
        )
        return as_text(status).encode(), converted

    def set(self, packed: Any) -> Any:
        """``ao.set(base, key, value)`` or ``ao.set(base, message)``."""
        vm = self._vm()
        args = _args(packed)
        base = args[0] if args and isinstance(args[0], dict) else {}
        updates = (
            args[1] if len(args) == 2 and isinstance(args[1], dict) else
            {as_text(args[1]): args[2]} if len(args) >= 3 else {}
        )  # fmt: skip
        result = ao.set_message(base, updates, ao.internal_opts(vm.opts))
        return to_lua(vm.runtime, strip_private(result))

    def event(self, packed: Any) -> None:
        if log.isEnabledFor(logging.DEBUG):  # (converting what hyper-aos logs costs)
            log.debug("lua event: %s", _args(packed))

    def _vm(self) -> LuaVM:
        if self.vm is None:  # pragma: no cover - set as the state is made
            raise HyperbeamError("a Lua host function outside its state", status=500)
        return self.vm


def _args(packed: Any) -> list[Any]:
    n = packed[b"n"] if packed is not None else 0
    return [from_lua(packed[i]) for i in range(1, int(n or 0) + 1)]


def _as(value: Any) -> Any:
    """``{"as", device, message}`` as upstream's ``{as, Dev, Msg}``."""
    if isinstance(value, list) and len(value) == 3 and value[0] == "as":
        return As(as_text(value[1]), value[2])
    return value


class DeviceNotAllowed(HyperbeamError):
    status = 403


class SandboxRegistry(DeviceRegistry):
    """The devices a ``device-sandbox`` allows; any other is refused."""

    def load(self, ref: Any, opts: Mapping[str, Any]) -> Any:
        if isinstance(ref, str | bytes) and as_text(ref).lower() not in self:
            raise DeviceNotAllowed(f"device {as_text(ref)} is not allowed by this device-sandbox")
        return super().load(ref, opts)


def _limited(opts: Opts, allowed: Any) -> DeviceRegistry:
    registry = opts.get("registry")
    names = [as_text(n) for n in (allowed if isinstance(allowed, list) else [allowed])]
    if not isinstance(registry, Mapping):
        raise HyperbeamError("no devices to sandbox", status=500)
    return SandboxRegistry([registry[n] for n in names if n in registry])

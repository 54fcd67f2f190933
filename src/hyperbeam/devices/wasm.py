"""``wasm-64@1.0``: run a WebAssembly image (memory64 or 32-bit) on messages.

``init``
    Loads the image named by ``<input-prefix>/image`` (or ``module``, as
    legacy AO processes name it): an ID read from the store or the gateway,
    a message whose ``body`` is the image, or the image itself; else the
    message's own ``body``. Then it starts an instance, which lives
    at ``priv/<prefix>/instance``, beside ``import-resolver``, ``write`` and
    ``read``; ``prefix`` is the stack's ``output-prefix``. The module's
    constructors (``_initialize`` or ``__wasm_call_ctors``) run once here.
``compute``
    On the first pass (or without passes) calls the function named by the
    request's ``body/function`` or ``function``, or the message's
    ``function``, with ``parameters`` found the same way, and sets
    ``results/<prefix>/type`` (``ok`` or ``error``) and
    ``results/<prefix>/output`` (the results, or the reason it failed).
    Without a function it does nothing.
``import``
    Answers a host import by resolving ``<prefix>/stdlib/<module>/<func>``
    on the state, with the state at ``<prefix>/stdlib/<module>/state``; the
    device there answers ``{state, results}``. Imports of ``env`` and
    ``wasi_snapshot_preview1`` that no device answers return zeros (as
    upstream's stub does); imports of other modules fail with a clear error.
``snapshot``
    ``{body, memory-encoding: nonzero-pages-64k, memory-size}``: the linear
    memory without its all-zero 64 KiB pages (AOS's 70 MB are about 2 MB),
    plus ``globals``, the exported mutable ones. ``normalize`` also restores
    upstream's snapshots, whose ``body`` is the whole memory.
``normalize``
    Without a live instance, starts one from ``snapshot/<device-key>/body``
    (the stack's ``Map`` snapshot) or ``snapshot/body``; the ``snapshot``
    key is removed either way.
``terminate``
    Drops the instance.

States that hold a live instance (the results of ``init``, ``compute`` and
``normalize``) are never stored in the resolver's cache: read back, they
would lack the instance. What is read from them (``results/output``, say)
is stored as usual.

Limits (node settings): ``wasm-max-memory`` bytes of memory per instance,
``wasm-time-limit`` seconds per call; past either the call fails with a
clear reason instead of hanging or exhausting the node.

Upstream: dev_wasm.erl (registered as ``wasm-64@1.0``; ``wasm64@1.0`` is an
alias here).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from hyperbeam import gate, metrics
from hyperbeam.ao import resolve as ao
from hyperbeam.ao.device import Device, Result, key
from hyperbeam.cache_control import volatile
from hyperbeam.codecs.structured import to_bytes
from hyperbeam.devices.message import set_keys
from hyperbeam.devices.stack import input_prefix, output_prefix
from hyperbeam.errors import HyperbeamError
from hyperbeam.message.ids import is_human_id
from hyperbeam.message.model import UNSET, Message, as_text
from hyperbeam.wasm import state as ws
from hyperbeam.wasm.engine import Runtime, WasmError
from hyperbeam.wasm.instance import (
    DEFAULT_MAX_MEMORY,
    DEFAULT_TIME_LIMIT,
    Value,
    WasmInstance,
)

log = logging.getLogger("hyperbeam.wasm")

Opts = Mapping[str, Any]
NOT_FOUND = ao.NOT_FOUND
#: Import modules whose unanswered functions return zeros (upstream's stub).
STUBBED_MODULES = frozenset({"env", "wasi_snapshot_preview1"})
_CONSTRUCTORS = ("_initialize", "__wasm_call_ctors")
_STACK_INIT = "emscripten_stack_init"

#: How snapshots store memory: its non-zero 64 KiB pages, each after its index.
PAGES_ENCODING = "nonzero-pages-64k"

_DEFAULT_RUNTIME: Runtime | None = None


def runtime_of(opts: Opts) -> Runtime:
    """The node's WASM runtime (a shared default outside a node)."""
    found = opts.get("wasm_runtime")
    if isinstance(found, Runtime):
        return found
    global _DEFAULT_RUNTIME
    if _DEFAULT_RUNTIME is None:
        _DEFAULT_RUNTIME = Runtime()
    return _DEFAULT_RUNTIME


def instance_of(msg: Any, opts: Opts) -> WasmInstance | None:
    """The live instance of a state message, if it has one.
    Upstream: dev_wasm:instance/3."""
    found = ws.private_get(msg, output_prefix(msg, opts), "instance")
    return found if isinstance(found, WasmInstance) else None


class WasmDevice(Device):
    name = "wasm-64@1.0"

    def info(self, msg: Any, opts: Mapping[str, Any]) -> dict[str, Any]:
        return {"excludes": ["instance"]}

    # -- init ----------------------------------------------------------------------

    @key("init")
    def init(self, msg1: Message, msg2: Any, opts: Opts) -> Result:
        """Upstream: init/3."""
        image = _image(msg1, as_text(input_prefix(msg1, opts)), opts)
        with gate.of(opts).turn("wasm-64@1.0 init"):
            instance = WasmInstance(
                runtime_of(opts),
                image,
                max_memory=int(opts.get("wasm_max_memory") or DEFAULT_MAX_MEMORY),
                time_limit=float(opts.get("wasm_time_limit") or DEFAULT_TIME_LIMIT),
            )
            prefix = output_prefix(msg1, opts)
            state = ws.private_set(msg1, prefix, _private_entries(instance, opts))
            if instance.has_function(_STACK_INIT):
                instance.call(_STACK_INIT)
            for name in _CONSTRUCTORS:
                if instance.has_function(name):
                    _, state = _call(instance, name, [], state, opts)
                    break
        return volatile(("ok", state))

    # -- compute -------------------------------------------------------------------

    @key("compute")
    def compute(self, msg1: Message, msg2: Any, opts: Opts) -> Result:
        """Upstream: compute/3."""
        status, state = self.normalize(msg1, msg2, opts)
        if status != "ok":
            return status, state
        passes = state.get("pass", NOT_FOUND)
        if passes not in (NOT_FOUND, 1, "1"):
            return "ok", state
        metrics.WASM_EXECUTIONS.inc()
        request = msg2 if isinstance(msg2, dict) else {}
        function = _first(request, state, "function", opts)
        if function == NOT_FOUND:
            return "ok", state
        params = _first(request, state, "parameters", opts)
        instance = instance_of(state, opts)
        if instance is None:  # pragma: no cover - normalize made one
            return "error", {"status": 500, "body": "no WASM instance"}
        prefix = output_prefix(state, opts)
        try:
            output, state = _call(instance, as_text(function), _params(params), state, opts)
            kind: str = "ok"
            value: Any = output
        except WasmError as exc:
            log.info("WASM call %s failed: %s", as_text(function), exc.reason)
            kind, value = "error", exc.reason
        results = state.get("results")
        results = dict(results) if isinstance(results, dict) else {}
        return volatile(
            (
                "ok",
                set_keys(
                    state,
                    {"results": ws.put(results, ws.parts(prefix), {"type": kind, "output": value})},
                ),
            )
        )

    # -- import --------------------------------------------------------------------

    @key("import")
    def import_(self, msg1: Message, msg2: Message, opts: Opts) -> Result:
        """Resolve a host import on the state. Upstream: import/3."""
        module = as_text(msg2.get("module", ""))
        func = as_text(msg2.get("func", ""))
        prefix = output_prefix(msg1, opts)
        lib_path = ws.parts(prefix, "stdlib", module)
        lib = ws.walk(msg1, lib_path)
        if isinstance(lib, dict):
            status, result = ao.resolve(
                {**lib, "state": msg1},
                {**msg2, "path": func},
                {**opts, "hashpath": "ignore", "cache_control": ["no-cache", "no-store"]},
            )
            if status == "ok":
                return "ok", result
            if not _is_not_found(result):
                return status, result
        if module in STUBBED_MODULES:
            return "ok", {"state": msg1, "results": [0]}
        return "error", {
            "status": 422,
            "body": f"the module imports {module}.{func}, and nothing answers it: "
            f"set {'/'.join(lib_path)} to a device that does",
        }

    # -- snapshots -----------------------------------------------------------------

    @key("snapshot")
    def snapshot(self, msg1: Message, msg2: Any, opts: Opts) -> Result:
        """Upstream: snapshot/3."""
        instance = instance_of(msg1, opts)
        if instance is None:
            return "error", {"status": 500, "body": "no WASM instance to snapshot"}
        snap: Message = {
            "body": instance.serialize_pages(),
            "memory-encoding": PAGES_ENCODING,
            "memory-size": instance.size(),
        }
        global_values = instance.globals()
        if global_values:
            snap["globals"] = global_values
        return "ok", snap

    @key("normalize")
    def normalize(self, msg1: Message, msg2: Any, opts: Opts) -> Result:
        """A live instance, from the snapshot when there is none.
        Upstream: normalize/3."""
        state = msg1
        if instance_of(msg1, opts) is None:
            snap = _snapshot_of(msg1)
            if snap is None:
                return "error", {
                    "status": 500,
                    "body": "no WASM instance or snapshot to resume from",
                }
            status, state = self.init(msg1, {}, opts)
            if status != "ok":
                return status, state
            instance = instance_of(state, opts)
            assert instance is not None
            memory = to_bytes(snap["body"])
            globals_raw = snap.get("globals")
            global_values = dict(globals_raw) if isinstance(globals_raw, dict) else None
            if as_text(snap.get("memory-encoding", "")) == PAGES_ENCODING:
                instance.deserialize_pages(memory, int(snap["memory-size"]))
                instance.deserialize(b"", global_values)
            else:  # upstream's: the whole memory
                instance.deserialize(memory, global_values)
        if "snapshot" in state:
            state = set_keys(state, {"snapshot": UNSET})
        return volatile(("ok", state))

    @key("terminate")
    def terminate(self, msg1: Message, msg2: Any, opts: Opts) -> Result:
        """Upstream: terminate/3."""
        instance = instance_of(msg1, opts)
        if instance is not None:
            instance.close()
        return "ok", ws.private_set(msg1, output_prefix(msg1, opts), {"instance": UNSET})


class Wasm64Alias(WasmDevice):
    """``wasm64@1.0``: the same device under the name the issue and docs use."""

    name = "wasm64@1.0"


# -- helpers -----------------------------------------------------------------------------


def _private_entries(instance: WasmInstance, opts: Opts) -> dict[str, Any]:
    def write(data: bytes) -> int:
        return instance.write_string(to_bytes(data))

    def read(pointer: Any) -> bytes:
        if isinstance(pointer, list | tuple):
            pointer = pointer[0]
        return instance.read_string(int(pointer))

    return {
        "instance": instance,
        "import-resolver": default_import_resolver,
        "write": write,
        "read": read,
    }


def default_import_resolver(
    state: Message, module: str, func: str, args: list[Value], sig: str, opts: Opts
) -> tuple[list[Value], Message]:
    """Answer an import through AO-Core: the state's ``import`` key.
    Upstream: dev_wasm:default_import_resolver/3."""
    request = {"path": "import", "module": module, "func": func, "args": args, "func-sig": sig}
    with_dev = {**state, "device": "wasm-64@1.0"}
    status, result = ao.resolve(
        with_dev, request, {**opts, "hashpath": "ignore", "cache_control": ["no-cache", "no-store"]}
    )
    if status != "ok" or not isinstance(result, dict):
        reason = result.get("body", result) if isinstance(result, dict) else result
        raise WasmError(f"the import {module}.{func} failed: {as_text(reason)}")
    results = result.get("results", [])
    next_state = result.get("state", state)
    if not isinstance(next_state, dict):
        next_state = state
    else:
        next_state = {**next_state, "device": state.get("device", next_state.get("device"))}
    values = results if isinstance(results, list) else [results]
    return [v for v in values if isinstance(v, int | float)], next_state


def _call(
    instance: WasmInstance, function: str, params: Sequence[Any], state: Message, opts: Opts
) -> tuple[list[Value], Message]:
    """Call ``function``, threading the state through the imports it makes.
    Upstream: hb_beamr:call/6 with the state's import resolver."""
    current = {"state": state}
    resolver = ws.private_get(state, output_prefix(state, opts), "import-resolver")
    if not callable(resolver):
        resolver = default_import_resolver

    def on_import(module: str, name: str, args: list[Value], sig: str) -> list[Value]:
        values: list[Value]
        values, current["state"] = resolver(current["state"], module, name, args, sig, opts)
        return values

    with gate.of(opts).turn(f"the WASM call {function}"):
        output = instance.call(function, list(params), on_import)
    return output, current["state"]


def _image(msg: Message, prefix: str, opts: Opts) -> bytes:
    """The image a message names. Upstream: the image lookup of init/3."""
    found = ws.lookup(msg, f"{prefix}/image" if prefix else "image", opts)
    if found == NOT_FOUND:  # legacy AO processes name it `Module`
        found = ws.walk(msg, ws.parts(prefix, "module"))
    if found == NOT_FOUND:
        body = ws.walk(msg, ["body"])
        if body != NOT_FOUND and isinstance(body, bytes | str) and body:
            return to_bytes(body)
        raise WasmError(f"No viable image found in {prefix or '.'}/image.", status=400)
    if isinstance(found, str) and is_human_id(found):
        loaded = _load(found, opts)
        if loaded is None:
            raise WasmError(
                f"the WASM image {found} is not in the store or the gateway", status=404
            )
        found = loaded
    if isinstance(found, dict):
        body = ws.walk(found, ["body"])
        if body == NOT_FOUND or not isinstance(body, bytes | str) or not body:
            raise WasmError("the image message has no body", status=400)
        return to_bytes(body)
    if isinstance(found, bytes | str):
        return to_bytes(found)
    raise WasmError(f"the image is a {type(found).__name__}, not a binary", status=400)


def _load(image_id: str, opts: Opts) -> Any:
    loader = opts.get("load_message")
    if callable(loader):
        return loader(image_id)
    return None


def _first(request: Message, state: Message, name: str, opts: Opts) -> Any:
    """``body/<name>``, then ``<name>`` of the request, then of the state."""
    for base, path in ((request, ["body", name]), (request, [name]), (state, [name])):
        found = ws.walk(base, path)
        if found != NOT_FOUND:
            return found
    return NOT_FOUND


def _params(raw: Any) -> list[Any]:
    if raw == NOT_FOUND or raw is None:
        return []
    if isinstance(raw, list | tuple):
        return list(raw)
    if isinstance(raw, dict):  # a numbered message
        return [raw[k] for k in sorted(raw, key=lambda k: int(k) if str(k).isdigit() else 0)]
    return [raw]


def _snapshot_of(msg: Message) -> Message | None:
    """``snapshot/<device-key>`` (a stack's Map snapshot) or ``snapshot``."""
    snap = msg.get("snapshot")
    if not isinstance(snap, dict):
        return None
    device_key = msg.get("device-key")
    if device_key is not None and isinstance(snap.get(str(device_key)), dict):
        snap = snap[str(device_key)]
    return snap if "body" in snap else None


def _is_not_found(result: Any) -> bool:
    if result == NOT_FOUND:
        return True
    return isinstance(result, dict) and result.get("status") == 404


def cache_dir_of(data_dir: Path) -> Path:
    """Where a node keeps compiled modules and translated images."""
    return data_dir / "wasm-cache"


__all__ = ["HyperbeamError", "Wasm64Alias", "WasmDevice", "cache_dir_of", "instance_of"]

"""The AO-Core resolver: ``resolve(msg1, msg2, opts) -> (status, msg3)``.

Resolving applies the request ``msg2`` to the base ``msg1`` through the device
that ``msg1`` names (``message@1.0`` when it names none). A multi-part path is
resolved part by part, each result becoming the next base. The stages follow
upstream's numbering:

     1  normalization, and subresolution of ``As``/``Subresolve`` parts
     2  cache lookup                        (store-backed: a later issue)
     3  validation: only messages have keys
     4  coalescing of identical in-flight resolutions (hb_persistent)
     5  device lookup: which handler serves the key
     6  execution of the handler
     8  subresolution of ``Subresolve`` results
     9  cryptographic linking: the result's hashpath
    11  waking the threads that waited in stage 4

Handlers report failures as ``("error", reason)``; a handler that raises is
re-raised (upstream's default ``error_strategy`` of ``throw``) unless
``opts["error_strategy"]`` says otherwise.

Upstream: hb_ao.erl.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from hyperbeam import budget, cache_control
from hyperbeam.ao import path as hb_path
from hyperbeam.ao.device import (
    Device,
    DeviceLike,
    Result,
    call_truncated,
    device_info,
    find_function,
    is_exported,
)
from hyperbeam.ao.path import As, Subresolve
from hyperbeam.ao.persistent import DEFAULT_COALESCER, Coalescer, group_key
from hyperbeam.ao.registry import DeviceRegistry
from hyperbeam.errors import (
    DeviceNotFound,
    ExecutionError,
    HyperbeamError,
    KeyNotFound,
    ResolutionError,
    WorkLimitExceeded,
)
from hyperbeam.message.id import message_id
from hyperbeam.message.ids import is_id
from hyperbeam.message.model import Message, normalize_key, normalize_keys
from hyperbeam.message.private import private_of, with_private
from hyperbeam.message.wire import derive

Opts = Mapping[str, Any]
NOT_FOUND = "not_found"

#: Options that apply to one call only and are dropped before handlers see them.
TEMP_OPTS = ("add_key", "force_message", "cache_control", "spawn_worker")

DEFAULT_DEVICE = "message@1.0"


# --- entry points -----------------------------------------------------------


def resolve(msg1: Any, msg2: Any, opts: Opts | None = None) -> Result:
    """Apply ``msg2`` to ``msg1``; a multi-part path is resolved part by part."""
    opts = opts if opts is not None else {}
    if not isinstance(msg2, dict):
        msg2 = {"path": msg2}
    parts = hb_path.request_parts(msg2)
    if parts is None:
        return resolve_many([msg1, msg2], opts)
    # (A signed request keeps its wire in each part: see message.wire.derive.)
    steps = (derive(msg2, {**msg2, "path": part}) for part in parts)
    return resolve_many([msg1, *steps], opts)


def resolve_many(msgs: Any, opts: Opts | None = None) -> Result:
    """Resolve a list of messages in turn, each result the base of the next."""
    opts = opts if opts is not None else {}
    if isinstance(msgs, dict):
        msgs = ordered_list(msgs, opts)
    if isinstance(msgs, As):
        return _subresolve({}, msgs.device, msgs.msg, opts)
    if len(msgs) == 1 and isinstance(msgs[0], str) and is_id(msgs[0]):
        try:
            return "ok", ensure_loaded(msgs[0], opts)
        except KeyNotFound:
            return "error", NOT_FOUND
    if len(msgs) == 1 and isinstance(msgs[0], Subresolve):
        return resolve_many(msgs[0].messages, opts)
    if len(msgs) == 1 and isinstance(msgs[0], As):
        # A lone `~device@1.0&k=v` part: the base message itself, with its device set.
        return _subresolve({}, msgs[0].device, msgs[0].msg, opts)
    if not msgs:
        raise ResolutionError("nothing to resolve: the list of messages is empty")
    current = msgs[0]
    for msg2 in msgs[1:]:
        status, result = _resolve_step(current, msg2, opts)
        if status != "ok":
            return status, result
        if (
            cache_control.is_volatile(result)
            and opts.get("cache_control") != cache_control.UNCACHED
        ):
            # What is read from a result that must not be stored is not stored either.
            opts = {**opts, "cache_control": cache_control.UNCACHED}
        current = result
    return "ok", current


# --- stage 1: normalization and subresolution --------------------------------


def _resolve_step(msg1: Any, msg2: Any, opts: Opts) -> Result:
    if isinstance(msg1, As):
        target = msg1.msg
        if isinstance(target, str) and is_id(target):
            target = {"path": target}
        if isinstance(target, dict) and is_id(target.get("path")):
            loaded = ensure_loaded(target["path"], opts)
            params = {k: v for k, v in target.items() if k != "path"}
            based = set_key(_merge(loaded, params), "device", msg1.device, opts)
            return _resolve_step(based, msg2, opts)
        status, sub = _subresolve({}, msg1.device, target, opts)
        return _resolve_step(sub, msg2, opts) if status == "ok" else (status, sub)
    if isinstance(msg2, dict) and isinstance(msg2.get("path"), As):
        inner = msg2["path"]
        inner_msg = inner.msg if isinstance(inner.msg, dict) else {"path": inner.msg}
        return _subresolve(msg1, inner.device, {**msg2, **inner_msg}, opts)
    if isinstance(msg1, Subresolve):
        status, base = resolve_many(msg1.messages, opts)
        return _resolve_step(base, msg2, opts) if status == "ok" else (status, base)
    if isinstance(msg2, Subresolve):
        inner_opts = {k: v for k, v in opts.items() if k != "force_message"}
        status, req = resolve_many(msg2.messages, inner_opts)
        return _resolve_step(msg1, req, opts) if status == "ok" else (status, req)
    if isinstance(msg1, list | tuple):
        return _resolve_step(normalize_keys(msg1), msg2, opts)
    if not isinstance(msg2, dict):
        return _resolve_step(msg1, {"path": msg2}, opts)
    msg1 = normalize_keys(msg1)
    msg2 = normalize_keys(msg2)
    # Stage 2: cache lookup (which also loads a base given by its ID).
    if opts.get("store") is not None and not _volatile_key(msg1, msg2, opts):
        status, found = cache_control.maybe_lookup(msg1, msg2, opts)
        if status != "continue":
            return status, found
        msg1 = found
    msg1 = ensure_loaded(msg1, opts)
    # Stage 3: validation. Only messages have keys.
    if not isinstance(msg1, dict):
        return "error", NOT_FOUND
    return _stage4_coalesce(msg1, msg2, opts)


def _volatile_key(msg1: Any, msg2: Message, opts: Opts) -> bool:
    """Whether ``msg2`` asks ``msg1``'s device for a key it never stores."""
    if not isinstance(msg1, dict):
        return False
    try:
        device = load_device(msg1, opts)
    except HyperbeamError:
        return False
    volatile: frozenset[str] = getattr(device, "VOLATILE", frozenset())
    return bool(volatile) and ("*" in volatile or hb_path.hd(msg2) in volatile)


def _subresolve(msg1: Any, device: str | None, req: Any, opts: Opts) -> Result:
    """Set ``device`` on ``msg1``, then apply ``req`` (or merge it in if it has no path)."""
    if isinstance(req, str | bytes):
        req = {"path": req}
    base = ensure_loaded(msg1, opts)
    if device is not None:
        base = set_key(base, "device", device, _user_opts(opts))
    if hb_path.request_parts(req) is None:
        rest = {k: v for k, v in req.items() if k != "path"}
        if rest:
            base = set_message(base, rest, {**opts, "force_message": False})
        return "ok", base
    return resolve(base, req, opts)


def ensure_loaded(msg: Any, opts: Opts) -> Any:
    """Load ``msg`` from the cache if it is an ID. Upstream: hb_ao:ensure_loaded/2."""
    if isinstance(msg, str) and is_id(msg):
        loader: Callable[[str, Opts], Any] | None = opts.get("load_message")
        found = loader(msg, opts) if loader is not None else None
        if found is None:
            raise KeyNotFound(f"necessary message not found: {msg}")
        return found
    return msg


# --- stage 4: coalescing ------------------------------------------------------


def _group(msg1: Message, msg2: Message, opts: Opts) -> Any:
    info = device_info(load_device(msg1, opts), msg1, opts)
    grouper = info.get("grouper")
    if grouper is not None:
        return call_truncated(grouper, [msg1, msg2, opts])
    if opts.get("await_inprogress", "named") is True:
        return (group_key(msg1), group_key(msg2))
    return None


def _stage4_coalesce(msg1: Message, msg2: Message, opts: Opts) -> Result:
    group = None if opts.get("await_inprogress") is False else _group(msg1, msg2, opts)
    if group is None:
        return _execute(msg1, msg2, opts)
    coalescer: Coalescer = opts.get("coalescer", DEFAULT_COALESCER)
    role, execution = coalescer.find_or_register(group)
    if role == "wait" and execution is not None:
        result: Result = coalescer.wait(execution)
        return result
    if role == "recursion" and not opts.get("allow_infinite", False):
        return "error", {"status": 508, "body": "Request creates infinite recursion."}
    if role == "recursion":
        return _execute(msg1, msg2, opts)
    try:
        result = _execute(msg1, msg2, opts)
    except BaseException as exc:
        coalescer.finish(group, None, exc)
        raise
    coalescer.finish(group, result)
    return result


# --- stages 5 to 9 ------------------------------------------------------------


def _user_opts(opts: Opts) -> dict[str, Any]:
    return {k: v for k, v in opts.items() if k not in TEMP_OPTS}


def _execute(msg1: Message, msg2: Message, opts: Opts) -> Result:
    user_opts = _user_opts(opts)
    # Stage 5: device lookup.
    key = hb_path.hd(msg2)
    try:
        add_key, func = message_to_fun(msg1, key, user_opts)
    except HyperbeamError as exc:
        if opts.get("error_strategy", "throw") == "throw":
            raise
        return "error", {"status": exc.status, "body": f"loading device: {exc.reason}"}
    # Stage 6: execution, charged to the request's work budget.
    args = [key, msg1, msg2, user_opts] if add_key else [msg1, msg2, user_opts]
    work = budget.of(opts)
    try:
        if work is None:
            status, result = _as_result(call_truncated(func, args), key)
        else:
            work.enter()
            try:
                status, result = _as_result(call_truncated(func, args), key)
            finally:
                work.leave()
    except WorkLimitExceeded:
        raise
    except HyperbeamError as exc:
        if opts.get("error_strategy", "throw") == "throw":
            raise
        return "error", {"status": exc.status, "body": f"device call: {exc.reason}"}
    except Exception as exc:
        if opts.get("error_strategy", "throw") == "throw":
            raise ExecutionError(
                f"device call for key {key!r} failed: {type(exc).__name__}: {exc}"
            ) from exc
        return "error", {"status": 500, "body": f"{type(exc).__name__}: {exc}"}
    if opts.get("force_message"):
        status, result = force_message(status, result)
    # Stage 8: subresolution of the result.
    if status == "ok" and isinstance(result, Subresolve):
        status, result = resolve_many(result.messages, opts)
    # Stage 9: cryptographic linking.
    result = _link(msg1, msg2, status, result, opts)
    # Stage 10: caching the result.
    if status == "ok" and opts.get("store") is not None and not _volatile_key(msg1, msg2, opts):
        cache_control.maybe_store(msg1, msg2, result, opts)
    return status, result


def _as_result(raw: Any, key: Any) -> Result:
    if isinstance(raw, tuple) and len(raw) == 2 and isinstance(raw[0], str):
        return raw[0], raw[1]
    raise ExecutionError(f"handler for key {key!r} returned {raw!r}, not (status, value)")


def _link(msg1: Message, msg2: Message, status: str, result: Any, opts: Opts) -> Any:
    if not isinstance(result, dict):
        return result
    priv = private_of(result)
    mode = opts.get("hashpath", "update")
    if status == "pass" and mode != "reset":
        # A stack's multipass asking for another pass: the message goes on
        # with the hashpath it has. **Deviation:** upstream resets it (as for
        # any abnormal status), so the next step hashes the whole state
        # again, about 0.7 ms per AOS message here.
        return result
    if status != "ok" or mode == "reset":
        if "hashpath" not in priv:
            return result
        return with_private(result, {k: v for k, v in priv.items() if k != "hashpath"})
    if mode == "ignore":
        return result
    return with_private(result, {**priv, "hashpath": hb_path.lazy_hashpath(msg1, msg2, _id_of)})


def _id_of(msg: Message) -> str:
    return message_id(msg)


def force_message(status: str, result: Any) -> Result:
    """Wrap a literal result in a message. Upstream: hb_ao:force_message/2."""
    if isinstance(result, list | tuple):
        return status, normalize_keys(result)
    if _is_status_response(status, result):
        return status, {**result, "ao-result": "body"}
    if isinstance(result, Subresolve | dict):
        return status, result
    return status, {"ao-result": "body", "body": result}


def _is_status_response(status: str, result: Any) -> bool:
    """Exactly ``{status, body}``, its ``status`` the same as the call's."""
    if not isinstance(result, dict) or set(result) != {"status", "body"}:
        return False
    return bool(result["status"] == status)


# --- device lookup --------------------------------------------------------------


def registry_of(opts: Opts) -> DeviceRegistry:
    registry = opts.get("registry")
    if registry is None:
        from hyperbeam.devices import default_registry

        return default_registry()
    found: DeviceRegistry = registry
    return found


def load_device(msg: Any, opts: Opts) -> DeviceLike:
    """The device a message names. Upstream: hb_ao:message_to_device/2."""
    ref = msg.get("device") if isinstance(msg, dict) else None
    if ref is None and isinstance(msg, dict):
        ref = next((v for k, v in msg.items() if normalize_key(k) == "device"), None)
    if ref is None:
        ref = DEFAULT_DEVICE
    return registry_of(opts).load(ref, opts)


def message_to_fun(msg: Message, key: Any, opts: Opts) -> tuple[bool, Callable[..., Any]]:
    """Find the handler for ``key``: ``(add_key, func)``. Upstream: message_to_fun/3."""
    dev = load_device(msg, opts)
    return _device_fun(dev, msg, key, opts)


def _device_fun(
    dev: DeviceLike, msg: Message, key: Any, opts: Opts
) -> tuple[bool, Callable[..., Any]]:
    info = device_info(dev, msg, opts)
    exported = is_exported(info, key) if isinstance(key, str | int) else True
    handler = info.get("handler")
    if handler is not None and exported:
        if callable(handler):
            return True, handler
        if key in [normalize_key(k) for k in handler.get("excludes", [])]:
            message_dev = registry_of(opts).load(DEFAULT_DEVICE, opts)
            return _device_fun(message_dev, msg, key, opts)
        return True, handler["func"]
    func = find_function(dev, key, info)
    if func is not None and exported:
        return False, func
    default = info.get("default")
    if default is not None and exported:
        if callable(default) and not isinstance(default, Device):
            return True, default
        return _device_fun(registry_of(opts).load(default, opts), msg, key, opts)
    fallback = registry_of(opts).load(DEFAULT_DEVICE, opts)
    if fallback is dev:
        raise KeyNotFound(f"the default device could not resolve key {key!r}")
    return _device_fun(fallback, msg, key, opts)


# --- helpers: get, set, remove, keys -------------------------------------------


def internal_opts(opts: Opts) -> dict[str, Any]:
    """Options for the resolver's calls to itself. Upstream: internal_opts/1."""
    return {
        **opts,
        "hashpath": "ignore",
        "cache_control": ["no-cache", "no-store"],
        "spawn_worker": False,
        "await_inprogress": False,
    }


def get(path: Any, msg: Any, opts: Opts | None = None, default: Any = NOT_FOUND) -> Any:
    """The value at ``path`` in ``msg``, resolved through its device, else ``default``."""
    opts = opts if opts is not None else {}
    if isinstance(msg, As):
        msg = set_message(msg.msg, {"device": msg.device}, internal_opts(opts))
    status, value = resolve(msg, {"path": path}, {**opts, "spawn_worker": False})
    return value if status == "ok" else default


def get_first(
    pairs: list[tuple[Any, Any]], opts: Opts | None = None, default: Any = NOT_FOUND
) -> Any:
    """The first value found among ``(base, path)`` pairs."""
    for base, path in pairs:
        value = get(path, base, opts)
        if value != NOT_FOUND:
            return value
    return default


def keys(msg: Any, opts: Opts | None = None, *, remove_core: bool = False) -> list[str]:
    """The keys of a message, as its device lists them. Upstream: hb_ao:keys/3."""
    listed = get("keys", msg, opts)
    if listed == NOT_FOUND:
        raise ResolutionError(f"cannot get the keys of {type(msg).__name__}")
    found = [normalize_key(k) for k in normalize_keys(listed).values()]
    if remove_core:
        return [k for k in found if k not in hb_path.AO_CORE_KEYS]
    return found


def set_message(msg1: Any, msg2: Message, opts: Opts | None = None) -> Any:
    """Set every key of ``msg2`` on ``msg1`` through its device. Upstream: hb_ao:set/3."""
    opts = opts if opts is not None else {}
    base = normalize_keys(msg1)
    updates = {k: v for k, v in normalize_keys(msg2).items() if k not in ("hashpath", "priv")}
    if _plain_updates(updates) and _sets_as_message(base, opts):
        # What the loop below does, key by key, through message@1.0.
        return _message_set(base, updates)
    for name in keys(updates, internal_opts(opts)):
        value = get(name, updates, internal_opts(opts))
        if value == NOT_FOUND:
            value = updates[name]
        base = set_key(base, name, value, internal_opts(opts))
    return base


def _plain_updates(updates: Message) -> bool:
    """Updates that ``message@1.0`` reads as they are: no device of their
    own, and plain (not path, not nested ``a/b``) keys."""
    return "device" not in updates and all(
        isinstance(k, str) and k != "path" and "/" not in k for k in updates
    )


def _sets_as_message(base: Any, opts: Opts) -> bool:
    """Whether ``set`` on ``base`` is ``message@1.0``'s own."""
    if not isinstance(base, dict):
        return False
    try:
        _, func = message_to_fun(base, "set", internal_opts(opts))
    except HyperbeamError:
        return False
    owner = getattr(func, "__self__", None)
    return getattr(owner, "name", None) == DEFAULT_DEVICE and func.__name__ == "set"


def _message_set(base: Message, updates: Message) -> Message:
    """``message@1.0``'s set (which keeps the private map, hashpath
    included, as the resolver's internal calls do)."""
    from hyperbeam.devices.message import set_keys

    return set_keys(base, updates)


def set_key(msg: Any, key: Any, value: Any, opts: Opts | None = None) -> Any:
    """Set one (possibly deep, ``a/b``) key. Upstream: hb_ao:set/4."""
    opts = opts if opts is not None else {}
    return deep_set(msg, hb_path.term_to_path_parts(key) or [], value, opts)


def deep_set(msg: Any, path: list[Any], value: Any, opts: Opts) -> Any:
    """Set ``value`` at ``path``, creating messages on the way. Upstream: deep_set/4."""
    if not path:
        if isinstance(msg, dict | list):
            return _device_set(msg, "/", value, opts)
        return value
    head, rest = path[0], path[1:]
    if not rest:
        return _device_set(msg, head, value, opts)
    status, sub = resolve(msg, head, opts)
    if status == "ok":
        return _device_set(msg, head, deep_set(sub, rest, value, opts), opts, mode="explicit")
    return {**msg, head: deep_set({}, rest, value, opts)}


def _device_set(msg: Any, key: Any, value: Any, opts: Opts, mode: str = "deep") -> Any:
    plain = isinstance(key, str) and key != "path" and "/" not in key
    if mode == "deep" and plain and _sets_as_message(msg, opts):
        # What the resolution below does, without one (internal calls keep
        # the hashpath and never touch the cache).
        return _message_set(msg, {normalize_key(key): value})
    if key == "path":
        req: Message = {"path": "set_path", "value": value}
    elif key == "/" and isinstance(value, dict):
        req = {**value, "path": "set"}
    else:
        req = {"path": "set", key: value}
    if mode == "explicit":
        req["set-mode"] = mode
    status, result = resolve(msg, req, internal_opts(opts))
    if status != "ok":
        raise ResolutionError(f"could not set {key!r}: {result!r}")
    return result


def remove(msg: Any, key: Any, opts: Opts | None = None) -> Any:
    """``msg`` without ``key``, through its device. Upstream: hb_ao:remove/3."""
    opts = opts if opts is not None else {}
    status, result = resolve(msg, {"path": "remove", "item": key}, internal_opts(opts))
    if status != "ok":
        raise ResolutionError(f"could not remove {key!r}: {result!r}")
    return result


def ordered_list(msg: Message, opts: Opts) -> list[Any]:
    """A message numbered ``1..n`` as a list. Upstream: message_to_ordered_list/2."""
    numbered = {k: v for k, v in msg.items() if k not in ("priv",)}
    if not numbered:
        return []
    try:
        indices = sorted(int(k) for k in numbered)
    except ValueError as exc:
        raise ResolutionError(f"message is not an ordered list: {exc}") from exc
    if indices != list(range(indices[0], indices[0] + len(indices))):
        raise ResolutionError(f"message keys are not contiguous: {indices}")
    return [numbered[str(i)] for i in indices]


def _merge(base: Any, extra: Message) -> Any:
    return {**base, **extra} if isinstance(base, dict) else base


__all__ = [
    "NOT_FOUND",
    "DeviceNotFound",
    "deep_set",
    "ensure_loaded",
    "force_message",
    "get",
    "get_first",
    "internal_opts",
    "keys",
    "load_device",
    "message_to_fun",
    "ordered_list",
    "remove",
    "resolve",
    "resolve_many",
    "set_key",
    "set_message",
]
